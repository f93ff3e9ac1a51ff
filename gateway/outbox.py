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
from datetime import timedelta
from typing import Protocol

from sqlalchemy import bindparam, or_, select, update

from common.redact import redact
from gateway import db
from gateway.db import session_scope
from gateway.models import Coordinator, Message, Resident, aware, utcnow
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
# How soon an outbox looks again at a recipient's next message while another outbox sends their
# earlier one (``_due``): about a send's time.
ELSEWHERE_SECONDS = 0.5


# The outbox's statements, built once (they run for every reply): building one and its cache key
# took about as much CPU as running it, 0.2-0.3 ms; SQLAlchemy keeps the cache key of a statement
# built once. Columns, not ORM objects: QUEUED runs after every batch.
QUEUED = (
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
)
_NOW = bindparam("now", type_=Message.claim_until.type)
CLAIM = (  # the messages of ``ids`` still free to claim, claimed for ``owner`` until ``until`` (``_claim``)
    update(Message)
    .where(
        Message.id.in_(
            select(Message.id)
            .where(
                Message.id.in_(bindparam("ids", expanding=True)),
                Message.status == "queued",
                or_(Message.claim_until.is_(None), Message.claim_until <= _NOW),
                or_(Message.next_attempt_at.is_(None), Message.next_attempt_at <= _NOW),
            )
            # PostgreSQL: rows another replica is claiming are skipped, not waited for
            .with_for_update(skip_locked=True)
        )
    )
    .values(
        claimed_by=bindparam("owner", type_=Message.claimed_by.type),
        claim_until=bindparam("until", type_=Message.claim_until.type),
    )
    .returning(Message.id)
    .execution_options(synchronize_session=False)
)
RECORDED = (  # a message sent (or failed for good), recorded only while ``owner``'s claim holds (``_record``)
    update(Message)
    .where(Message.id == bindparam("message"), Message.claimed_by == bindparam("owner"))
    .values(
        claimed_by=None,
        claim_until=None,
        attempts=Message.attempts + 1,
        status=bindparam("outcome", type_=Message.status.type),
        provider_id=bindparam("provider", type_=Message.provider_id.type),
        error=bindparam("reason", type_=Message.error.type),
        sent_at=bindparam("at", type_=Message.sent_at.type),
    )
    .returning(Message.id)
    .execution_options(synchronize_session=False)
)


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
        messages arrive in order; returns the seconds until the next retry (0: look again now)."""
        batch, wait, more = await db.run(self._due)
        if batch:
            outcomes = await asyncio.gather(*(self._deliver(d) for d in batch))
            # One transaction for the batch; written again on a new connection when the server closed
            # the one it got: those messages are sent, and a lost record would send them again.
            await db.run(db.again_if_closed, self._record, outcomes)
            # Look again at once only when there may be something due: a recipient's next message,
            # what a full batch left, or a failed attempt's retry (its time is set by _record). A
            # scan that found nothing was one transaction per reply, for nothing; a message queued
            # meanwhile wakes the outbox (``wake``) anyway.
            if more or any(o.status == "queued" for o in outcomes):
                return 0.0
        return wait

    def _due(self) -> tuple[list[Delivery], float, bool]:
        """In a worker thread: what is due now, claimed for this outbox; the wait until the next
        retry (or until another replica's claim runs out, or ELSEWHERE_SECONDS while it sends a
        recipient's message with another behind it); and whether more will be due as soon as this
        batch is sent (a recipient's next message, or more than a batch due)."""
        now = utcnow()
        batch: list[Delivery] = []
        batched: set[tuple[str, int]] = set()  # recipients with a message in the batch
        elsewhere: set[tuple[str, int]] = set()  # recipients whose oldest another outbox is sending
        more = False
        waits = [30.0]
        with session_scope() as session:
            queued = session.execute(QUEUED).all()
            considered: set[tuple[str, int]] = set()
            suppressed: list[int] = []
            for row in queued:
                # To a resident (a coordinator's reply included), or a coordinator's alert.
                recipient = ("resident", row.resident_id) if row.resident_id else ("coordinator", row.coordinator_id)
                if recipient in considered:
                    more = more or recipient in batched  # due once the batch's one is sent
                    if recipient in elsewhere:
                        # The outbox sending the earlier one may not have seen this one (queued since
                        # its scan), and looks again after a batch only for what it saw: so this one
                        # does, soon, rather than when that claim would run out.
                        waits.append(ELSEWHERE_SECONDS)
                    continue  # a recipient's later message waits for the earlier one
                if row.resident_id and row.opted_out and row.sender != "system":
                    suppressed.append(row.id)
                    continue
                considered.add(recipient)
                # Being sent by a replica (this one, or one that died: then until its claim runs out),
                # or waiting for its retry.
                claim = aware(row.claim_until)
                later = [at for at in (claim, aware(row.next_attempt_at)) if at and at > now]
                if later:
                    waits.append((max(later) - now).total_seconds())
                    if claim and claim > now:
                        elsewhere.add(recipient)
                    continue
                if len(batch) < BATCH:
                    address = row.address if row.resident_id else row.phone
                    batch.append(Delivery(row.id, row.channel, address, row.body, row.extra))
                    batched.add(recipient)
                else:
                    more = True
            if suppressed:
                session.execute(
                    update(Message)
                    .where(Message.id.in_(suppressed), Message.status == "queued")
                    .values(status="suppressed", error="resident opted out")
                )
            claimed = self._claim(session, [d.message_id for d in batch], now)
        return [d for d in batch if d.message_id in claimed], min(waits), more

    def _claim(self, session, ids: list[int], now) -> set[int]:
        """The messages of ``ids`` this outbox could claim. Another replica may have read the same
        rows: on PostgreSQL ``FOR UPDATE SKIP LOCKED`` passes over a row another replica is claiming
        and checks the condition again on one it claimed meanwhile; SQLite writes one transaction
        at a time. Either way each message goes to one outbox."""
        if not ids:
            return set()
        until = now + timedelta(seconds=CLAIM_SECONDS)
        return set(session.scalars(CLAIM, {"ids": ids, "now": now, "owner": self.name, "until": until}))

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
                shown = (delivery.message_id, mask(delivery.channel, delivery.address))
                if status not in ("queued", "awaiting_connection") and not outcome.opted_out:
                    # Done with (most outcomes): one statement instead of loading the message first.
                    # It finds nothing when the message was erased or the claim lost: then as below.
                    values = {"outcome": status, "provider": outcome.provider_id, "reason": error, "at": utcnow()}
                    if session.execute(RECORDED, {"message": shown[0], "owner": self.name, **values}).first():
                        log.info("message %s to %s: %s%s", *shown, status, f" ({error})" if error else "")
                        continue
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
                log.info("message %s to %s: %s%s", *shown, message.status, f" ({error})" if error else "")
