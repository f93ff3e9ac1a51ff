"""The outbox: every message to a resident is stored first, then delivered
here, in order per resident, with retries on transient failures.

Several gateway replicas may run an outbox on one database. Each message is claimed before it
is sent (``claimed_by``, ``claim_until``, set by one UPDATE: on PostgreSQL its rows are picked
with ``FOR UPDATE SKIP LOCKED``, and SQLite writes one transaction at a time), so two replicas
never send the same message; a claim that outlives ``CLAIM_SECONDS`` is a dead replica's, and
another replica takes the message over. A claim column rather than the row lock alone: that
would have to be held, in an open transaction, for the whole send, and SQLite has no such lock.
Only a recipient's oldest queued message is ever claimed, so their next one waits until the
first is recorded, whichever replica sends it. A replica that dies after the provider accepted
a message but before recording it leaves a claim that runs out, and the message goes again:
delivery is at least once (Twilio has no idempotency key for sending).
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
import traceback
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol

from sqlalchemy import or_, select, update

from common.redact import redact
from gateway import db
from gateway.db import session_scope
from gateway.models import Coordinator, Message, Resident, utcnow
from gateway.store import mask

log = logging.getLogger("hubguide.outbox")

MAX_ATTEMPTS = 6
BACKOFF_SECONDS = (2, 5, 15, 60, 300)
# A send that has not answered by then counts as a transient failure, so that a round (claim,
# sends, record) ends well within its claim; a claim still there after CLAIM_SECONDS is a dead
# replica's.
SEND_SECONDS = 10.0
CLAIM_SECONDS = 30.0
BATCH = 100  # recipients one round claims at most


@dataclass(frozen=True)
class Delivery:
    message_id: int
    channel: str
    address: str
    body: str
    extra: dict | None


@dataclass(frozen=True)
class Outcome:
    """What one delivery attempt gave."""

    delivery: Delivery
    status: str
    provider_id: str | None = None
    error: str | None = None
    opted_out: bool = False


class TransientError(Exception):
    """Worth trying again later (network, rate limit, provider error)."""


class PermanentError(Exception):
    """Will never succeed; ``opted_out`` marks the resident opted out."""

    def __init__(self, reason: str, opted_out: bool = False) -> None:
        super().__init__(reason)
        self.opted_out = opted_out


class NotConnected(Exception):
    """The resident has no open connection; deliver when they come back."""


class Sender(Protocol):
    async def send(self, delivery: Delivery) -> tuple[str, str | None]:
        """Deliver; returns (status, provider id)."""


class Outbox:
    def __init__(self, senders: dict[str, Sender], name: str = "") -> None:
        self.senders = senders
        # Who holds a claim: this outbox, among every replica's (the host and process, for a reader).
        self.name = name or f"{os.getpid()}-{uuid.uuid4().hex[:8]}@{socket.gethostname()}"[:64]
        self._wake = asyncio.Event()

    def wake(self) -> None:
        self._wake.set()

    async def run(self) -> None:
        while True:
            try:
                next_due = await self.deliver_due()
            except Exception:  # keep delivering whatever one batch did
                log.exception("outbox batch failed")
                next_due = 5.0
            # asyncio.wait, not wait_for: Python 3.10's wait_for drops a cancellation that arrives
            # just as the wake-up does (CPython gh-86296, fixed in 3.12), and the outbox would not stop.
            woken = asyncio.ensure_future(self._wake.wait())
            try:
                await asyncio.wait({woken}, timeout=next_due)
            finally:
                woken.cancel()
            self._wake.clear()

    async def deliver_due(self) -> float:
        """Deliver the oldest queued message of each recipient, so a recipient's
        messages arrive in order; returns the seconds until the next retry."""
        batch, wait = await db.run(self._due)
        if batch:
            outcomes = await asyncio.gather(*(self._deliver(d) for d in batch))
            await db.run(self._record, outcomes)  # one transaction for the batch
            return 0.0  # the same recipients may have a next message queued
        return wait

    def _due(self) -> tuple[list[Delivery], float]:
        """In a worker thread: what is due now, claimed for this outbox, and the wait until the
        next retry (or until another replica's claim runs out)."""
        now = utcnow()
        batch: list[Delivery] = []
        waits = [30.0]
        with session_scope() as session:
            # Columns, not ORM objects: this runs after every batch.
            queued = session.execute(
                select(
                    Message.id,
                    Message.channel,
                    Message.body,
                    Message.extra,
                    Message.sender,
                    Message.next_attempt_at,
                    Message.claim_until,
                    Message.resident_id,
                    Message.coordinator_id,
                    Resident.address,
                    Resident.opted_out,
                    Coordinator.phone,
                )
                .outerjoin(Resident, Message.resident_id == Resident.id)
                .outerjoin(Coordinator, Message.coordinator_id == Coordinator.id)
                .where(Message.direction == "out", Message.status == "queued")
                .order_by(Message.id)
            ).all()
            considered: set[tuple[str, int]] = set()
            suppressed: list[int] = []
            for row in queued:
                # To a resident (a coordinator's reply included), or a coordinator's alert.
                recipient = ("resident", row.resident_id) if row.resident_id else ("coordinator", row.coordinator_id)
                if recipient in considered:
                    continue  # a recipient's later message waits for the earlier one
                if row.resident_id and row.opted_out and row.sender != "system":
                    suppressed.append(row.id)
                    continue
                considered.add(recipient)
                # Being sent by a replica (this one, or one that died: then until its claim runs out),
                # or waiting for its retry.
                later = [
                    at for at in (_aware(row.claim_until, now), _aware(row.next_attempt_at, now)) if at and at > now
                ]
                if later:
                    waits.append((max(later) - now).total_seconds())
                    continue
                if len(batch) < BATCH:
                    address = row.address if row.resident_id else row.phone
                    batch.append(Delivery(row.id, row.channel, address, row.body, row.extra))
            if suppressed:
                session.execute(
                    update(Message)
                    .where(Message.id.in_(suppressed), Message.status == "queued")
                    .values(status="suppressed", error="resident opted out")
                )
            claimed = self._claim(session, [d.message_id for d in batch], now)
        return [d for d in batch if d.message_id in claimed], min(waits)

    def _claim(self, session, ids: list[int], now) -> set[int]:
        """The messages of ``ids`` this outbox could claim. Another replica may have read the same
        rows: on PostgreSQL ``FOR UPDATE SKIP LOCKED`` passes over a row another replica is claiming
        and checks the condition again on one it claimed meanwhile; SQLite writes one transaction
        at a time. Either way each message goes to one outbox."""
        if not ids:
            return set()
        claimable = (
            select(Message.id)
            .where(
                Message.id.in_(ids),
                Message.status == "queued",
                or_(Message.claim_until.is_(None), Message.claim_until <= now),
                or_(Message.next_attempt_at.is_(None), Message.next_attempt_at <= now),
            )
            .with_for_update(
                skip_locked=True
            )  # PostgreSQL: rows another replica is claiming are skipped, not waited for
        )
        won = session.scalars(
            update(Message)
            .where(Message.id.in_(claimable))
            .values(claimed_by=self.name, claim_until=now + timedelta(seconds=CLAIM_SECONDS))
            .returning(Message.id)
            .execution_options(synchronize_session=False)
        )
        return set(won)

    async def _deliver(self, delivery: Delivery) -> Outcome:
        """One attempt. A provider's error text can quote the number ("The 'To'
        number +4670... is not valid"): it is masked before it is stored or logged."""
        sender = self.senders[delivery.channel]
        try:
            status, provider_id = await asyncio.wait_for(sender.send(delivery), SEND_SECONDS)
            return Outcome(delivery, status, provider_id)
        except asyncio.TimeoutError:  # it may have gone all the same: the retry makes it at least once
            return Outcome(delivery, "queued", error=f"no answer within {SEND_SECONDS:.0f} s")
        except NotConnected:
            return Outcome(delivery, "awaiting_connection")  # the channel queues it again on reconnect
        except TransientError as exc:
            return Outcome(delivery, "queued", error=redact(str(exc))[:500])
        except PermanentError as exc:
            return Outcome(delivery, "failed", error=redact(str(exc))[:500], opted_out=exc.opted_out)
        except Exception as exc:  # an unexpected sender bug must not lose the message
            error = redact(f"{type(exc).__name__}: {exc}")[:500]
            log.error("sender crashed: %s\n%s", error, "".join(traceback.format_tb(exc.__traceback__)))
            return Outcome(delivery, "queued", error=error)

    def _record(self, outcomes: list[Outcome]) -> None:
        with session_scope() as session:
            for outcome in outcomes:
                delivery, status, error = outcome.delivery, outcome.status, outcome.error
                message = session.get(Message, delivery.message_id)
                if message is None:  # erased while it was sent (gateway.erasure): nothing to record
                    continue
                if message.claimed_by != self.name:  # the claim ran out, another replica took it over
                    log.warning("message %s: claim lost before its outcome (%s) was recorded", message.id, status)
                    continue
                message.claimed_by = message.claim_until = None
                message.attempts += 1
                message.status, message.provider_id, message.error = status, outcome.provider_id, error
                if status == "awaiting_connection":
                    message.attempts -= 1
                elif status == "queued":  # a transient failure: back off, then give up
                    if message.attempts >= MAX_ATTEMPTS:
                        message.status = "failed"
                    else:
                        delay = BACKOFF_SECONDS[min(message.attempts, len(BACKOFF_SECONDS)) - 1]
                        message.next_attempt_at = utcnow() + timedelta(seconds=delay)
                else:
                    message.sent_at = utcnow()
                if outcome.opted_out and message.resident is not None:
                    message.resident.opted_out, message.resident.opted_out_at = True, utcnow()
                log.info(
                    "message %s to %s: %s%s",
                    message.id,
                    mask(delivery.channel, delivery.address),
                    message.status,
                    f" ({error})" if error else "",
                )


def _aware(at: datetime | None, now: datetime) -> datetime | None:
    """A stored time with its zone (SQLite drops it; everything stored is UTC)."""
    return at if at is None or at.tzinfo else at.replace(tzinfo=now.tzinfo)
