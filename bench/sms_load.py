"""SMS load benchmark (``python -m bench.sms_load``): signed Twilio webhooks
through the gateway next to the same turns posted straight to Rasa's REST
channel, in one run, against the same trained model.

Phases, all on 127.0.0.1, each resident a distinct phone number:

1. **Main**: N messages over C concurrent conversations. A conversation sends
   its next message only once the previous reply has arrived (a resident
   waits for the answer). The same texts, in the same order per conversation
   and with the same concurrency, also go straight to Rasa's REST channel
   (the baseline). The run is cut into rounds; in each round every
   conversation sends its next chunk over both paths, one path after the
   other, and the path that goes first alternates from round to round, so
   machine noise falls on both.
2. **Duplicates**: every webhook delivered twice with the same MessageSid, as
   Twilio retries: half of them right after the first delivery's
   acknowledgement, half overlapping it (both requests in flight at once).
3. **Slow bot**: bursts of concurrent webhooks from new residents while the
   bot is busy (bursts offered at about 80% of the Rasa throughput measured
   in phase 1, without waiting for replies), then one burst while the Rasa
   server is stalled (SIGSTOP for a few seconds, then SIGCONT).

How it is measured:

- acknowledgement latency: from just before the webhook POST to its HTTP
  response (``time.perf_counter`` in this process); for the REST baseline
  the response only comes after the whole turn, so there it equals the reply
  latency. Conversations use one ``httpx.AsyncClient`` (keep-alive) each, on
  both paths, its connections opened before the timing starts; the bursts
  use a minimal HTTP/1.1 client on connections opened before the burst,
  because httpx's own cost per request is a large part of a 50-request burst
  here; control bursts to endpoints that store nothing
  (``/health``, an unsigned webhook) show what the client, uvicorn and the
  machine account for, with both clients;
- reply latency: from just before the webhook POST (wall clock) to the
  ``sent_at`` the gateway's outbox writes on the bot's outbound row (same
  machine, same clock); for the baseline, the REST response time. A "bot
  unavailable" apology (Rasa slower than the gateway's timeout) is counted
  apart; the conversation waits for the bot's answer after the retry;
- replies are seen by one thread that reads the gateway's SQLite database
  read-only: every ``--poll-ms`` it asks ``PRAGMA data_version`` (no table
  read), and only when another connection committed it runs one indexed
  query for outbound rows above a moving id floor, whatever the number of
  conversations, and hands the rows to the waiting conversations. The poll
  only decides when a conversation sends its next message; the latency comes
  from ``sent_at``. The lag from ``sent_at`` to the poll seeing it, the
  thread's CPU and this process's event-loop lag are reported as the
  measurement overhead;
- throughput: messages answered divided by the phase's wall time (first POST
  to the last ``sent_at`` or last REST response), summed over the rounds;
- lost or duplicated: counted from the database at the end: every MessageSid
  sent is stored exactly once, and every stored inbound message has exactly
  one answer from the bot (per resident as many bot answers as messages, each
  before the resident's next message); also, from Rasa's tracker store, that
  Rasa processed each message once (a gateway timeout followed by its retry
  can make Rasa run the same turn twice);
- CPU per message of every process, from /proc, per phase.

Afterwards, with the stack stopped, the gateway's own code (``gateway.channels.sms``,
``gateway.conversation``, ``gateway.outbox``) runs in this process against a scratch
SQLite database with Rasa stubbed, counting SQL statements and commits and
timing each step, and storing bursts of 50 webhooks through the intake
thread, to show where the gateway's time goes.

Writes reports/sms-load-<time>.json and .md and prints the markdown.
``--quick`` runs 100 messages and shorter phases.
"""
from __future__ import annotations

import argparse
import asyncio
import hashlib
import json
import math
import os
import shutil
import signal
import sqlite3
import statistics
import subprocess
import threading
import time
import uuid
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from urllib.parse import urlencode

import httpx
from twilio.request_validator import RequestValidator

from bench.common import bench_stack, process_tree, use_database, write_report
from bench.slice import rss_mb
from gateway import db
from gateway.intake import Inbound, Intake
from gateway.settings import ROOT, Settings
from stack import model
from stack.processes import Stack

LANGS = ("sv", "en", "ar", "fa", "so", "ti")
# Realistic resident texts, taken from data/nlu/<lang>/ (job_search, learn_swedish,
# start_business, greet, thank, job_search); none starts the handoff form.
TEXTS = {
    "sv": ["jag söker jobb", "jag vill lära mig svenska", "jag vill starta företag",
           "hej, jag har en fråga", "tack så mycket", "hur hittar jag jobb"],
    "en": ["I am looking for a job", "I want to learn Swedish", "I want to start my own business",
           "hello, I have a question", "thanks a lot", "how do I find a job"],
    "ar": ["ابحث عن عمل", "أريد أتعلم السويدية", "بدي افتح مطعم", "مرحبا عندي سؤال",
           "شكراً جزيلاً", "كيف ألاقي شغل"],
    "fa": ["دنبال کار هستم", "میخوام سوئدی یاد بگیرم", "میخوام یک کافه باز کنم", "سلام وقت بخیر",
           "خیلی ممنون", "چطور کار پیدا کنم"],
    "so": ["waxaan raadinayaa shaqo", "waxaan rabaa inaan barto iswiidhish",
           "waxaan rabaa inaan ganacsi furo", "subax wanaagsan", "waad mahadsantahay",
           "sideen shaqo ku heli karaa"],
    "ti": ["ስራሕ ይደሊ ኣለኹ", "ሽወደንኛ ክመሃር እደሊ", "ንግዲ ክጅምር እደሊ", "ሰላም ሕቶ ኣለኒ",
           "ብዙሕ የቐንየለይ", "ከመይ ጌረ ስራሕ ክረክብ"],
}
TO_NUMBER = "+46700000000"
# Seconds a conversation waits for the bot's answer: the gateway's Rasa timeout (10 s),
# its retry of unanswered messages (every 10 s) and the turn itself fit in it.
REPLY_TIMEOUT = 60.0
GIVE_UP_AFTER = 2  # consecutive timeouts before a conversation stops sending
STALL_SECONDS = 3.0  # how long the Rasa server is stopped in the stalled-bot burst
GOALS = {"ack_p99_ms": 100.0, "reply_p95_ratio": 1.2, "throughput_ratio": 0.90}


# ---------------------------------------------------------------- statistics

def pct(values: list[float], p: float) -> float | None:
    """Nearest-rank percentile."""
    if not values:
        return None
    ordered = sorted(values)
    return ordered[max(0, math.ceil(p / 100 * len(ordered)) - 1)]


def dist(values_s: list[float]) -> dict:
    """Milliseconds: n, p50, p95, p99, max."""
    ms = [v * 1000 for v in values_s]
    return {"n": len(ms), "p50_ms": _r(pct(ms, 50)), "p95_ms": _r(pct(ms, 95)),
            "p99_ms": _r(pct(ms, 99)), "max_ms": _r(max(ms) if ms else None)}


def _r(value: float | None, digits: int = 1) -> float | None:
    return None if value is None else round(value, digits)


# ---------------------------------------------------------- process CPU time

def cpu_seconds(pid: int) -> tuple[float, float]:
    """User and system CPU of a process and its descendants."""
    ticks = os.sysconf("SC_CLK_TCK")
    user = system = 0
    for current in process_tree(pid):
        try:
            fields = Path(f"/proc/{current}/stat").read_text().rsplit(")", 1)[1].split()
            user, system = user + int(fields[11]), system + int(fields[12])  # utime, stime
        except (OSError, IndexError, ValueError):
            pass
    return user / ticks, system / ticks


class CpuMeter:
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


# ------------------------------------------------------------ reply watcher

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
    system messages (the "bot unavailable" apology) are recorded per number."""

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
        conn = sqlite3.connect(f"file:{self.db_path}?mode=ro", uri=True, timeout=5,
                               check_same_thread=False)
        floor, handed, version, last_query = 0, set(), None, 0.0
        try:
            while not self._stop.is_set():
                time.sleep(self.interval)
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


# ------------------------------------------------------------------ drivers

@dataclass
class Sample:
    path: str  # "sms" | "rest"
    ok: bool
    ack: float | None = None  # seconds
    ack2: float | None = None  # the duplicate delivery's acknowledgement
    reply: float | None = None  # seconds, until the bot's answer was sent
    apologies: int = 0  # "bot unavailable" messages the resident got before the answer
    done_at: float | None = None  # epoch seconds the reply was sent / received
    status: int | None = None
    error: str | None = None


@dataclass
class Phase:
    name: str
    path: str
    samples: list[Sample] = field(default_factory=list)
    seconds: float = 0.0
    cpu: dict[str, float] = field(default_factory=dict)

    @property
    def answered(self) -> int:
        return sum(s.ok for s in self.samples)


@dataclass
class Conversation:
    number: str  # the phone number (SMS path)
    sender: str  # the REST sender id (baseline path)
    language: str
    texts: list[str]


class RawHttp:
    """A minimal HTTP/1.1 client on one keep-alive connection, one request at
    a time: for the bursts, where httpx's own cost per request (a few ms of
    CPU here, and its shared pool slows down with many concurrent requests,
    encode/httpx#3215) would be most of what is measured. The control rows of
    the report show both clients against the same endpoints."""

    def __init__(self, host: str, port: int) -> None:
        self.host, self.port = host, port
        self.reader = self.writer = None

    async def connect(self) -> RawHttp:
        self.reader, self.writer = await asyncio.open_connection(self.host, self.port)
        return self

    async def request(self, method: str, path: str, body: bytes = b"",
                      headers: dict | None = None) -> int:
        lines = [f"{method} {path} HTTP/1.1", f"Host: {self.host}:{self.port}",
                 f"Content-Length: {len(body)}", *(f"{k}: {v}" for k, v in (headers or {}).items())]
        self.writer.write(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body)
        await self.writer.drain()
        head = await self.reader.readuntil(b"\r\n\r\n")
        length = 0
        for line in head.split(b"\r\n")[1:]:
            if line.lower().startswith(b"content-length:"):
                length = int(line.split(b":", 1)[1])
        await self.reader.readexactly(length)
        return int(head.split(b" ", 2)[1])

    async def close(self) -> None:
        self.writer.close()
        try:
            await self.writer.wait_closed()
        except OSError:
            pass


def http_client() -> httpx.AsyncClient:
    """One keep-alive client per conversation: httpx's pool shared by many
    concurrent requests costs more than it measures (encode/httpx#3215).
    Plain HTTP to 127.0.0.1, so no TLS: a client that loads the CA bundle
    costs ~40 ms of this process's event loop, and 20 conversations starting
    together made the last one's first acknowledgement wait ~20 of those."""
    return httpx.AsyncClient(timeout=90, verify=False)


class Bench:
    def __init__(self, stack: Stack, watcher: ReplyWatcher, cpu: CpuMeter) -> None:
        self.stack, self.watcher, self.cpu = stack, watcher, cpu
        self.webhook_url = stack.gateway_url + "/sms/webhook"
        self.signed_url = stack.settings.public_base_url.rstrip("/") + "/sms/webhook"
        self.validator = RequestValidator(stack.settings.twilio_auth_token.get_secret_value())
        self.sent_sids: dict[str, list[str]] = defaultdict(list)  # phase group -> sids
        self.numbers: dict[str, dict[str, str]] = defaultdict(dict)  # group -> number -> language
        self.rest_sent: Counter = Counter()  # REST sender -> messages posted in the main phase
        self.client_retries: list[str] = []  # deliveries sent again after no response

    def signed(self, number: str, body: str, sid: str) -> tuple[bytes, dict]:
        params = {"From": number, "To": TO_NUMBER, "Body": body, "MessageSid": sid,
                  "NumMedia": "0", "SmsSid": sid, "AccountSid": "AC" + "0" * 32}
        headers = {"X-Twilio-Signature": self.validator.compute_signature(self.signed_url, params),
                   "Content-Type": "application/x-www-form-urlencoded"}
        return urlencode(params).encode(), headers

    def remember(self, group: str, number: str, language: str, sid: str) -> None:
        self.sent_sids[group].append(sid)
        self.numbers[group][number] = language

    async def post_webhook(self, client, body: bytes, headers: dict) -> tuple[float, int | None, str | None]:
        """The acknowledgement time, from the first attempt. A delivery that got
        no HTTP response at all (a keep-alive connection the server closed as
        the request went out) is sent again at once with the same MessageSid,
        as Twilio retries; those retries are counted."""
        started = time.perf_counter()
        for attempt in (1, 2):
            try:
                if isinstance(client, RawHttp):
                    status = await client.request("POST", "/sms/webhook", body, headers)
                else:
                    status = (await client.post(self.webhook_url, content=body, headers=headers)).status_code
                return time.perf_counter() - started, status, None
            except (httpx.TransportError, OSError, asyncio.IncompleteReadError) as exc:
                if attempt == 2 or isinstance(client, RawHttp):
                    return time.perf_counter() - started, None, type(exc).__name__
                self.client_retries.append(type(exc).__name__)

    async def sms_message(self, client: httpx.AsyncClient, group: str, number: str, language: str,
                          text: str, duplicate: str | None = None) -> Sample:
        """One signed webhook (twice with ``duplicate`` = "after_ack" or
        "overlapping"), then wait until the bot's answer is sent."""
        sid = "SM" + uuid.uuid4().hex
        body, headers = self.signed(number, text, sid)
        self.remember(group, number, language, sid)
        future = self.watcher.expect(number)
        posted = time.time()
        ack2 = status2 = error2 = None
        if duplicate == "overlapping":
            first = asyncio.ensure_future(self.post_webhook(client, body, headers))
            await asyncio.sleep(0)  # the first request goes out first
            (ack, status, error), (ack2, status2, error2) = await asyncio.gather(
                first, self.post_webhook(client, body, headers))
        else:
            ack, status, error = await self.post_webhook(client, body, headers)
            if duplicate == "after_ack":
                ack2, status2, error2 = await self.post_webhook(client, body, headers)
        if duplicate and (status2 != 200 or error2):
            error = error or f"duplicate delivery: {status2} {error2}"
        sample = Sample("sms", False, ack=ack, ack2=ack2, status=status, error=error)
        if status != 200:
            self.watcher.forget(number)
            return sample
        return await self._reply(sample, future, posted, number)

    async def _reply(self, sample: Sample, future, posted: float, number: str) -> Sample:
        try:
            reply: Reply = await asyncio.wait_for(future, REPLY_TIMEOUT)
        except asyncio.TimeoutError:
            self.watcher.forget(number)
            sample.error = "no answer within timeout"
            return sample
        finally:
            sample.apologies = self.watcher.system.pop(number, 0)
        if reply.sent_at is None:
            sample.error = f"reply {reply.status}"
            return sample
        sample.ok, sample.reply, sample.done_at = True, reply.sent_at - posted, reply.sent_at
        return sample

    async def rest_message(self, client: httpx.AsyncClient, sender: str, language: str,
                           text: str) -> Sample:
        payload = {"sender": sender, "message": text,
                   "metadata": {"language": language, "channel": "sms"}}
        started = time.perf_counter()
        try:
            response = await client.post(self.stack.rasa_url + "/webhooks/rest/webhook", json=payload)
        except httpx.HTTPError as exc:
            return Sample("rest", False, error=type(exc).__name__)
        elapsed = time.perf_counter() - started
        ok = response.status_code == 200 and any(item.get("text") for item in response.json())
        return Sample("rest", ok, ack=elapsed, reply=elapsed, done_at=time.time(),
                      status=response.status_code,
                      error=None if ok else f"{response.status_code} {response.text[:120]!r} to {text!r}")

    async def conversation(self, path: str, group: str, conv: Conversation,
                           duplicate: bool = False) -> list[Sample]:
        samples, misses = [], 0
        async with http_client() as client:
            # Open the keep-alive connections before timing (two: a duplicate
            # delivery overlaps the first), as the bursts do: Twilio does not open
            # twenty connections from one process in the same millisecond, and
            # this process doing so measured its own connection setup.
            base = self.stack.gateway_url if path == "sms" else self.stack.rasa_url
            await asyncio.gather(*(client.get(base + "/") for _ in range(2 if duplicate else 1)))
            for i, text in enumerate(conv.texts):
                if misses >= GIVE_UP_AFTER:
                    samples.append(Sample(path, False, error="not sent: conversation gave up"))
                    continue
                if path == "sms":
                    mode = ("after_ack" if i % 2 == 0 else "overlapping") if duplicate else None
                    sample = await self.sms_message(client, group, conv.number, conv.language, text, mode)
                else:
                    self.rest_sent[conv.sender] += 1
                    sample = await self.rest_message(client, conv.sender, conv.language, text)
                misses = 0 if sample.ok else misses + 1
                samples.append(sample)
        return samples

    async def phase(self, name: str, path: str, group: str, convs: list[Conversation],
                    duplicate: bool = False) -> Phase:
        before = self.cpu.snapshot()
        started_wall, started = time.time(), time.perf_counter()
        results = await asyncio.gather(*(self.conversation(path, group, c, duplicate) for c in convs))
        samples = [s for conv in results for s in conv]
        ends = [s.done_at for s in samples if s.ok and s.done_at]
        seconds = (max(ends) - started_wall) if ends else time.perf_counter() - started
        return Phase(name, path, samples, seconds, CpuMeter.delta(before, self.cpu.snapshot()))

    async def connections(self, size: int) -> list[RawHttp]:
        """Open before a burst and not timed, as Twilio's connections would be."""
        return list(await asyncio.gather(*(RawHttp("127.0.0.1", self.stack.gateway_port).connect()
                                           for _ in range(size))))

    async def bursts(self, name: str, group: str, count: int, size: int, interval: float,
                     first_index: int, stall: bool = False) -> Phase:
        """``count`` bursts of ``size`` concurrent webhooks from new residents,
        one every ``interval`` s, not waiting for replies; then every reply.
        With ``stall``, the Rasa server is stopped (SIGSTOP) from before the
        first burst until ``STALL_SECONDS`` later."""
        before = self.cpu.snapshot()
        started_wall = time.time()
        posted: list = []
        rasa = self.stack.services[0].process
        if stall:
            os.killpg(rasa.pid, signal.SIGSTOP)
        try:
            for b in range(count):
                burst_started = time.perf_counter()
                conns = await self.connections(size)
                calls = []
                for k, conn in enumerate(conns):
                    index = first_index + b * size + k
                    language = LANGS[index % len(LANGS)]
                    number = f"+4670{4 if stall else 3}{index:06d}"
                    text = TEXTS[language][(index // len(LANGS)) % len(TEXTS[language])]
                    calls.append(self._burst_one(conn, group, number, language, text))
                posted += await asyncio.gather(*calls)
                await asyncio.gather(*(c.close() for c in conns))
                if b < count - 1:
                    await asyncio.sleep(max(0.0, interval - (time.perf_counter() - burst_started)))
            if stall:
                await asyncio.sleep(max(0.0, STALL_SECONDS - (time.time() - started_wall)))
        finally:
            if stall:
                os.killpg(rasa.pid, signal.SIGCONT)
        samples = await asyncio.gather(*(
            self._reply(sample, future, at, number) if future is not None else _done(sample)
            for sample, future, at, number in posted))
        ends = [s.done_at for s in samples if s.ok and s.done_at]
        seconds = (max(ends) - started_wall) if ends else time.time() - started_wall
        return Phase(name, "sms", list(samples), seconds, CpuMeter.delta(before, self.cpu.snapshot()))

    async def _burst_one(self, conn: RawHttp, group: str, number: str, language: str, text: str):
        sid = "SM" + uuid.uuid4().hex
        body, headers = self.signed(number, text, sid)
        self.remember(group, number, language, sid)
        future = self.watcher.expect(number)
        posted = time.time()
        ack, status, error = await self.post_webhook(conn, body, headers)
        if status != 200:
            self.watcher.forget(number)
            future = None
        return Sample("sms", False, ack=ack, status=status, error=error), future, posted, number

    async def control_bursts(self, count: int, size: int) -> dict:
        """The same bursts where the gateway stores nothing and starts no turn:
        an unsigned webhook (form parsing and the signature check, then 403)
        and GET /health, with the raw client; and GET /health with httpx, one
        client per resident and one shared client, to show the client's part."""
        body, headers = self.signed("+46706000000", "hej", "SM" + uuid.uuid4().hex)
        headers["X-Twilio-Signature"] = "invalid"

        async def raw(conn: RawHttp, health: bool) -> float:
            started = time.perf_counter()
            if health:
                await conn.request("GET", "/health")
            else:
                await conn.request("POST", "/sms/webhook", body, headers)
            return time.perf_counter() - started

        async def via_httpx(client: httpx.AsyncClient) -> float:
            started = time.perf_counter()
            await client.get(self.stack.gateway_url + "/health")
            return time.perf_counter() - started

        result = {}
        for name in ("unsigned webhook (403, nothing stored), raw client", "GET /health, raw client"):
            times = []
            for _ in range(count):
                conns = await self.connections(size)
                times += await asyncio.gather(*(raw(c, name.startswith("GET")) for c in conns))
                await asyncio.gather(*(c.close() for c in conns))
                await asyncio.sleep(0.5)
            result[name] = dist(times)
        clients = [http_client() for _ in range(size)]
        shared = httpx.AsyncClient(timeout=90, limits=httpx.Limits(max_connections=size,
                                                                   max_keepalive_connections=size))
        try:
            await asyncio.gather(*(c.get(self.stack.gateway_url + "/health") for c in clients + [shared]))
            await asyncio.gather(*(shared.get(self.stack.gateway_url + "/health") for _ in range(size)))
            for name, targets in (("GET /health, httpx, one client per resident", clients),
                                  ("GET /health, httpx, one shared client", [shared] * size)):
                times = []
                for _ in range(count):
                    times += await asyncio.gather(*(via_httpx(c) for c in targets))
                    await asyncio.sleep(0.5)
                result[name] = dist(times)
        finally:
            await asyncio.gather(*(c.aclose() for c in clients + [shared]))
        return result


async def _done(sample: Sample) -> Sample:
    return sample


# ------------------------------------------------------------------- audit

def _count_by(conn, query: str, keys: list[str]) -> Counter:
    counts = Counter()
    for start in range(0, len(keys), 500):
        part = keys[start:start + 500]
        counts.update(dict(conn.execute(query.format(marks=",".join("?" * len(part))), part).fetchall()))
    return counts


def audit(data: Path, sids: list[str], numbers: dict[str, str]) -> dict:
    """Lost and duplicated, from the gateway's database (and Rasa's tracker
    store): every MessageSid sent stored exactly once; every stored inbound
    message answered by the bot exactly once (per resident: as many bot
    answers as messages, and each answer before the resident's next message);
    every message processed by Rasa exactly once."""
    conn = sqlite3.connect(f"file:{data / 'hubguide.db'}?mode=ro", uri=True, timeout=15)
    tracker = sqlite3.connect(f"file:{data / 'rasa_tracker.db'}?mode=ro", uri=True, timeout=15)
    try:
        stored = _count_by(conn, "SELECT provider_id, count(*) FROM messages WHERE channel = 'sms' "
                           "AND direction = 'in' AND provider_id IN ({marks}) GROUP BY provider_id", sids)
        addresses = list(numbers)
        known = set(sids)
        tally, answers, in_status, out_status = Counter(), Counter(), Counter(), Counter()
        pseudonyms: dict[str, str] = {}
        inbound_per_resident: Counter = Counter()
        for start in range(0, len(addresses), 500):
            part = addresses[start:start + 500]
            rows = conn.execute(
                "SELECT r.address, r.pseudonym, m.direction, m.status, m.sender, m.provider_id, "
                "m.language FROM messages m JOIN residents r ON r.id = m.resident_id "
                f"WHERE r.channel = 'sms' AND r.address IN ({','.join('?' * len(part))}) "
                "ORDER BY r.address, m.id", part).fetchall()
            per_resident: dict[str, list] = defaultdict(list)
            for row in rows:
                pseudonyms[row[0]] = row[1]
                per_resident[row[0]].append(row[2:])
            for address, messages in per_resident.items():
                n_in = n_bot = 0
                slots = []  # bot answers between one inbound message and the next
                for direction, status, sender, provider_id, language in messages:
                    if direction == "in":
                        n_in += 1
                        slots.append(0)
                        in_status[status] += 1
                        tally["inbound_not_sent_by_us"] += provider_id not in known
                        tally["language_not_the_residents"] += language != numbers[address]
                        continue
                    out_status[status] += 1
                    answers[sender] += 1
                    if sender != "bot":
                        tally["apologies"] += 1
                    elif not slots:
                        tally["answer_before_any_message"] += 1
                    else:
                        n_bot += 1
                        slots[-1] += 1
                inbound_per_resident[address] = n_in
                tally["unanswered"] += max(0, n_in - n_bot)
                tally["answered_twice"] += max(0, n_bot - n_in)
                if n_in == n_bot:
                    tally["answered_after_the_next_message"] += sum(1 for n in slots if n == 0)
        rasa_turns = _count_by(tracker, "SELECT sender_id, count(*) FROM events WHERE type_name = 'user' "
                               "AND sender_id IN ({marks}) GROUP BY sender_id", list(pseudonyms.values()))
        twice = sum(max(0, rasa_turns.get(pseudonyms[a], 0) - n) for a, n in inbound_per_resident.items())
        never = sum(max(0, n - rasa_turns.get(pseudonyms[a], 0)) for a, n in inbound_per_resident.items())
        result = {
            "sids_sent": len(sids),
            "stored": sum(1 for s in sids if stored.get(s, 0) >= 1),
            "lost_not_stored": sum(1 for s in sids if stored.get(s, 0) == 0),
            "stored_twice": sum(1 for s in sids if stored.get(s, 0) > 1),
            "inbound_unanswered": tally["unanswered"],
            "inbound_answered_twice": tally["answered_twice"],
            "answered_after_the_next_message": tally["answered_after_the_next_message"],
            "apologies": tally["apologies"],
            "inbound_not_sent_by_us": tally["inbound_not_sent_by_us"],
            "answer_before_any_message": tally["answer_before_any_message"],
            "inbound_language_not_the_residents": tally["language_not_the_residents"],
            "rasa_processed_twice": twice, "rasa_never_processed": never,
            "answers_by_sender": dict(answers),
            "inbound_status": dict(in_status), "outbound_status": dict(out_status),
        }
        result["lost_or_duplicated"] = (
            result["lost_not_stored"] + result["stored_twice"] + result["inbound_unanswered"]
            + result["inbound_answered_twice"] + result["inbound_not_sent_by_us"]
            + result["answer_before_any_message"])
        return result
    finally:
        conn.close()
        tracker.close()


def audit_rest(data: Path, senders: Counter) -> dict:
    """The baseline's turns in Rasa's tracker store: one user event per message posted."""
    tracker = sqlite3.connect(f"file:{data / 'rasa_tracker.db'}?mode=ro", uri=True, timeout=15)
    try:
        turns = _count_by(tracker, "SELECT sender_id, count(*) FROM events WHERE type_name = 'user' "
                          "AND sender_id IN ({marks}) GROUP BY sender_id", list(senders))
    finally:
        tracker.close()
    return {"posted": sum(senders.values()),
            "rasa_processed_twice": sum(max(0, turns.get(k, 0) - n) for k, n in senders.items()),
            "rasa_never_processed": sum(max(0, n - turns.get(k, 0)) for k, n in senders.items())}


def unsettled(db_path: Path) -> int:
    conn = sqlite3.connect(f"file:{db_path}?mode=ro", uri=True, timeout=15)
    try:
        return conn.execute(
            "SELECT (SELECT count(*) FROM messages WHERE direction = 'in' "
            "AND status IN ('received', 'bot_unavailable')) + (SELECT count(*) FROM messages "
            "WHERE direction = 'out' AND status = 'queued')").fetchone()[0]
    finally:
        conn.close()


# ------------------------------------------------- in-process code profile

class StubRasa:
    """Answers at once, the way Rasa answers a job question over SMS (two replies)."""

    async def send(self, conversation_id, text, metadata):
        from gateway.rasa_client import BotReply
        return [BotReply("Platsbanken på arbetsformedlingen.se listar lediga jobb."),
                BotReply("Vill du prata med en koordinator? Svara JA eller NEJ.")]

    async def ready(self) -> bool:
        return True


async def profile_gateway_code(data: Path, rounds: int) -> dict:
    """The gateway's SMS path in this process, Rasa stubbed, against a scratch
    SQLite database in the same data directory: SQL statements, commits and
    time per step (webhook, turn, outbox)."""
    from fastapi import FastAPI
    from sqlalchemy import event

    from common import langid
    from gateway.channels import sms
    from gateway.conversation import Conversations
    from gateway.outbox import Outbox

    url = f"sqlite:///{data / 'profile.db'}"
    use_database(url)
    db.migrate(url)
    settings = Settings(_env_file=None, app_env="test", data_dir=data, database_url=url,
                        public_base_url="http://127.0.0.1:8000", twilio_account_sid="",
                        log_level="WARNING")
    counts: Counter = Counter()

    engine = db.engine()

    wrote = [False]

    @event.listens_for(engine, "before_cursor_execute")
    def _statement(_conn, _cursor, statement, *_args):
        verb = statement.lstrip().split(None, 1)[0].upper()
        counts["statements"] += 1
        counts[verb] += 1
        wrote[0] = wrote[0] or verb in ("INSERT", "UPDATE", "DELETE")

    @event.listens_for(engine, "commit")
    def _commit(_conn):
        counts["commits"] += 1
        counts["write commits"] += wrote[0]
        wrote[0] = False

    await asyncio.to_thread(langid.preload)
    outbox = Outbox({"sms": sms.SmsSender(settings)})
    outbox.wake = lambda: None  # the steps are driven one by one here
    conversations = Conversations(StubRasa(), outbox)
    submitted: list[tuple[int, int]] = []

    class Recorder:
        def submit(self, message_id, resident_id, chosen=None):
            submitted.append((message_id, resident_id))

    app = FastAPI()
    app.state.settings, app.state.conversations = settings, Recorder()
    app.state.intake = intake = Intake(engine)
    intake.start()
    app.include_router(sms.router)
    validator = RequestValidator(settings.twilio_auth_token.get_secret_value())
    steps: dict[str, list[tuple[float, int, int]]] = defaultdict(list)

    async def step(name, awaitable):
        before = Counter(counts)
        started, cpu = time.perf_counter(), time.process_time()
        result = await awaitable
        steps[name].append((time.perf_counter() - started, counts - before, time.process_time() - cpu))
        return result

    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1:8000") as client:
        for i in range(rounds):
            language = LANGS[i % len(LANGS)]
            text = TEXTS[language][i % len(TEXTS[language])]
            number = f"+46705{i % 6:06d}"  # six residents: first contact, then returning
            params = {"From": number, "To": TO_NUMBER, "Body": text,
                      "MessageSid": "SM" + uuid.uuid4().hex, "NumMedia": "0"}
            signature = validator.compute_signature(settings.public_base_url + "/sms/webhook", params)
            kind = "first contact" if i < 6 else "returning"
            await step(f"webhook ({kind}): form, signature, store, TwiML", client.post(
                "/sms/webhook", data=params, headers={"X-Twilio-Signature": signature}))
            message_id, resident_id = submitted[-1]
            await step("turn: load, language, Rasa (stubbed), store replies",
                       conversations._handle(message_id, resident_id, None))
            await step("outbox: scan queued, send (dry-run), mark sent", outbox.deliver_due())
            await step("outbox: the loop's rescan after a batch", outbox.deliver_due())
    # The acknowledgement's storing under a burst: 50 concurrent webhooks' rows
    # through the intake thread (one transaction for the rows that arrive together).
    times = []
    for b in range(4):
        async def store(i: int, b=b) -> float:
            started = time.perf_counter()
            await intake.store(Inbound("sms", f"+46707{b}{i:04d}", "jag söker jobb", "SM" + uuid.uuid4().hex))
            return time.perf_counter() - started
        times += await asyncio.gather(*(store(i) for i in range(50)))
    bursts = {"intake thread, group commit (as the webhook)": dist(times)}
    intake.stop()
    language_ms = []
    for language in LANGS:
        for text in TEXTS[language]:
            started = time.perf_counter()
            langid.decide(text, language)
            language_ms.append((time.perf_counter() - started) * 1000)
    engine.dispose()

    # What one commit costs on this disk: SQLite WAL with synchronous FULL
    # (the gateway's setting: the default) against NORMAL.
    commit_ms = {}
    for mode in ("FULL", "NORMAL"):
        path = data / f"commit-{mode}.db"
        conn = sqlite3.connect(path, isolation_level=None)
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute(f"PRAGMA synchronous={mode}")
        conn.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, body TEXT)")
        times = []
        for i in range(200):
            started = time.perf_counter()
            conn.execute("BEGIN")
            conn.execute("INSERT INTO t (body) VALUES (?)", (f"message {i}",))
            conn.execute("COMMIT")
            times.append((time.perf_counter() - started) * 1000)
        conn.close()
        commit_ms[mode] = {"p50_ms": _r(pct(times, 50), 3), "p99_ms": _r(pct(times, 99), 3)}

    table = {}
    for name, values in steps.items():
        table[name] = {"n": len(values), "p50_ms": _r(pct([v[0] * 1000 for v in values], 50), 2),
                       "cpu_ms_mean": _r(statistics.mean(v[2] * 1000 for v in values), 2)}
        for key in ("statements", "SELECT", "INSERT", "UPDATE", "SAVEPOINT", "commits", "write commits"):
            table[name][key] = _r(statistics.mean(v[1].get(key, 0) for v in values), 1)
    return {"steps": table, "store_burst_of_50": bursts, "langid_decide_p50_ms": _r(pct(language_ms, 50), 3),
            "langid_decide_max_ms": _r(max(language_ms), 3), "sqlite_commit": commit_ms}


# ---------------------------------------------------------------- the run

def plan(messages: int, conversations: int, rounds: int, prefix: str) -> list[list[Conversation]]:
    """Conversations split into ``rounds`` chunks: plan[round][conversation]."""
    run = uuid.uuid4().hex[:8]
    convs = []
    for i in range(conversations):
        language = LANGS[i % len(LANGS)]
        count = messages // conversations + (1 if i < messages % conversations else 0)
        start = i // len(LANGS)
        texts = [TEXTS[language][(start + j) % len(TEXTS[language])] for j in range(count)]
        convs.append(Conversation(f"+4670{prefix}{i:06d}", f"bench-{run}-{prefix}-{i}", language, texts))
    rounds_plan = []
    for r in range(rounds):
        chunk = []
        for c in convs:
            bounds = [len(c.texts) * k // rounds for k in range(rounds + 1)]
            chunk.append(Conversation(c.number, c.sender, c.language, c.texts[bounds[r]:bounds[r + 1]]))
        rounds_plan.append(chunk)
    return rounds_plan


def code_version() -> dict:
    """Which gateway code ran: the commit, and files changed since (others edit this checkout)."""
    def git(*args: str) -> str:
        try:
            return subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True,
                                  timeout=10).stdout.strip()
        except (OSError, subprocess.SubprocessError):
            return ""
    changed = git("status", "--porcelain", "--", "common", "gateway", "nlu", "actions", "config.yml", "domain", "data")
    return {"commit": git("rev-parse", "--short", "HEAD"), "changed": changed.splitlines()}


def check_texts() -> list[str]:
    """Texts no longer in data/nlu (the list is meant to be drawn from there)."""
    missing = []
    for language, texts in TEXTS.items():
        corpus = "\n".join(p.read_text() for p in (ROOT / "data" / "nlu" / language).glob("*.yml"))
        missing += [f"{language}: {t}" for t in texts if f"- {t}\n" not in corpus]
    return missing


def summarize(phases: list[Phase]) -> dict:
    samples = [s for p in phases for s in p.samples]
    answered = sum(p.answered for p in phases)
    seconds = sum(p.seconds for p in phases)
    cpu = Counter()
    for p in phases:
        cpu.update(p.cpu)
    return {
        "messages": len(samples), "answered": answered,
        "apologies": sum(s.apologies for s in samples),
        "failed": [s.error for s in samples if not s.ok][:10],
        "ack": dist([s.ack for s in samples if s.ack is not None]),
        "reply": dist([s.reply for s in samples if s.ok and s.reply is not None]),
        "phase_seconds": round(seconds, 2),
        "throughput_per_s": round(answered / seconds, 2) if seconds else None,
        "per_round_throughput": [round(p.answered / p.seconds, 2) if p.seconds else None for p in phases],
        "cpu_seconds": {k: round(v, 2) for k, v in cpu.items()},
        "cpu_ms_per_message": {k: round(v * 1000 / max(1, answered), 1) for k, v in cpu.items()},
    }


async def run(args, stack: Stack, data: Path) -> dict:
    db_path = data / "hubguide.db"
    watcher = ReplyWatcher(db_path, args.poll_ms / 1000)
    watcher.start()
    cpu = CpuMeter(stack)
    bench = Bench(stack, watcher, cpu)
    lag = LoopLag()
    result: dict = {}
    try:
        # Warm every path and language once (TensorFlow graphs, lingua, connections).
        async with http_client() as client:
            for i, language in enumerate(LANGS):
                for text in TEXTS[language][:2]:
                    await bench.sms_message(client, "warm-up", f"+46709{i:06d}", language, text)
                    await bench.rest_message(client, f"warm-{i}-{uuid.uuid4().hex[:6]}", language, text)
        lag.start()

        # 1. Main: rounds, alternating which path goes first.
        sms_phases, rest_phases, order = [], [], []
        for r, convs in enumerate(plan(args.messages, args.conversations, args.rounds, "1")):
            paths = ("sms", "rest") if r % 2 == 0 else ("rest", "sms")
            order.append(list(paths))
            for path in paths:
                phase = await bench.phase(f"main round {r + 1} {path}", path, "main", convs)
                (sms_phases if path == "sms" else rest_phases).append(phase)
                print(f"round {r + 1} {path}: {phase.answered}/{len(phase.samples)} answered "
                      f"in {phase.seconds:.1f} s", flush=True)
                await asyncio.sleep(0.3)
        result["main"] = {"order": order, "sms": summarize(sms_phases), "rest": summarize(rest_phases)}

        # 2. Duplicates: every webhook twice, same MessageSid.
        dup_convs = plan(args.dup_messages, args.conversations, 1, "2")[0]
        dup = await bench.phase("duplicates", "sms", "duplicates", dup_convs, duplicate=True)
        ok = [s for s in dup.samples if s.ack is not None]
        result["duplicates"] = {
            "messages": len(dup.samples), "deliveries": 2 * len(ok), "answered": dup.answered,
            "ack_first": dist([s.ack for s in ok]), "ack_second": dist([s.ack2 for s in ok if s.ack2]),
            "reply": dist([s.reply for s in dup.samples if s.ok]),
            "apologies": sum(s.apologies for s in dup.samples),
            "failed": [s.error for s in dup.samples if not s.ok][:10],
        }
        print(f"duplicates: {dup.answered}/{len(dup.samples)} answered", flush=True)

        # 3. Slow bot: bursts while the bot is busy, then a burst while it is stalled.
        rest_rate = result["main"]["rest"]["throughput_per_s"] or 10.0
        interval = max(1.0, args.burst_size / (0.8 * rest_rate))
        busy = await bench.bursts("bursts, bot busy", "bursts", args.bursts, args.burst_size,
                                  interval, 0)
        print(f"bursts (busy): {busy.answered}/{len(busy.samples)} answered", flush=True)
        stalled = await bench.bursts("burst, bot stalled", "bursts", 1, args.burst_size, 0,
                                     args.bursts * args.burst_size, stall=True)
        print(f"burst (stalled): {stalled.answered}/{len(stalled.samples)} answered", flush=True)
        await asyncio.sleep(2)
        deadline = time.monotonic() + 60
        while unsettled(db_path) and time.monotonic() < deadline:  # the bot idle again
            await asyncio.sleep(0.5)
        control = await bench.control_bursts(2, args.burst_size)
        result["slow_bot"] = {
            "burst_size": args.burst_size, "busy_bursts": args.bursts,
            "busy_interval_s": round(interval, 2), "stall_seconds": STALL_SECONDS,
            "busy": {"ack": dist([s.ack for s in busy.samples if s.ack is not None]),
                     "reply": dist([s.reply for s in busy.samples if s.ok]),
                     "answered": busy.answered, "messages": len(busy.samples),
                     "apologies": sum(s.apologies for s in busy.samples),
                     "seconds": round(busy.seconds, 1)},
            "control_bot_idle": control,
            "stalled": {"ack": dist([s.ack for s in stalled.samples if s.ack is not None]),
                        "reply": dist([s.reply for s in stalled.samples if s.ok]),
                        "answered": stalled.answered, "messages": len(stalled.samples),
                        "apologies": sum(s.apologies for s in stalled.samples)},
        }
        await lag.stop()

        # Let anything late (a duplicate answer, a retry) show before counting.
        await asyncio.sleep(2)
        deadline = time.monotonic() + 30
        while unsettled(db_path) and time.monotonic() < deadline:
            await asyncio.sleep(0.5)
        result["audit"] = {group: audit(data, bench.sent_sids[group], bench.numbers[group])
                           for group in ("main", "duplicates", "bursts")}
        result["audit_rest"] = audit_rest(data, bench.rest_sent)
        result["memory_rss_mb"] = {s.name: round(rss_mb(s.process.pid), 1) for s in stack.services}
    finally:
        watcher.stop()
    result["measurement"] = {
        "poll_interval_ms": args.poll_ms, "checks": watcher.checks, "queries": watcher.queries,
        "poll_thread_cpu_s": round(watcher.poll_cpu, 2),
        "poll_lag_after_sent_at": dist(watcher.lags),
        "benchmark_loop_lag": dist(lag.lags),
        "replies_nobody_waited_for": len(watcher.unexpected),
        "webhook_deliveries_retried_after_no_response": bench.client_retries,
    }
    return result


def goals(result: dict) -> dict:
    main = result["main"]
    acks = [("main", main["sms"]["ack"]["p99_ms"]),
            ("duplicates, first", result["duplicates"]["ack_first"]["p99_ms"]),
            ("duplicates, second", result["duplicates"]["ack_second"]["p99_ms"]),
            ("bot busy", result["slow_bot"]["busy"]["ack"]["p99_ms"]),
            ("bot stalled", result["slow_bot"]["stalled"]["ack"]["p99_ms"])]
    worst = max(v for _, v in acks if v is not None)
    reply_ratio = main["sms"]["reply"]["p95_ms"] / main["rest"]["reply"]["p95_ms"]
    throughput_ratio = main["sms"]["throughput_per_s"] / main["rest"]["throughput_per_s"]
    lost = sum(a["lost_or_duplicated"] for a in result["audit"].values())
    rasa_twice = sum(a["rasa_processed_twice"] for a in result["audit"].values())
    return {
        "ack_p99_under_100ms": {"measured_worst_p99_ms": worst, "per_phase": dict(acks),
                                "met": worst < GOALS["ack_p99_ms"]},
        "reply_p95_vs_rest": {"ratio": round(reply_ratio, 3), "goal": f"<= {GOALS['reply_p95_ratio']}",
                              "met": reply_ratio <= GOALS["reply_p95_ratio"]},
        "throughput_vs_rest": {"ratio": round(throughput_ratio, 3),
                               "goal": f">= {GOALS['throughput_ratio']}",
                               "met": throughput_ratio >= GOALS["throughput_ratio"]},
        "zero_lost_or_duplicated": {"count": lost, "met": lost == 0},
        "zero_processed_twice_by_rasa": {"count": rasa_twice, "met": rasa_twice == 0,
                                         "baseline": result["audit_rest"]["rasa_processed_twice"]},
    }


def markdown(r: dict) -> str:
    m, g, a = r["main"], r["goals"], r["audit"]
    yes = lambda ok: "**met**" if ok else "**not met**"  # noqa: E731
    s, rest = m["sms"], m["rest"]

    def row(name, x, ack_note=""):
        return (f"| {name} | {x['messages']} | {x['answered']} | {x['ack']['p50_ms']} | "
                f"{x['ack']['p99_ms']}{ack_note} | {x['reply']['p50_ms']} | {x['reply']['p95_ms']} | "
                f"{x['reply']['p99_ms']} | {x['throughput_per_s']} |")

    d, sb = r["duplicates"], r["slow_bot"]
    lines = [
        f"# SMS load benchmark, {r['when']}", "",
        f"{r['config']['messages']} messages over {r['config']['conversations']} concurrent "
        f"conversations (each a phone number that sends its next message once the previous reply "
        f"is sent), six languages, same model, same run; {r['config']['rounds']} rounds, the path "
        f"that goes first alternating ({', '.join('→'.join(o) for o in m['order'])}). "
        f"Stack start-up {r['startup_seconds']} s; whole run {r['run_seconds']} s. "
        f"Gateway log level {r['config']['log_level']}, SMS dry-run, SQLite. Model "
        f"sha256 {r['config']['model_sha256_16']}…; code at {r['config']['code']['commit']}"
        + (f" with local changes ({'; '.join(r['config']['code']['changed'])})"
           if r['config']['code']['changed'] else "") + f"; {r['config']['cores']} cores, load average "
        f"{r['config']['load_average_before'][0]} before, {r['config']['load_average_after'][0]} after "
        "(the machine is shared: compare the ratios, not the absolute numbers).", "",
        "## Main phase", "",
        "| path | messages | answered | ack p50 ms | ack p99 ms | reply p50 ms | reply p95 ms | "
        "reply p99 ms | answered/s |", "|---|---|---|---|---|---|---|---|---|",
        row("SMS webhook through the gateway", s),
        row("Rasa REST channel, direct (baseline)", rest, " ¹"),
        "",
        "¹ Rasa's REST channel answers only after the whole turn: its \"ack\" is the reply.",
        "",
        f"Per-round throughput, SMS: {s['per_round_throughput']}; REST: {rest['per_round_throughput']}. "
        f"SMS answers preceded by a \"bot unavailable\" apology: {s['apologies']}."
        + (f" Failures: SMS {s['failed']}, REST {rest['failed']}." if s["failed"] or rest["failed"] else ""),
        "",
        "## Goals", "",
        "| goal | measured | result |", "|---|---|---|",
        f"| acknowledgement p99 < 100 ms whatever the bot's speed | worst phase p99 "
        f"{g['ack_p99_under_100ms']['measured_worst_p99_ms']} ms "
        f"({', '.join(f'{k} {v}' for k, v in g['ack_p99_under_100ms']['per_phase'].items())}) | "
        f"{yes(g['ack_p99_under_100ms']['met'])} |",
        f"| reply p95 ≤ 1.2 × Rasa REST p95 | {s['reply']['p95_ms']} / {rest['reply']['p95_ms']} ms = "
        f"{g['reply_p95_vs_rest']['ratio']} | {yes(g['reply_p95_vs_rest']['met'])} |",
        f"| throughput ≥ 90% of Rasa REST | {s['throughput_per_s']} / {rest['throughput_per_s']} /s = "
        f"{g['throughput_vs_rest']['ratio']} | {yes(g['throughput_vs_rest']['met'])} |",
        f"| zero lost or duplicated (stored once, answered once; from the database) | "
        f"{g['zero_lost_or_duplicated']['count']} | {yes(g['zero_lost_or_duplicated']['met'])} |",
        f"| (added) every message processed by Rasa once (tracker store user events) | "
        f"{g['zero_processed_twice_by_rasa']['count']} processed twice through the gateway; "
        f"{g['zero_processed_twice_by_rasa']['baseline']} in the baseline | "
        f"{yes(g['zero_processed_twice_by_rasa']['met'])} |",
        "",
        "## Duplicate deliveries (same MessageSid twice; half right after the first ack, half overlapping)",
        "",
        "| delivery | n | ack p50 ms | ack p99 ms | max ms |", "|---|---|---|---|---|",
        f"| first | {d['ack_first']['n']} | {d['ack_first']['p50_ms']} | {d['ack_first']['p99_ms']} | "
        f"{d['ack_first']['max_ms']} |",
        f"| duplicate | {d['ack_second']['n']} | {d['ack_second']['p50_ms']} | "
        f"{d['ack_second']['p99_ms']} | {d['ack_second']['max_ms']} |",
        "",
        f"Answered {d['answered']}/{d['messages']}; reply p50 {d['reply']['p50_ms']} ms, "
        f"p95 {d['reply']['p95_ms']} ms. Stored twice: {a['duplicates']['stored_twice']}; "
        f"answered twice: {a['duplicates']['inbound_answered_twice']}.",
        "",
        f"## Acknowledgement with a slow bot (bursts of {sb['burst_size']} concurrent webhooks "
        "from new residents, not waiting for replies)", "",
        "Sent with a minimal HTTP/1.1 client on connections opened before each burst (as Twilio's "
        "would be); the conversations above use one httpx.AsyncClient each.", "",
        "| bot | webhooks | ack p50 ms | ack p99 ms | ack max ms | answer p50 ms | answer p95 ms | "
        "apologies |", "|---|---|---|---|---|---|---|---|",
        f"| busy: {sb['busy_bursts']} bursts, one every {sb['busy_interval_s']} s (≈80% of Rasa's "
        f"measured throughput) | {sb['busy']['ack']['n']} | {sb['busy']['ack']['p50_ms']} | "
        f"{sb['busy']['ack']['p99_ms']} | {sb['busy']['ack']['max_ms']} | {sb['busy']['reply']['p50_ms']} | "
        f"{sb['busy']['reply']['p95_ms']} | {sb['busy']['apologies']} |",
        f"| stalled: Rasa server stopped (SIGSTOP) for {sb['stall_seconds']} s | "
        f"{sb['stalled']['ack']['n']} | {sb['stalled']['ack']['p50_ms']} | "
        f"{sb['stalled']['ack']['p99_ms']} | {sb['stalled']['ack']['max_ms']} | "
        f"{sb['stalled']['reply']['p50_ms']} | {sb['stalled']['reply']['p95_ms']} | "
        f"{sb['stalled']['apologies']} |",
        *(f"| control, bot idle: {name} | {x['n']} | {x['p50_ms']} | {x['p99_ms']} | {x['max_ms']} | | | |"
          for name, x in sb["control_bot_idle"].items()),
        "",
        "The control rows send the same bursts (with the bot idle) to the gateway where it stores "
        "nothing and starts no turn: their time is the client, uvicorn and the machine; the "
        "difference to the rows above is the gateway's work per webhook (storing, and the turns "
        "the webhooks start on the same event loop). The httpx rows show why the bursts do not use "
        "httpx.",
        "",
        "## Lost or duplicated, counted from the gateway's database", "",
        "| phase | SIDs sent | not stored | stored twice | no bot answer | bot answered twice | "
        "answer after the next message | apologies ² | processed twice by Rasa ³ | inbound status |",
        "|---|---|---|---|---|---|---|---|---|---|",
        *(f"| {name} | {x['sids_sent']} | {x['lost_not_stored']} | {x['stored_twice']} | "
          f"{x['inbound_unanswered']} | {x['inbound_answered_twice']} | "
          f"{x['answered_after_the_next_message']} | {x['apologies']} | {x['rasa_processed_twice']} | "
          f"{', '.join(f'{k} {v}' for k, v in x['inbound_status'].items())} |"
          for name, x in a.items()),
        f"| REST baseline (main) | {r['audit_rest']['posted']} posted | | | | | | | "
        f"{r['audit_rest']['rasa_processed_twice']} | |",
        "",
        "² Rasa did not answer within the gateway's RASA_TIMEOUT_SECONDS: the resident got the "
        "\"bot unavailable\" apology and, after the gateway's retry, the answer (two SMS for one "
        "message, by design; not counted as duplicated, but a sign the bot was overloaded).",
        "³ More user events in Rasa's tracker store than messages the resident sent: the gateway "
        "gave up waiting, Rasa still finished the turn, and the retry ran it again.",
        "",
        f"Rasa REST baseline: {rest['answered']}/{rest['messages']} answered with text.",
        "",
        "## Where the time goes", "",
        "CPU per answered message in the main phase (all processes, /proc):", "",
        "| process | SMS path ms/msg | REST path ms/msg |", "|---|---|---|",
        *(f"| {k} | {s['cpu_ms_per_message'].get(k)} | {rest['cpu_ms_per_message'].get(k)} |"
          for k in s["cpu_ms_per_message"]),
        "",
        "The gateway's SMS code in-process, one message at a time (Rasa stubbed, scratch SQLite in "
        "the same data directory; the steps' database work runs in worker threads as in the gateway):",
        "",
        "| step | n | wall p50 ms | CPU ms (mean) | SQL statements (SELECT/INSERT/UPDATE/SAVEPOINT) | "
        "commits (with writes) |", "|---|---|---|---|---|---|",
        *(f"| {k} | {v['n']} | {v['p50_ms']} | {v.get('cpu_ms_mean')} | {v['statements']} ({v['SELECT']}/"
          f"{v['INSERT']}/{v['UPDATE']}/{v['SAVEPOINT']}) | {v['commits']} ({v['write commits']}) |"
          for k, v in r["profile"]["steps"].items()),
        "",
        "Storing a burst of 50 webhooks (`gateway.intake`, 4 bursts, new residents):", "",
        "| path | p50 ms | p99 ms | max ms |", "|---|---|---|---|",
        *(f"| {k} | {v['p50_ms']} | {v['p99_ms']} | {v['max_ms']} |"
          for k, v in r["profile"].get("store_burst_of_50", {}).items()),
        "",
        f"Language decision (`langid.decide`) p50 {r['profile']['langid_decide_p50_ms']} ms, max "
        f"{r['profile']['langid_decide_max_ms']} ms. One SQLite WAL commit on this disk: "
        f"synchronous=FULL (the gateway's) p50 {r['profile']['sqlite_commit']['FULL']['p50_ms']} ms / "
        f"p99 {r['profile']['sqlite_commit']['FULL']['p99_ms']} ms; synchronous=NORMAL p50 "
        f"{r['profile']['sqlite_commit']['NORMAL']['p50_ms']} ms / p99 "
        f"{r['profile']['sqlite_commit']['NORMAL']['p99_ms']} ms.",
        "",
        "## Measurement", "",
        f"Replies are seen by one thread reading the gateway's SQLite read-only: every "
        f"{r['measurement']['poll_interval_ms']} ms `PRAGMA data_version` ({r['measurement']['checks']} "
        f"checks), and the outbound rows above a moving id floor only when it changed "
        f"({r['measurement']['queries']} queries; {r['measurement']['poll_thread_cpu_s']} s CPU for the "
        f"thread). Reply latency uses the row's `sent_at`, so the "
        f"poll only delays the next message of a conversation (poll lag after `sent_at`: p50 "
        f"{r['measurement']['poll_lag_after_sent_at']['p50_ms']} ms, p99 "
        f"{r['measurement']['poll_lag_after_sent_at']['p99_ms']} ms). This process's event-loop lag "
        f"(a 50 ms timer): p50 {r['measurement']['benchmark_loop_lag']['p50_ms']} ms, p99 "
        f"{r['measurement']['benchmark_loop_lag']['p99_ms']} ms. Bot answers nobody waited for: "
        f"{r['measurement']['replies_nobody_waited_for']}. Webhook deliveries sent again after no "
        f"response (a keep-alive connection closed by uvicorn as the request went out; Twilio would "
        f"retry too): {len(r['measurement'].get('webhook_deliveries_retried_after_no_response', []))}.",
    ]
    if r["texts_not_in_nlu_data"]:
        lines += ["", f"Texts no longer in data/nlu: {r['texts_not_in_nlu_data']}"]
    lines += ["", "| process | RSS MB (with children) at the end |", "|---|---|",
              *(f"| {k} | {v} |" for k, v in r["memory_rss_mb"].items())]
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--messages", type=int, default=500)
    parser.add_argument("--conversations", type=int, default=20)
    parser.add_argument("--rounds", type=int, default=6, help="main-phase rounds (path order alternates)")
    parser.add_argument("--dup-messages", type=int, default=100, help="messages in the duplicate phase")
    parser.add_argument("--bursts", type=int, default=4, help="bursts while the bot is busy")
    parser.add_argument("--burst-size", type=int, default=50)
    parser.add_argument("--poll-ms", type=float, default=5.0)
    parser.add_argument("--log-level", default="INFO", help="the gateway's (INFO is production's default)")
    parser.add_argument("--quick", action="store_true", help="100 messages, shorter phases")
    parser.add_argument("--render", type=Path, help="only print the markdown of a saved JSON report")
    args = parser.parse_args()
    if args.render:
        print(markdown(json.loads(args.render.read_text())))
        return
    if args.quick:
        args.messages, args.rounds, args.dup_messages, args.bursts = 100, 2, 40, 2
    if args.messages < args.conversations:
        parser.error("--messages must be at least --conversations")

    run_started = time.perf_counter()
    stack = bench_stack("hubguide-smsload-", args.log_level)
    data = stack.settings.data_dir
    # A copy of the model: another `make train` may replace models/hubguide.tar.gz meanwhile.
    model_copy = data / "model.tar.gz"
    shutil.copyfile(model.MODEL, model_copy)
    model_sha = hashlib.sha256(model_copy.read_bytes()).hexdigest()[:16]
    stack.model_path = model_copy
    load_before = os.getloadavg()
    version = code_version()  # as the gateway imports it at start
    started = time.perf_counter()
    stack.start()
    startup = time.perf_counter() - started
    print(f"stack ready in {startup:.0f} s; data in {data}", flush=True)
    try:
        result = asyncio.run(run(args, stack, data))
    finally:
        stack.stop()
    result["profile"] = asyncio.run(profile_gateway_code(data, rounds=48))
    result.update({
        "when": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "config": {"messages": args.messages, "conversations": args.conversations,
                   "rounds": args.rounds, "dup_messages": args.dup_messages, "bursts": args.bursts,
                   "burst_size": args.burst_size, "poll_ms": args.poll_ms, "log_level": args.log_level,
                   "quick": args.quick, "cores": os.cpu_count(), "model_sha256_16": model_sha,
                   "code": version,
                   "load_average_before": [round(x, 2) for x in load_before],
                   "load_average_after": [round(x, 2) for x in os.getloadavg()]},
        "startup_seconds": round(startup, 1),
        "run_seconds": round(time.perf_counter() - run_started, 1),
        "texts_not_in_nlu_data": check_texts(),
    })
    try:
        result["goals"] = goals(result)
    except (KeyError, TypeError, ZeroDivisionError) as exc:  # keep the measurements anyway
        result["goals_error"] = repr(exc)
    write_report("sms-load", result, markdown)


if __name__ == "__main__":
    main()
