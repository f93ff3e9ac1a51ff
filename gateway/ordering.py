"""One resident's turns one at a time across gateway replicas, in the order their messages came.

Within a process, ``gateway.conversation`` queues a resident's turns behind an ``asyncio.Lock``
(first come, first served). With several replicas (REDIS_URL set) a turn also holds the
resident's lock in Redis, ``ResidentLocks``: redis-py's ``Lock`` (SET NX with a token and an
expiry; released and extended by Lua scripts, so each step is atomic, unlike Rasa 3.6's lock
store). The lock runs out ``lease`` seconds after its last renewal, so a replica that dies
frees it; a live one renews it while its turn lasts.

Which waiting replica gets the lock next is a race, not arrival order. So the turn that gets
it first handles the resident's earlier unanswered messages, oldest first (``unanswered``), and
a later turn finds its own message answered already.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Sequence
from datetime import datetime, timedelta

import redis.asyncio
from redis.exceptions import LockError
from sqlalchemy import select
from sqlalchemy.orm import Session, joinedload

from gateway.db import session_scope
from gateway.models import Message, aware, utcnow

log = logging.getLogger("hubguide.ordering")

LEASE_SECONDS = 20.0  # a dead replica's turn holds the resident's next one back this long at most
WAIT_SECONDS = 60.0  # then the turn gives up; its message stays stored, and the retry finds it
POLL_SECONDS = 0.05  # how often a waiting turn asks Redis (redis-py's lock polls)
# An earlier message the bot did not answer holds the later ones back until its retry, so that
# the answers keep their order; but not for longer than this after it came: a message the bot
# fails on every time must not silence the resident for good.
HOLD = timedelta(minutes=10)
KEY = "hubguide:turn:{}"  # the resident's lock in Redis, by resident id


class Busy(Exception):
    """Another replica held the resident's turn for longer than ``wait``."""


class ResidentLocks:
    """The resident's lock shared by every replica, in Redis; without a Redis URL (one process,
    ``make run``) there is nothing to share and ``held`` only yields."""

    def __init__(self, redis_url: str = "", lease: float = LEASE_SECONDS, wait: float = WAIT_SECONDS) -> None:
        self.redis = redis.asyncio.Redis.from_url(redis_url) if redis_url else None
        self.lease, self.wait = lease, wait

    @contextlib.asynccontextmanager
    async def held(self, resident_id: int) -> AsyncIterator[None]:
        if self.redis is None:
            yield
            return
        lock = self.redis.lock(
            KEY.format(resident_id), timeout=self.lease, sleep=POLL_SECONDS, blocking_timeout=self.wait
        )
        if not await lock.acquire():
            raise Busy(f"resident {resident_id}'s turn was held elsewhere for over {self.wait:.0f} s")
        keeper = asyncio.create_task(self._keep(lock, resident_id))
        try:
            yield
        finally:
            keeper.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await keeper
            try:
                await lock.release()
            except LockError:  # it ran out (the event loop stalled past the lease): say so
                log.error("resident %s's turn outlived its lock; another replica may have run one", resident_id)

    async def _keep(self, lock, resident_id: int) -> None:
        """Renew the lock while the turn runs (a Rasa call may take longer than the lease)."""
        while True:
            await asyncio.sleep(self.lease / 3)
            try:
                await lock.reacquire()
            except LockError:
                log.error("resident %s's lock could not be renewed", resident_id)
                return

    async def close(self) -> None:
        if self.redis is not None:
            await self.redis.aclose()


def unanswered(session: Session, resident_id: int, up_to: int, statuses: Sequence[str]) -> Sequence[Message]:
    """On the database thread: the resident's inbound messages up to ``up_to`` still in one of
    ``statuses`` (the bot has yet to answer them), oldest first, their resident loaded with
    them: the turn of the oldest then finds it in the session, with no query of its own."""
    return session.scalars(
        select(Message)
        .options(joinedload(Message.resident))
        .where(
            Message.resident_id == resident_id,
            Message.direction == "in",
            Message.status.in_(statuses),
            Message.id <= up_to,
        )
        .order_by(Message.id)
    ).all()


def holds_back(message_id: int, created_at: datetime, statuses: Sequence[str]) -> bool:
    """On the database thread, after its turn: whether the earlier message ``message_id`` is
    still unanswered (the bot failed) and recent enough to hold the later ones back."""
    if utcnow() - aware(created_at) > HOLD:
        return False
    with session_scope() as session:
        return session.scalar(select(Message.status).where(Message.id == message_id)) in statuses
