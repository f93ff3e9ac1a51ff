"""How the SMS load bench measures: percentiles, CPU per process, the thread
that sees the bot's answers in the gateway's database, this process's own lag."""

from __future__ import annotations

import asyncio
import math
import threading
import time
from collections import Counter, deque
from dataclasses import dataclass
from datetime import datetime, timezone

import aiohttp
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import NullPool, create_engine, text
from sqlalchemy.exc import OperationalError

from bench.common import cpu_seconds
from common.languages import LANGUAGES
from gateway import privacy
from gateway.settings import Settings
from stack.processes import Stack


def pct(values: list[float], p: float) -> float | None:
    """Nearest-rank percentile: every figure reported is a measured value.
    Written here because ``statistics.quantiles`` interpolates and numpy is
    not in this environment."""
    if not values:
        return None
    ordered = sorted(values)
    return ordered[max(0, math.ceil(p / 100 * len(ordered)) - 1)]


def rounded(value: float | None, digits: int = 1) -> float | None:
    return None if value is None else round(value, digits)


def dist(values_s: list[float]) -> dict:
    """Milliseconds: n, p50, p95, p99, max."""
    ms = [v * 1000 for v in values_s]
    return {
        "n": len(ms),
        "p50_ms": rounded(pct(ms, 50)),
        "p95_ms": rounded(pct(ms, 95)),
        "p99_ms": rounded(pct(ms, 99)),
        "max_ms": rounded(max(ms) if ms else None),
    }


class CpuMeter:
    """CPU seconds of each process of the stack (with its children) and of this one."""

    def __init__(self, stack: Stack) -> None:
        self.pids = {s.name: s.process.pid for s in stack.services}

    def snapshot(self) -> dict[str, float]:
        snap = {}
        for name, pid in self.pids.items():
            user, system = cpu_seconds(pid)
            snap[name], snap[f"{name} (system part)"] = user + system, system
        snap["benchmark (this process)"] = time.process_time()
        return snap

    @staticmethod
    def delta(before: dict, after: dict) -> dict[str, float]:
        return {name: round(after[name] - before[name], 3) for name in before}


@dataclass
class Reply:
    row_id: int
    status: str
    sender: str
    sent_at: float | None  # epoch seconds, from the outbound row
    seen_at: float  # epoch seconds, when the poll read it


def _epoch(value: str | datetime | None) -> float | None:
    """Epoch seconds of a stored UTC time (SQLite gives text without a zone, PostgreSQL a datetime)."""
    if not value:
        return None
    when = value if isinstance(value, datetime) else datetime.fromisoformat(value)
    return (when if when.tzinfo else when.replace(tzinfo=timezone.utc)).timestamp()


def notices(settings: Settings) -> frozenset[str]:
    """The privacy notice in every language: an SMS of its own before a resident's first long
    answer (gateway.privacy.with_notice), sent as the bot, but not the answer."""
    return frozenset(privacy.notice(code, settings) for code in LANGUAGES)


def read_only(url: str) -> str:
    """A SQLAlchemy URL for reading ``url``'s database without writing it (SQLite: ``mode=ro``)."""
    if url.startswith("sqlite:///"):
        return f"sqlite:///file:{url.removeprefix('sqlite:///')}?mode=ro&uri=true"
    return url


class ReplyWatcher:
    """One thread watches the gateway's database: on SQLite, every ``interval``
    it asks ``PRAGMA data_version`` (changes only when another connection
    committed; no table is read), and only then reads the outbound SMS rows
    above a moving id floor that are sent (or failed for good); on PostgreSQL
    it reads them every ``interval``. The bot's answer resolves the future of
    the phone number waiting for it; system messages (the "bot unavailable"
    apology) are recorded per number, and the privacy notice sent ahead of an
    answer (``skip``) is passed over. It polls because the writer is another
    process: SQLite has no notification across processes, and a PostgreSQL
    LISTEN would need a trigger in the database under test."""

    QUERY = text(
        "SELECT m.id, r.address, m.status, m.sender, m.sent_at, m.body FROM messages m "
        "JOIN residents r ON r.id = m.resident_id "
        "WHERE m.id > :floor AND m.direction = 'out' AND m.channel = 'sms' ORDER BY m.id"
    )
    # PostgreSQL takes ids from a sequence at insert and transactions commit in any order, so a
    # row below the floor can appear later: once a second the rows are read again from the floor
    # of LATE_SECONDS ago (a turn's transaction commits well within it).
    LATE_SECONDS = 5.0

    def __init__(self, url: str, interval: float, skip: frozenset[str] = frozenset()) -> None:
        self.url, self.interval, self.skip = url, interval, skip
        self.loop: asyncio.AbstractEventLoop | None = None
        self._waiting: dict[str, asyncio.Future] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="reply-watcher", daemon=True)
        self.checks = self.queries = 0
        self.poll_cpu = 0.0
        self.lags: list[float] = []  # seen_at - sent_at
        self.system: dict[str, int] = Counter()  # number -> system messages (apologies)
        self.unexpected: list[tuple[str, int, str]] = []  # bot answers nobody waited for

    def start(self) -> None:
        self.loop = asyncio.get_running_loop()
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(5)

    def expect(self, address: str) -> asyncio.Future:
        future = self.loop.create_future()
        self._waiting[address] = future
        return future

    def forget(self, address: str) -> None:
        self._waiting.pop(address, None)

    def _run(self) -> None:
        engine = create_engine(read_only(self.url), poolclass=NullPool)
        sqlite = engine.dialect.name == "sqlite"
        floor, handed, version, last_query = 0, set(), None, 0.0
        floors: deque[tuple[float, int]] = deque([(0.0, 0)])  # (when, floor), the last LATE_SECONDS
        last_sweep = time.monotonic()
        try:
            with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
                while not self._stop.wait(self.interval):
                    self.checks += 1
                    now = time.monotonic()
                    while len(floors) > 1 and floors[1][0] < now - self.LATE_SECONDS:
                        floors.popleft()
                    low = floor
                    if not sqlite and now - last_sweep >= 1.0:
                        low, last_sweep = floors[0][1], now
                    try:
                        if sqlite:
                            current = conn.exec_driver_sql("PRAGMA data_version").scalar()
                            if current == version and now - last_query < 0.5:
                                continue
                            version = current
                        last_query = now
                        rows = conn.execute(self.QUERY, {"floor": low}).all()
                    except OperationalError:  # busy for a moment: next time
                        version = None
                        continue
                    self.queries += 1
                    floor = self._seen(rows, floor, handed, floors[0][1])
                    floors.append((now, floor))
        finally:
            self.poll_cpu = time.thread_time()
            engine.dispose()

    def _seen(self, rows, floor: int, handed: set[int], keep_above: int) -> int:
        """Hand the answers over; the new floor."""
        seen = time.time()
        ready, pending = [], []
        for row_id, address, status, sender, sent_at, body in rows:
            if status in ("queued", "awaiting_connection"):
                pending.append(row_id)
            elif body in self.skip:
                handed.add(row_id)
            elif row_id not in handed:
                handed.add(row_id)
                ready.append((address, Reply(row_id, status, sender, _epoch(sent_at), seen)))
        if rows:
            floor = max(floor, (min(pending) - 1) if pending else rows[-1][0])
            handed.difference_update([i for i in handed if i <= min(floor, keep_above)])
        if ready:
            self.loop.call_soon_threadsafe(self._hand_over, ready)
        return floor

    def _hand_over(self, ready: list[tuple[str, Reply]]) -> None:
        for address, reply in ready:
            if reply.sent_at is not None:
                self.lags.append(reply.seen_at - reply.sent_at)
            if reply.sender != "bot":
                self.system[address] += 1
                continue
            future = self._waiting.pop(address, None)
            if future is None or future.done():
                self.unexpected.append((address, reply.row_id, reply.sender))
            else:
                future.set_result(reply)


class ServerAcks:
    """The gateway's own count of acknowledgement times, ``hubguide_sms_ack_seconds``
    (gateway/metrics.py: from the request reaching the app to its last byte handed to the
    server), read from each replica's /metrics (prometheus-client's parser) before and after a
    phase: what the gateway spends, without this process's own time receiving 50 answers at once.
    A histogram gives bucket bounds, not exact values: "p99 ≤ 100 ms" is read off its buckets."""

    NAME = "hubguide_sms_ack_seconds"

    def __init__(self, urls: list[str]) -> None:
        self.urls = [u.rstrip("/") + "/metrics" for u in urls]

    async def snapshot(self) -> Counter:
        """Cumulative count per bucket bound (seconds), summed over the replicas."""
        counts: Counter = Counter()
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=30)) as client:
            for url in self.urls:
                async with client.get(url) as response:
                    text_ = await response.text()
                for family in text_string_to_metric_families(text_):
                    for sample in family.samples:
                        if sample.name == self.NAME + "_bucket":
                            counts[float(sample.labels["le"])] += sample.value
        return counts

    @staticmethod
    def dist(delta: Counter) -> dict:
        """n, the bucket bound under which 50% / 99% fall (ms), and the share within 100 ms."""
        if not delta:
            return {"n": 0, "p50_le_ms": None, "p99_le_ms": None, "within_100_ms": None}
        bounds = sorted(delta)
        total = delta[math.inf]

        def under(p: float) -> float | None:
            bound = next((b for b in bounds if delta[b] >= p / 100 * total), math.inf)
            return None if bound == math.inf else round(bound * 1000, 1)

        return {
            "n": int(total),
            "p50_le_ms": under(50) if total else None,
            "p99_le_ms": under(99) if total else None,
            "within_100_ms": round(delta[0.1] / total, 4) if total else None,
        }


class LoopLag:
    """How late this process's event loop wakes up: the measurement's own noise."""

    def __init__(self, tick: float = 0.05) -> None:
        self.tick, self.lags, self._task = tick, [], None

    async def _run(self) -> None:
        while True:
            started = time.perf_counter()
            await asyncio.sleep(self.tick)
            self.lags.append(time.perf_counter() - started - self.tick)

    def start(self) -> None:
        self._task = asyncio.create_task(self._run())

    async def stop(self) -> None:
        self._task.cancel()
        try:
            await self._task
        except asyncio.CancelledError:
            pass
