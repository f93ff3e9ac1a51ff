"""How the SMS load bench measures: percentiles, CPU per process, the thread
that sees the bot's answers in the gateway's database, this process's own lag."""

from __future__ import annotations

import asyncio
import math
import sqlite3
import threading
import time
from collections import Counter
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

from bench.common import cpu_seconds
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


def _epoch(value: str | None) -> float | None:
    if not value:
        return None
    return datetime.fromisoformat(value).replace(tzinfo=timezone.utc).timestamp()


class ReplyWatcher:
    """One thread watches the gateway's SQLite database read-only: every
    ``interval`` it asks ``PRAGMA data_version`` (changes only when another
    connection committed; no table is read), and only then reads the outbound
    SMS rows above a moving id floor that are sent (or failed for good). The
    bot's answer resolves the future of the phone number waiting for it;
    system messages (the "bot unavailable" apology) are recorded per number.
    It polls because the writer is another process: SQLite has no
    notification across processes."""

    QUERY = (
        "SELECT m.id, r.address, m.status, m.sender, m.sent_at FROM messages m "
        "JOIN residents r ON r.id = m.resident_id "
        "WHERE m.id > ? AND m.direction = 'out' AND m.channel = 'sms' ORDER BY m.id"
    )

    def __init__(self, db_path: Path, interval: float) -> None:
        self.db_path, self.interval = db_path, interval
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
        conn = sqlite3.connect(f"file:{self.db_path}?mode=ro", uri=True, timeout=5, check_same_thread=False)
        floor, handed, version, last_query = 0, set(), None, 0.0
        try:
            while not self._stop.wait(self.interval):
                self.checks += 1
                try:
                    current = conn.execute("PRAGMA data_version").fetchone()[0]
                    if current == version and time.monotonic() - last_query < 0.5:
                        continue
                    version, last_query = current, time.monotonic()
                    rows = conn.execute(self.QUERY, (floor,)).fetchall()
                except sqlite3.OperationalError:  # busy for a moment: next time
                    version = None
                    continue
                seen = time.time()
                self.queries += 1
                ready, pending = [], []
                for row_id, address, status, sender, sent_at in rows:
                    if status in ("queued", "awaiting_connection"):
                        pending.append(row_id)
                    elif row_id not in handed:
                        handed.add(row_id)
                        ready.append((address, Reply(row_id, status, sender, _epoch(sent_at), seen)))
                if rows:
                    floor = (min(pending) - 1) if pending else rows[-1][0]
                    handed = {i for i in handed if i > floor}
                if ready:
                    self.loop.call_soon_threadsafe(self._hand_over, ready)
        finally:
            self.poll_cpu = time.thread_time()
            conn.close()

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
