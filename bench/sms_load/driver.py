"""The residents: signed Twilio webhooks to the gateway (and the same texts to
Rasa's REST channel) over aiohttp, one ``aiohttp.ClientSession`` per resident
with its keep-alive connection opened before the timing starts."""

from __future__ import annotations

import asyncio
import json
import os
import random
import signal
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field

import aiohttp
import httpx

from bench.common import Signer
from bench.sms_load.measure import CpuMeter, Reply, ReplyWatcher, ServerAcks, dist
from bench.sms_load.workload import Conversation, text_for
from stack.processes import Stack

# Seconds a conversation waits for the bot's answer: the gateway's Rasa timeout (10 s),
# its retry of unanswered messages (every 10 s) and the turn itself fit in it.
REPLY_TIMEOUT = 60.0
GIVE_UP_AFTER = 2  # consecutive timeouts before a conversation stops sending
STALL_SECONDS = 3.0  # how long the Rasa server is stopped in the stalled-bot burst


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
    server_acks: Counter = field(default_factory=Counter)  # the gateway's histogram, this phase's part

    @property
    def answered(self) -> int:
        return sum(s.ok for s in self.samples)


def http_client() -> aiohttp.ClientSession:
    """One keep-alive session per resident, as each of Twilio's webhooks comes on
    a connection of its own. aiohttp, not httpx: a burst is 50 requests from this
    one process, and httpx's request path took ~2 ms of this process's event loop
    each on this 2-core machine, so the 50th webhook of a burst left ~100 ms after
    the first and its "acknowledgement" measured this process (the control rows
    compare both clients on the same bursts); aiohttp's takes a fraction (the
    gateway's Rasa client switched for the same reason). Plain HTTP to 127.0.0.1:
    no TLS context is made."""
    return aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=90))


async def fetch(client: aiohttp.ClientSession, method: str, url: str, **kwargs) -> tuple[int, bytes]:
    """The status and body of one request."""
    async with client.request(method, url, **kwargs) as response:
        return response.status, await response.read()


class Bench:
    """The residents of one run, against ``stack`` (``stack.processes.Stack``, or
    ``stack.cluster.Cluster`` with ``gateway_url`` its load balancer's and
    ``rasa_url`` its Rasa server's)."""

    def __init__(
        self,
        stack: Stack,
        watcher: ReplyWatcher,
        cpu: CpuMeter,
        gateway_url: str = "",
        rasa_url: str = "",
        replicas: list[str] | None = None,
    ) -> None:
        self.stack, self.watcher, self.cpu = stack, watcher, cpu
        self.gateway_url = gateway_url or stack.gateway_url
        self.server = ServerAcks(replicas or [self.gateway_url])  # each replica's own /metrics
        self.rasa_url = rasa_url or stack.rasa_url
        self.webhook_url = self.gateway_url + "/sms/webhook"
        self.sign = Signer(stack.settings)
        self.sent_sids: dict[str, list[str]] = defaultdict(list)  # phase group -> sids
        self.numbers: dict[str, dict[str, str]] = defaultdict(dict)  # group -> number -> language
        self.rest_sent: Counter = Counter()  # REST sender -> messages posted in the main phase
        self.client_retries: list[str] = []  # deliveries sent again after no response

    def webhook(self, group: str, number: str, language: str, text: str) -> tuple[dict, dict]:
        """A new message's signed form, remembered for the audit."""
        form, headers = self.sign(number, text)
        self.sent_sids[group].append(form["MessageSid"])
        self.numbers[group][number] = language
        return form, headers

    async def post_webhook(
        self, client: aiohttp.ClientSession, form: dict, headers: dict
    ) -> tuple[float, int | None, str | None]:
        """The acknowledgement time, from the first attempt. A delivery that got
        no HTTP response at all (a keep-alive connection the server closed as
        the request went out) is sent again at once with the same MessageSid,
        as Twilio retries; those retries are counted."""
        started = time.perf_counter()
        for attempt in (1, 2):
            try:
                status, _ = await fetch(client, "POST", self.webhook_url, data=form, headers=headers)
                return time.perf_counter() - started, status, None
            except aiohttp.ClientConnectionError as exc:
                if attempt == 2:
                    return time.perf_counter() - started, None, type(exc).__name__
                self.client_retries.append(type(exc).__name__)
        raise AssertionError("unreachable")

    async def sms_message(
        self,
        client: aiohttp.ClientSession,
        group: str,
        number: str,
        language: str,
        text: str,
        duplicate: str | None = None,
    ) -> Sample:
        """One signed webhook (twice with ``duplicate`` = "after_ack" or
        "overlapping"), then wait until the bot's answer is sent."""
        form, headers = self.webhook(group, number, language, text)
        future = self.watcher.expect(number)
        posted = time.time()
        ack2 = status2 = error2 = None
        if duplicate == "overlapping":
            first = asyncio.ensure_future(self.post_webhook(client, form, headers))
            await asyncio.sleep(0)  # the first request goes out first
            (ack, status, error), (ack2, status2, error2) = await asyncio.gather(
                first, self.post_webhook(client, form, headers)
            )
        else:
            ack, status, error = await self.post_webhook(client, form, headers)
            if duplicate == "after_ack":
                ack2, status2, error2 = await self.post_webhook(client, form, headers)
        if duplicate and (status2 != 200 or error2):
            error = error or f"duplicate delivery: {status2} {error2}"
        sample = Sample("sms", False, ack=ack, ack2=ack2, status=status, error=error)
        if status != 200:
            self.watcher.forget(number)
            return sample
        return await self.reply(sample, future, posted, number)

    async def reply(self, sample: Sample, future: asyncio.Future | None, posted: float, number: str) -> Sample:
        """``sample`` with the bot's answer (None: nothing to wait for)."""
        if future is None:
            return sample
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

    async def rest_message(self, client: aiohttp.ClientSession, sender: str, language: str, text: str) -> Sample:
        payload = {"sender": sender, "message": text, "metadata": {"language": language, "channel": "sms"}}
        started = time.perf_counter()
        try:
            status, body = await fetch(client, "POST", self.rasa_url + "/webhooks/rest/webhook", json=payload)
        except (aiohttp.ClientError, asyncio.TimeoutError) as exc:
            return Sample("rest", False, error=type(exc).__name__)
        elapsed = time.perf_counter() - started
        try:
            ok = status == 200 and any(item.get("text") for item in json.loads(body))
        except ValueError:
            ok = False
        return Sample(
            "rest",
            ok,
            ack=elapsed,
            reply=elapsed,
            done_at=time.time(),
            status=status,
            error=None if ok else f"{status} {body[:120]!r} to {text!r}",
        )

    async def conversation(
        self, path: str, group: str, conv: Conversation, duplicate: bool = False, pause: float = 0.0
    ) -> list[Sample]:
        """``conv``'s messages, each sent once the previous one is answered; with ``pause``, each
        (the first too) after a random 0-``pause`` s more, the same for the same number in every
        run: a resident reads the answer and types. Without it a phase's conversations all send
        their first message in the same millisecond, and then in waves."""
        samples, misses = [], 0
        pauses = random.Random(conv.number)
        async with http_client() as client:
            # Open the keep-alive connections before timing (two: a duplicate
            # delivery overlaps the first), as the bursts do: Twilio does not open
            # twenty connections from one process in the same millisecond, and
            # this process doing so measured its own connection setup.
            base = self.gateway_url if path == "sms" else self.rasa_url
            await asyncio.gather(*(fetch(client, "GET", base + "/") for _ in range(2 if duplicate else 1)))
            for i, text in enumerate(conv.texts):
                if misses >= GIVE_UP_AFTER:
                    samples.append(Sample(path, False, error="not sent: conversation gave up"))
                    continue
                if pause:
                    await asyncio.sleep(pauses.uniform(0, pause))  # the resident, not an event to await
                if path == "sms":
                    mode = ("after_ack" if i % 2 == 0 else "overlapping") if duplicate else None
                    sample = await self.sms_message(client, group, conv.number, conv.language, text, mode)
                else:
                    self.rest_sent[conv.sender] += 1
                    sample = await self.rest_message(client, conv.sender, conv.language, text)
                misses = 0 if sample.ok else misses + 1
                samples.append(sample)
        return samples

    async def phase(
        self, name: str, path: str, group: str, convs: list[Conversation], duplicate: bool = False, pause: float = 0.0
    ) -> Phase:
        acks = await self.server.snapshot() if path == "sms" else Counter()
        before = self.cpu.snapshot()
        started_wall, started = time.time(), time.perf_counter()
        results = await asyncio.gather(*(self.conversation(path, group, c, duplicate, pause) for c in convs))
        samples = [s for conv in results for s in conv]
        ends = [s.done_at for s in samples if s.ok and s.done_at]
        seconds = (max(ends) - started_wall) if ends else time.perf_counter() - started
        cpu = CpuMeter.delta(before, self.cpu.snapshot())
        acks = (await self.server.snapshot()) - acks if path == "sms" else acks
        return Phase(name, path, samples, seconds, cpu, acks)

    async def clients(self, size: int) -> list[aiohttp.ClientSession]:
        """One client per resident of a burst, its connection opened (GET /, no
        turn, no Rasa) before the burst and not timed, as Twilio's would be."""
        clients = [http_client() for _ in range(size)]
        await asyncio.gather(*(fetch(c, "GET", self.gateway_url + "/") for c in clients))
        return clients

    async def bursts(
        self, name: str, group: str, count: int, size: int, interval: float, first_index: int, stall: bool = False
    ) -> Phase:
        """``count`` bursts of ``size`` concurrent webhooks from new residents,
        one every ``interval`` s, not waiting for replies; then every reply.
        With ``stall``, the Rasa server is stopped (SIGSTOP) from before the
        first burst until ``STALL_SECONDS`` later."""
        acks = await self.server.snapshot()
        before = self.cpu.snapshot()
        started_wall = time.time()
        posted: list = []
        rasa = self.stack.service("Rasa server").process
        if stall:
            os.killpg(rasa.pid, signal.SIGSTOP)
        try:
            for b in range(count):
                burst_started = time.perf_counter()
                clients = await self.clients(size)
                calls = []
                for k, client in enumerate(clients):
                    index = first_index + b * size + k
                    number = f"+4670{4 if stall else 3}{index:06d}"
                    calls.append(self._burst_one(client, group, number, *text_for(index)))
                posted += await asyncio.gather(*calls)
                await asyncio.gather(*(c.close() for c in clients))
                if b < count - 1:
                    await asyncio.sleep(max(0.0, interval - (time.perf_counter() - burst_started)))
            if stall:
                await asyncio.sleep(max(0.0, STALL_SECONDS - (time.time() - started_wall)))
        finally:
            if stall:
                os.killpg(rasa.pid, signal.SIGCONT)
        acks = (await self.server.snapshot()) - acks  # before the replies: only the bursts' webhooks
        samples = await asyncio.gather(*(self.reply(*item) for item in posted))
        ends = [s.done_at for s in samples if s.ok and s.done_at]
        seconds = (max(ends) - started_wall) if ends else time.time() - started_wall
        return Phase(name, "sms", list(samples), seconds, CpuMeter.delta(before, self.cpu.snapshot()), acks)

    async def _burst_one(self, client: aiohttp.ClientSession, group: str, number: str, language: str, text: str):
        form, headers = self.webhook(group, number, language, text)
        future = self.watcher.expect(number)
        posted = time.time()
        ack, status, error = await self.post_webhook(client, form, headers)
        if status != 200:
            self.watcher.forget(number)
            future = None
        return Sample("sms", False, ack=ack, status=status, error=error), future, posted, number

    async def control_bursts(self, count: int, size: int) -> dict:
        """The same bursts where the gateway stores nothing and starts no turn:
        an unsigned webhook (form parsing and the signature check, then 403) and
        GET /healthz (liveness: asks nothing of the database or Rasa), with one
        aiohttp session per resident as the bursts; and GET /healthz with one
        httpx client per resident (the bench's client until issue 15), to show
        what that client's own time added."""
        form, headers = self.sign("+46706000000", "hej")
        headers["X-Twilio-Signature"] = "invalid"
        health = self.gateway_url + "/healthz"

        async def timed(request) -> float:
            started = time.perf_counter()
            await request
            return time.perf_counter() - started

        async def httpx_get(client: httpx.AsyncClient) -> None:
            (await client.get(health)).raise_for_status()

        clients = await self.clients(size)
        others = [httpx.AsyncClient(timeout=90) for _ in range(size)]
        result = {}
        try:
            await asyncio.gather(*(c.get(self.gateway_url + "/") for c in others))
            kinds = (
                (
                    "unsigned webhook (403, nothing stored), aiohttp, one session per resident",
                    clients,
                    lambda c: fetch(c, "POST", self.webhook_url, data=form, headers=headers),
                ),
                ("GET /healthz, aiohttp, one session per resident", clients, lambda c: fetch(c, "GET", health)),
                ("GET /healthz, httpx, one client per resident", others, httpx_get),
            )
            for name, targets, send in kinds:
                times = []
                for _ in range(count):
                    times += await asyncio.gather(*(timed(send(c)) for c in targets))
                    await asyncio.sleep(0.5)
                result[name] = dist(times)
        finally:
            await asyncio.gather(*(c.close() for c in clients), *(c.aclose() for c in others))
        return result
