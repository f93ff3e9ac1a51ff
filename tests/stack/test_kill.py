"""The kill test: the real cluster (``stack.cluster``: PostgreSQL, Redis, two gateway replicas
behind HAProxy, the Rasa server, the action server) under a steady load of signed SMS through
its load balancer, while one gateway replica, then the Rasa server, then the action server is
killed with SIGKILL and started again. Afterwards nothing is lost, nothing answered twice or out
of order, and the outbox is empty.

The residents write as Twilio posts: each one its next message every ``PERIOD`` seconds whatever
the answers (so messages wait while a part is down), and a webhook that gets no 200 (the replica
died under it, or none was up) is posted again with the same MessageSid, as Twilio retries. Every
text a resident sends is distinct, so the order Rasa answered them in can be read from its tracker
store: a message Rasa took but the gateway could not finish (Rasa or the action server died
mid-turn) is taken again later, so the last time Rasa saw each text is the answer the resident got.

Skipped without Debian's PostgreSQL, Redis and HAProxy (`.ci/run` installs them) or a trained
model. About 2-3 minutes on a quiet 2-core machine, most of it the Rasa server loading its model
twice; everything it waits for is bounded.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import shutil
import signal
import tempfile
import time
import uuid
from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import psycopg
import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from bench.common import Signer
from bench.sms_load.workload import TEXTS
from common.languages import LANGUAGES
from gateway import privacy
from gateway.db import make_engine
from gateway.models import Message, Resident
from gateway.settings import Settings
from stack import model, services_local
from stack.cluster import Cluster
from stack.processes import free_port
from tests.conftest import wait_for

missing = services_local.missing_binaries()
pytestmark = [
    pytest.mark.skipif(
        bool(missing), reason=f"needs Debian's {', '.join(missing)} (apt-get install {' '.join(missing)})"
    ),
    pytest.mark.skipif(not model.MODEL.exists(), reason="no trained model (make train)"),
]

RESIDENTS = 6
PERIOD = 6.0  # seconds between one resident's messages: one a second in all, well below what Rasa answers
WARM = 6.0  # seconds of load before the first kill, and after each part is back
ACK_SECONDS = 60.0  # a webhook is posted again until acknowledged, for this long at most
DRAIN_SECONDS = 120.0  # after the load: the longest wait (Rasa's lock of a killed turn runs out after 60 s)
KILLED = ("gateway 1", "Rasa server", "action server")
IN_FLIGHT = 0.3  # seconds from a burst to the kill: the burst's turns are with the bot then
# Each resident's texts, all distinct (the order check needs that): every language's.
DISTINCT = [said for texts in TEXTS.values() for said in texts]


@dataclass
class Sent:
    number: str
    text: str
    sid: str
    refused: list[str] = field(default_factory=list)  # why each post before the 200 failed


@dataclass
class Load:
    url: str
    signer: Signer
    sent: list[Sent] = field(default_factory=list)
    stop: asyncio.Event = field(default_factory=asyncio.Event)
    nudge: asyncio.Event = field(default_factory=asyncio.Event)

    def burst(self) -> None:
        """Every resident sends their next message now (then goes on every PERIOD from there)."""
        self.nudge.set()
        self.nudge.clear()  # the residents waiting are woken all the same

    async def resident(self, client: httpx.AsyncClient, number: str, offset: float) -> None:
        await asyncio.sleep(offset)  # the residents' messages spread over the period
        for said in DISTINCT:
            if self.stop.is_set():
                return
            sent = Sent(number, said, "SM" + uuid.uuid4().hex)
            await self.post(client, sent)
            self.sent.append(sent)
            with contextlib.suppress(asyncio.TimeoutError):  # a steady load: the next whatever the answer
                await asyncio.wait_for(self.nudge.wait(), PERIOD)

    async def post(self, client: httpx.AsyncClient, sent: Sent) -> None:
        form, headers = self.signer(sent.number, sent.text, sent.sid)
        deadline = time.monotonic() + ACK_SECONDS
        while True:
            try:
                status = (await client.post(self.url, data=form, headers=headers)).status_code
                if status == 200:
                    return
                sent.refused.append(str(status))
            except httpx.HTTPError as exc:  # the replica died under the request
                sent.refused.append(type(exc).__name__)
            assert time.monotonic() < deadline, f"no 200 for {sent.sid} within {ACK_SECONDS:.0f} s"
            await asyncio.sleep(0.5)  # as Twilio retries, a moment later

    async def run(self) -> None:
        async with httpx.AsyncClient(timeout=15) as client:
            await asyncio.gather(
                *(self.resident(client, f"+4670555{n:04d}", n * PERIOD / RESIDENTS) for n in range(RESIDENTS))
            )


def kill_and_restart(cluster: Cluster, name: str) -> float:
    """SIGKILL to the service's whole process group, then started again; seconds it was away."""
    service = cluster.service(name)
    assert service.process is not None and service.process.poll() is None, f"the {name} is not running"
    killed = time.monotonic()
    os.killpg(service.process.pid, signal.SIGKILL)
    service.process.wait(30)
    cluster.restart(name)
    return time.monotonic() - killed


def faults(
    cluster: Cluster, burst: Callable[[], None], started: float, timings: dict[str, tuple[float, float]]
) -> None:
    """In a thread, while the load runs: each part killed and back in turn (when, and for how long),
    a moment after a burst of messages, so that it dies with turns under way."""
    time.sleep(WARM)
    for name in KILLED:
        burst()
        time.sleep(IN_FLIGHT)
        timings[name] = (time.monotonic() - started, kill_and_restart(cluster, name))
        time.sleep(WARM)  # the load goes on with the part back


@pytest.fixture
def cluster():
    data = Path(tempfile.mkdtemp(prefix="hubguide-kill-"))  # under /tmp: PostgreSQL's own user must reach it
    data.chmod(0o755)
    shutil.copyfile(model.MODEL, data / "model.tar.gz")  # another `make train` may replace the model meanwhile
    port = free_port()
    settings = Settings(
        _env_file=None,
        app_env="test",
        data_dir=data,
        database_url="",
        redis_url="",
        tracker_store_url="",
        gateway_port=port,
        public_base_url=f"http://127.0.0.1:{port}",
        rasa_port=free_port(),
        action_port=free_port(),
        twilio_account_sid="",  # dry-run: replies are recorded, not sent
        log_level="WARNING",
    )
    running = Cluster(settings, replicas=2, model_path=data / "model.tar.gz")
    try:
        running.start()
        yield running
    finally:
        running.stop()
        shutil.rmtree(data, ignore_errors=True)


def test_nothing_is_lost_duplicated_or_reordered_when_a_replica_rasa_and_the_action_server_are_killed(cluster):
    started = time.monotonic()
    load = Load(cluster.url + "/sms/webhook", Signer(cluster.settings))
    timings: dict[str, tuple[float, float]] = {}

    async def under_faults() -> None:
        sending, loop = asyncio.create_task(load.run()), asyncio.get_running_loop()
        try:
            await asyncio.to_thread(faults, cluster, lambda: loop.call_soon_threadsafe(load.burst), started, timings)
        finally:
            load.stop.set()
            await sending

    asyncio.run(under_faults())
    loaded = time.monotonic()
    engine = make_engine(cluster.env["DATABASE_URL"])
    try:
        drain = Drain(engine, started)
        try:
            wait_for(drain.done, timeout=DRAIN_SECONDS)
        except AssertionError:
            raise AssertionError(f"still waiting after {DRAIN_SECONDS:.0f} s ({drain})") from None
        drained = time.monotonic()
        inbound, outbound, pseudonyms = rows(engine)
    finally:
        engine.dispose()
    tracker = tracker_texts(cluster.env["TRACKER_STORE_URL"])
    print(
        f"\nkill test: {len(load.sent)} messages from {RESIDENTS} residents, "
        f"webhooks posted again: {dict(Counter(why for s in load.sent for why in s.refused))}; killed at (away for) "
        + ", ".join(f"{name} {at:.0f} s ({away:.0f} s)" for name, (at, away) in timings.items())
        + f"; load until {loaded - started:.0f} s, drained {drained - loaded:.0f} s later; Rasa took "
        f"{sum(len(t) for t in tracker.values()) - len(load.sent)} message(s) again; waiting: {drain}"
    )

    assert set(timings) == set(KILLED)
    # Nothing lost: every message acknowledged is stored once, and answered by the bot.
    stored = [m.provider_id for m in inbound]
    assert sorted(stored) == sorted(s.sid for s in load.sent)
    assert {m.status for m in inbound} == {"answered"}
    # None answered twice: one reply from the bot per message (a privacy notice sent as an SMS of
    # its own, before a long reply, is not one).
    notices = {privacy.notice(language, cluster.settings) for language in LANGUAGES}
    replies = defaultdict(int)
    for m in outbound:
        if m.sender == "bot" and m.body not in notices:
            replies[m.resident_id] += 1
    asked = defaultdict(int)
    for m in inbound:
        asked[m.resident_id] += 1
    assert replies == asked
    # The outbox drained, each resident's replies delivered in the order they were queued.
    # Each sent once: a dry-run send never fails, so a second attempt would be a second send.
    assert {(m.status, m.attempts, m.claimed_by) for m in outbound} == {("dry_run", 1, None)}
    for resident in asked:
        delivered = [m.sent_at for m in outbound if m.resident_id == resident]
        assert delivered == sorted(delivered)
    # None out of order: Rasa answered each resident's texts in the order they were sent.
    for number in {s.number for s in load.sent}:
        said = [s.text for s in load.sent if s.number == number]
        seen = tracker[pseudonyms[number]]
        assert set(seen) == set(said)
        last = {text: at for at, text in enumerate(seen)}  # the last time Rasa took each text
        assert sorted(said, key=last.__getitem__) == said, f"answered out of order for {number[-4:]}"


class Drain:
    """What still waits, read from the database until nothing does; how it went down (seconds
    from the start), for the report and a failure's message."""

    WAITING = ((Message.direction == "in") & Message.status.in_(("received", "bot_unavailable"))) | (
        (Message.direction == "out") & (Message.status == "queued")
    )

    def __init__(self, engine, started: float) -> None:
        self.engine, self.started, self.seen = engine, started, []

    def done(self) -> bool:
        with Session(self.engine) as session:
            counts = session.execute(
                select(Message.direction, Message.status, func.count())
                .where(self.WAITING)
                .group_by(Message.direction, Message.status)
            ).all()
        now = ", ".join(f"{count} {direction} {status}" for direction, status, count in counts) or "nothing"
        at = time.monotonic() - self.started
        if not self.seen or (self.seen[-1][1] != now and (at - self.seen[-1][0] >= 5 or not counts)):
            self.seen.append((at, now))  # every 5 s at most, and the end
        return not counts

    def __str__(self) -> str:
        return "; ".join(f"{at:.0f} s: {what}" for at, what in self.seen)


def rows(engine) -> tuple[list, list, dict[str, str]]:
    """Inbound and outbound messages, oldest first, and each resident's pseudonym by number."""
    with Session(engine) as session:
        inbound = session.execute(
            select(Message.id, Message.resident_id, Message.provider_id, Message.status)
            .where(Message.direction == "in")
            .order_by(Message.id)
        ).all()
        outbound = session.execute(
            select(
                Message.id,
                Message.resident_id,
                Message.sender,
                Message.body,
                Message.status,
                Message.sent_at,
                Message.attempts,
                Message.claimed_by,
            )
            .where(Message.direction == "out")
            .order_by(Message.id)
        ).all()
        pseudonyms = dict(session.execute(select(Resident.address, Resident.pseudonym)).tuples().all())
    return list(inbound), list(outbound), pseudonyms


def tracker_texts(url: str) -> dict[str, list[str]]:
    """Each conversation's user texts in the order Rasa's tracker store recorded them."""
    texts: dict[str, list[str]] = defaultdict(list)
    with psycopg.connect(url) as conn:
        for sender, data in conn.execute("SELECT sender_id, data FROM events WHERE type_name = 'user' ORDER BY id"):
            texts[sender].append(json.loads(data).get("text"))
    return texts
