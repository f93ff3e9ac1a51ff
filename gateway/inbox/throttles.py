"""Limits on sign-in attempts kept outside the database: per address, per
(address, email), and for emails with no account, which are held back as an
account would be, so the answers tell no one which emails exist. The
account's own count and hold are in the database (gateway.inbox.accounts).

The storage is ``limits``' MemoryStorage by default, per gateway process; with
REDIS_URL (``Throttles.shared``) every replica counts in Redis, and one sign-in
check per email at a time holds across replicas too (a Redis lock)."""

from __future__ import annotations

import asyncio
import hashlib
import time
from collections import Counter
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

import redis.asyncio
from limits import RateLimitItemPerSecond
from limits.storage import MemoryStorage, Storage
from limits.strategies import MovingWindowRateLimiter

from gateway import shared_state

MAX_FAILURES = 5  # failed sign-ins from one address to one account before that pair is held back
LOCK_SECONDS = 15 * 60  # ... for this long; the account itself, from anywhere, only ACCOUNT_DELAY_SECONDS
ACCOUNT_DELAY_SECONDS = 60  # after MAX_FAILURES in a row from anywhere, one try a minute for the account
IP_FAILURES = 40  # sign-in attempts (successes too: counted before the check) from one address within IP_WINDOW
IP_WINDOW = 15 * 60
GATE_SECONDS = 30  # a replica that dies during a check holds its email's gate this long at most


class Throttle:
    """Attempts per key (an address, an address and an email...) within a moving window:
    each counts for ``window`` seconds (``limits``' moving window)."""

    def __init__(self, name: str, limit: int, window: int, storage: Storage | None = None) -> None:
        self.item = RateLimitItemPerSecond(limit, window, namespace=name)
        self.limiter = MovingWindowRateLimiter(storage if storage is not None else MemoryStorage())

    def retry_after(self, key: str) -> float:
        """Seconds until the key may try again; 0 when it may now."""
        stats = self.limiter.get_window_stats(self.item, key)
        return 0.0 if stats.remaining > 0 else stats.reset_time - time.time()

    def claim(self, key: str) -> bool:
        """Count an attempt, if the key has one left (tested and counted in one step, also in Redis)."""
        return self.limiter.hit(self.item, key)

    def fail(self, key: str) -> None:
        self.limiter.hit(self.item, key)

    def clear(self, key: str) -> None:
        self.limiter.clear(self.item, key)


class Gates:
    """One sign-in check per email at a time in this process: the others wait their turn
    (hand-written: asyncio has no keyed lock; a lock lives while someone holds or waits for it)."""

    def __init__(self) -> None:
        self._locks: dict[str, asyncio.Lock] = {}
        self._users: Counter[str] = Counter()

    @asynccontextmanager
    async def one_at_a_time(self, key: str) -> AsyncIterator[None]:
        lock = self._locks.setdefault(key, asyncio.Lock())
        self._users[key] += 1
        try:
            async with lock:
                yield
        finally:
            self._users[key] -= 1
            if not self._users[key]:
                del self._users[key], self._locks[key]


class RedisGates(Gates):
    """One sign-in check per email at a time on every replica: redis-py's lock, which
    expires after GATE_SECONDS should its holder die."""

    def __init__(self, redis_url: str) -> None:
        self.redis = redis.asyncio.Redis.from_url(redis_url)

    @asynccontextmanager
    async def one_at_a_time(self, key: str) -> AsyncIterator[None]:
        name = "inbox-sign-in-gate:" + hashlib.sha256(key.encode()).hexdigest()  # no email in Redis' keys
        async with self.redis.lock(name, timeout=GATE_SECONDS, sleep=0.05, blocking_timeout=GATE_SECONDS):
            yield


@dataclass
class Throttles:
    """The sign-in limits kept outside the database (gateway.inbox.accounts.sign_in uses them)."""

    by_address: Throttle
    by_unknown_email: Throttle  # an unknown email held back as an account would be...
    by_address_and_email: Throttle
    unknown_email_pace: Throttle  # ... one try a minute after MAX_FAILURES
    wrong_codes: Throttle  # the second sign-in step's wrong codes per account (gateway.inbox.second_factor)
    gates: Gates

    @classmethod
    def default(cls, storage: Storage | None = None) -> Throttles:
        """The limits in one storage (a new MemoryStorage unless one is given)."""
        storage = storage if storage is not None else MemoryStorage()
        return cls(
            Throttle("inbox-sign-in-address", IP_FAILURES, IP_WINDOW, storage),
            Throttle("inbox-sign-in-email", MAX_FAILURES, LOCK_SECONDS, storage),
            Throttle("inbox-sign-in-address-email", MAX_FAILURES, LOCK_SECONDS, storage),
            Throttle("inbox-sign-in-pace", 1, ACCOUNT_DELAY_SECONDS, storage),
            # Every wrong code counts until one succeeds: MAX_FAILURES within LOCK_SECONDS.
            Throttle("inbox-second-step", MAX_FAILURES, LOCK_SECONDS, storage),
            Gates(),
        )

    @classmethod
    def shared(cls, redis_url: str) -> Throttles:
        """Counted in Redis by every replica when ``redis_url`` (REDIS_URL) is set, else ``default()``.
        Synchronous Redis calls, on the event loop: ``accounts.sign_in`` calls these limits without
        ``await``, and a sign-in's few round trips to a nearby Redis take well under a millisecond."""
        if not redis_url:
            return cls.default()
        throttles = cls.default(shared_state.rate_limits_sync(redis_url))
        throttles.gates = RedisGates(redis_url)
        return throttles


def minutes(seconds: float) -> int:
    return max(1, int(-(-seconds // 60)))
