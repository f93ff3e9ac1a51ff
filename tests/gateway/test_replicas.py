"""Two gateway replicas sharing a real Redis (and a database): what one counts, raises or
sends reaches the other. Each replica is the real app (uvicorn on its own event loop in a
thread, or TestClient), with a stand-in for the Rasa server; Redis is Debian's redis-server
on a free port, PostgreSQL Debian's, started here. Skipped, saying why, without them."""

from __future__ import annotations

import asyncio
import shutil
import tempfile
import threading
import uuid
from pathlib import Path

import pytest
import socketio
import uvicorn
from sqlalchemy import select

from gateway import db
from gateway.app import create_app
from gateway.channels.rooms import ANSWER_SECONDS
from gateway.db import session_scope
from gateway.events import Event, RedisBus
from gateway.inbox import security, throttles
from gateway.inbox.security import COOKIE
from gateway.inbox.throttles import RedisGates
from gateway.models import Handoff
from gateway.services import build
from stack import services_local
from stack.processes import free_port
from tests.conftest import CannedRasa, Recorder, reset_caches, running, wait_for
from tests.gateway.channels.test_web import Tab
from tests.gateway.inbox.conftest import Browser, Sse, add_coordinator, sign_in
from tests.gateway.inbox.test_live import answer, browser, text_in

needs_redis = pytest.mark.skipif(
    "redis-server" in services_local.missing_binaries(),
    reason="no Redis server installed (apt-get install redis-server)",
)
pytestmark = needs_redis


@pytest.fixture(scope="module")
def redis_server():
    folder = Path(tempfile.mkdtemp(prefix="hubguide-redis-"))
    with services_local.serving(services_local.redis_server(folder, free_port(), folder / "redis.log")) as server:
        yield server.health_url
    shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture
def redis_url(redis_server):
    import redis

    client = redis.Redis.from_url(redis_server)
    client.flushall()  # each test counts from nothing
    client.close()
    return redis_server


@pytest.fixture
def shared(settings, redis_url):
    """The settings every replica has: one database, one Redis."""
    return settings.model_copy(update={"redis_url": redis_url})


class Replica:
    """The real gateway app served by uvicorn on its own event loop, in a thread."""

    def __init__(self, settings, port: int) -> None:
        self.services = build(settings, rasa=CannedRasa(answer), sms=Recorder())
        self.base = f"http://127.0.0.1:{port}"
        self.server = uvicorn.Server(
            uvicorn.Config(
                create_app(settings, self.services),
                host="127.0.0.1",
                port=port,
                log_level="warning",
                timeout_graceful_shutdown=2,  # an open event stream does not hold the stop
            )
        )
        self.loop: asyncio.AbstractEventLoop | None = None
        self.thread = threading.Thread(target=asyncio.run, args=(self._serve(),), daemon=True)
        self.thread.start()
        wait_for(lambda: self.server.started, timeout=60, what="a replica to start")

    async def _serve(self) -> None:
        self.loop = asyncio.get_running_loop()
        await self.server.serve()

    def run(self, coroutine, timeout: float = 10):
        """``coroutine`` on this replica's event loop; its result."""
        return asyncio.run_coroutine_threadsafe(coroutine, self.loop).result(timeout)

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(10)
        assert not self.thread.is_alive(), "a replica did not stop"


@pytest.fixture
def replicas(shared):
    """Two replicas behind one public address (the first one's, as a load balancer's would be)."""
    ports = free_port(), free_port()
    shared.public_base_url = f"http://127.0.0.1:{ports[0]}"
    started = [Replica(shared, port) for port in ports]
    yield started
    for replica in started:
        replica.stop()


# --- rate limits ----------------------------------------------------------------------------------


def test_the_web_chats_address_limit_is_counted_across_replicas(shared, replicas):
    one, other = replicas
    shared.web_chat_address_limit = "3/minute"  # each connection counts once
    origin = shared.public_base_url
    tabs = [Tab(one.base, origin), Tab(other.base, origin), Tab(one.base, origin)]  # 2 on one, 1 on the other
    try:
        with pytest.raises(socketio.exceptions.ConnectionError):
            Tab(other.base, origin)  # the other had counted 1 of 3 by itself: refused only if counted together
    finally:
        for tab in tabs:
            tab.close()


def test_sign_in_attempts_from_one_address_are_counted_across_replicas(shared, monkeypatch):
    monkeypatch.setattr(security, "HASHER", security.PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1))
    monkeypatch.setattr(throttles, "IP_FAILURES", 4)  # read when the limits are made, by each app
    with running(shared, base_url="https://testserver") as one, running(shared, base_url="https://testserver") as other:
        for n, replica in enumerate((one, other, one, other)):
            assert sign_in(replica, f"nobody{n}@hub.example", "wrong").status_code == 401
        assert sign_in(one, "nobody5@hub.example", "wrong").status_code == 429  # the 3rd here, the 5th in all


def test_one_sign_in_check_per_email_at_a_time_across_replicas(redis_url):
    async def scenario() -> list[str]:
        one, other, steps = RedisGates(redis_url), RedisGates(redis_url), []
        inside = asyncio.Event()

        async def first():
            async with one.one_at_a_time("ana@hub.example"):
                steps.append("one in")
                inside.set()
                await asyncio.sleep(0.2)  # holding the gate while the other replica asks for it
                steps.append("one out")

        async def second():
            await inside.wait()
            async with other.one_at_a_time("ana@hub.example"):
                steps.append("other in")

        await asyncio.gather(first(), second())
        await one.redis.aclose()
        await other.redis.aclose()
        return steps

    assert asyncio.run(scenario()) == ["one in", "one out", "other in"]


# --- live events ----------------------------------------------------------------------------------


def test_an_event_raised_on_one_replica_reaches_a_stream_on_the_other(shared, replicas):
    one, other = replicas
    add_coordinator("ana@hjallbo.example", hub="hjallbo", name="Ana")
    ana = browser(other.base, "ana@hjallbo.example")
    other.run(other.services.events.subscribed.wait())
    stream = Sse(other.base + "/inbox/events", ana.cookies)  # connected to the other replica
    try:
        text_in(one.base, shared, "+46701230000", "jag vill prata med en koordinator")  # the SMS lands on one
        stream.expect("handoff_created")
        with session_scope() as session:
            assert session.scalars(select(Handoff)).one().hub.slug == "hjallbo"
    finally:
        stream.close()
        ana.close()


def test_the_bus_hands_its_own_events_out_once_and_the_others_in(redis_url):
    async def scenario() -> tuple[list[str], list[str]]:
        one, other = RedisBus(redis_url), RedisBus(redis_url)
        tasks = [asyncio.create_task(bus.run()) for bus in (one, other)]
        await one.subscribed.wait()
        await other.subscribed.wait()
        with one.listen() as mine, other.listen() as theirs:
            one.publish(Event("handoff_created", 1, {"handoff": 7}))
            one.publish(Event("handoff_updated", 1, {"handoff": 7}))
            got_theirs = [(await theirs.get()).kind for _ in range(2)]
            other.publish(Event("message_in", 1, {"handoff": 7}))
            got_mine = [(await mine.get()).kind for _ in range(3)]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        return got_mine, got_theirs

    mine, theirs = asyncio.run(scenario())
    assert theirs == ["handoff_created", "handoff_updated"]  # in the order published
    assert mine == ["handoff_created", "handoff_updated", "message_in"]  # its own once, not again from Redis


# --- web chat replies -----------------------------------------------------------------------------


def test_a_web_chat_reply_emitted_on_one_replica_reaches_a_socket_on_the_other(shared, replicas):
    one, other = replicas
    for replica in replicas:  # each listens to the others on socket.io's channel
        wait_for(lambda r=replica: r.services.web.rooms.pubsub is not None and r.services.web.rooms.pubsub.subscribed)
    tab = Tab(other.base, shared.public_base_url)
    try:
        session_id = tab.start()
        assert one.run(one.services.web.rooms.reach("bot_uttered", {"text": "Hej från en annan replik"}, session_id))
        assert tab.reply() == "Hej från en annan replik"
        # Nobody in a room: every replica says so, and the answer comes without waiting out the timeout.
        started = one.loop.time()
        assert not one.run(one.services.web.rooms.reach("bot_uttered", {"text": "?"}, "nobody-here"))
        assert one.loop.time() - started < ANSWER_SECONDS
    finally:
        tab.close()


# --- sessions -------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def postgres_server():
    if services_local.postgres_bin() is None:
        pytest.skip("no PostgreSQL server installed (apt-get install postgresql)")
    folder = Path(tempfile.mkdtemp(prefix="hubguide-pg-"))  # under /tmp: PostgreSQL's own user must reach it
    services_local.initdb_once(folder, folder / "postgres.log")
    with services_local.serving(services_local.postgres(folder, free_port(), folder / "postgres.log")) as server:
        yield server.health_url
    shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture
def on_postgres(shared, postgres_server, monkeypatch):
    """``shared`` on a fresh, migrated PostgreSQL database."""
    import psycopg

    name = f"test_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(postgres_server.replace("+psycopg", "") + "/postgres", autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    url = f"{postgres_server}/{name}"
    monkeypatch.setenv("DATABASE_URL", url)
    db.engine().dispose()
    reset_caches()
    db.migrate(url)
    yield shared.model_copy(update={"database_url": url})
    db.engine().dispose()
    reset_caches()


def test_a_copied_cookie_dies_everywhere_at_sign_out_on_postgresql_and_redis(on_postgres, monkeypatch):
    monkeypatch.setattr(security, "HASHER", security.PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1))
    with (
        running(on_postgres, base_url="https://testserver") as one,
        running(on_postgres, base_url="https://testserver") as other,
    ):
        add_coordinator("ana@hub.example")
        ana = Browser(one, "ana@hub.example")
        other.cookies.set(COOKIE, ana.cookies.get(COOKIE))
        assert other.get("/api/me").status_code == 200  # the copy works on the other replica...
        assert ana.form("/inbox/logout").status_code == 303
        assert other.get("/api/me").status_code == 401  # ... until the owner signs out on the first


def test_the_gateway_refuses_a_redis_url_it_cannot_use(settings):
    with pytest.raises(ValueError, match="REDIS_URL"):
        settings.model_validate({**settings.model_dump(), "redis_url": "http://127.0.0.1:6379"})
