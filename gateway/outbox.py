"""The outbox: every message to a resident is stored first, then delivered
here, in order per resident, with retries on transient failures."""

from __future__ import annotations

import asyncio
import logging
import traceback
from dataclasses import dataclass
from datetime import timedelta
from typing import Protocol

from sqlalchemy import select, update

from common.redact import redact
from gateway import db
from gateway.db import session_scope
from gateway.models import Coordinator, Message, Resident, utcnow
from gateway.store import mask

log = logging.getLogger("hubguide.outbox")

MAX_ATTEMPTS = 6
BACKOFF_SECONDS = (2, 5, 15, 60, 300)


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
    def __init__(self, senders: dict[str, Sender]) -> None:
        self.senders = senders
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
        """In a worker thread: what is due now, and the wait until the next retry."""
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
                due = row.next_attempt_at
                if due is not None:
                    due = due if due.tzinfo else due.replace(tzinfo=now.tzinfo)  # SQLite drops it
                    if due > now:
                        waits.append((due - now).total_seconds())
                        continue
                address = row.address if row.resident_id else row.phone
                batch.append(Delivery(row.id, row.channel, address, row.body, row.extra))
            if suppressed:
                session.execute(
                    update(Message)
                    .where(Message.id.in_(suppressed))
                    .values(status="suppressed", error="resident opted out")
                )
        return batch, min(waits)

    async def _deliver(self, delivery: Delivery) -> Outcome:
        """One attempt. A provider's error text can quote the number ("The 'To'
        number +4670... is not valid"): it is masked before it is stored or logged."""
        sender = self.senders[delivery.channel]
        try:
            status, provider_id = await sender.send(delivery)
            return Outcome(delivery, status, provider_id)
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

    @staticmethod
    def _record(outcomes: list[Outcome]) -> None:
        with session_scope() as session:
            for outcome in outcomes:
                delivery, status, error = outcome.delivery, outcome.status, outcome.error
                message = session.get(Message, delivery.message_id)
                if message is None:  # erased while it was sent (gateway.erasure): nothing to record
                    continue
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
