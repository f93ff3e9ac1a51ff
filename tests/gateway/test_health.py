"""/healthz and /readyz, for the load balancer (gateway/health.py)."""

from __future__ import annotations

import asyncio
import re
import threading

from alembic import command
from alembic.script import ScriptDirectory
from fastapi.testclient import TestClient

from gateway import db, health
from gateway.app import create_app
from gateway.health import check_database
from gateway.services import build
from gateway.settings import ROOT
from stack.processes import free_port
from tests.conftest import CannedRasa, running


def test_a_running_gateway_is_live_and_ready_while_rasa_is_down(gateway):
    """Rasa is not running here: messages are kept and answered when it is back, so the
    gateway stays in the load balancer."""
    assert gateway.get("/healthz").json() == {"status": "ok"}
    ready = gateway.get("/readyz")
    assert ready.status_code == 200
    assert ready.json() == {
        "status": "ready",
        "serving": "yes",
        "database": "ok",
        "migrations": "at head",
        "bot": "unavailable",
    }


def test_ready_says_when_the_bot_answers(settings):
    with running(settings, build(settings, rasa=CannedRasa())) as gateway:
        assert gateway.get("/readyz").json()["bot"] == "ready"


def test_a_gateway_that_has_not_started_is_live_but_not_ready(settings):
    client = TestClient(create_app(settings, build(settings, rasa=CannedRasa())))  # no `with`: no lifespan
    assert client.get("/healthz").status_code == 200
    not_ready = client.get("/readyz")
    assert not_ready.status_code == 503
    assert not_ready.json()["serving"] == "no"


def test_a_database_behind_the_code_makes_the_gateway_not_ready(settings):
    config = db.alembic_config()
    previous = ScriptDirectory.from_config(config).get_revision("head").down_revision
    assert isinstance(previous, str)
    command.stamp(config, previous, purge=True)  # as if the newest migration had not been run
    with running(settings) as gateway:
        answer = gateway.get("/readyz")
    assert answer.status_code == 503
    assert answer.json()["migrations"] == "not at head"
    assert answer.json()["database"] == "ok"


def test_an_unreachable_database_is_not_ready():
    engine = db.make_engine(f"postgresql+psycopg://nobody:nothing@127.0.0.1:{free_port()}/none")
    try:
        assert check_database(engine) == {"database": "unreachable", "migrations": "unknown"}
    finally:
        engine.dispose()


def test_a_database_at_head_is_ready(settings):
    assert check_database(db.engine()) == {"database": "ok", "migrations": "at head"}


class SilentRasa(CannedRasa):
    """A Rasa server that accepts the readiness question and never answers; ``asked`` is set
    the moment it is asked."""

    def __init__(self) -> None:
        super().__init__()
        self.asked = threading.Event()

    async def ready(self) -> bool:
        self.asked.set()
        await asyncio.Event().wait()
        return True


def test_a_silent_rasa_leaves_the_gateway_ready_and_is_asked_while_the_database_is(settings, monkeypatch):
    """The database check waits until the bot has been asked: asked one after the other, the
    database check would time out first and the answer would be 503."""
    rasa = SilentRasa()

    def database_once_the_bot_is_asked(engine):
        assert rasa.asked.wait(5), "the bot was not asked while the database was"
        return check_database(engine)

    monkeypatch.setattr(health, "check_database", database_once_the_bot_is_asked)
    monkeypatch.setattr(health, "CHECK_SECONDS", 1.0)
    with running(settings, build(settings, rasa=rasa)) as gateway:
        answer = gateway.get("/readyz")
    assert answer.status_code == 200
    assert answer.json()["database"] == "ok" and answer.json()["bot"] == "unavailable"


def test_readiness_answers_within_the_load_balancers_check_timeout():
    """Each check is bounded by CHECK_SECONDS and they run at once, so HAProxy's `timeout check`
    must leave room for one of them."""
    config = (ROOT / "stack" / "haproxy.cfg").read_text(encoding="utf-8")
    seconds = float(re.search(r"timeout check (\d+)s", config).group(1))
    assert health.CHECK_SECONDS < seconds
