"""Shared fixtures: every test gets its own SQLite database in a temporary
directory, migrated with the real Alembic migrations; the gateway runs in
process with its real collaborators, or with stand-ins handed in
(gateway/services.py) for the parts that cannot run in a test."""

from __future__ import annotations

import threading
import time
from contextlib import contextmanager

import pytest

from gateway import db
from gateway.rasa_client import BotReply
from gateway.settings import get_settings
from stack.processes import free_port


def reset_caches() -> None:
    get_settings.cache_clear()
    db.engine.cache_clear()
    db._session_factory.cache_clear()


@pytest.fixture
def settings(tmp_path, monkeypatch):
    """Settings for an isolated gateway whose Rasa server is not running."""
    monkeypatch.setenv("APP_ENV", "test")
    monkeypatch.setenv("DATA_DIR", str(tmp_path))
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'hubguide.db'}")
    monkeypatch.setenv("RASA_URL", f"http://127.0.0.1:{free_port()}")  # nothing listens there
    monkeypatch.setenv("TWILIO_ACCOUNT_SID", "")
    monkeypatch.setenv("PUBLIC_BASE_URL", "https://hubguide.example.org")
    reset_caches()
    db.migrate()
    yield get_settings()
    if db.engine.cache_info().currsize:
        db.engine().dispose()
    reset_caches()


def wait_for(predicate, timeout: float = 30.0, what: str = "condition"):
    """Poll an effect of another process or thread (a database row) until it shows, or fail."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = predicate()
        if result:
            return result
        time.sleep(0.05)
    raise AssertionError(f"timed out after {timeout} s waiting for {what}")


def resident(session, channel: str, address: str):
    """The resident behind a channel address, created if new (as gateway.intake does)."""
    from sqlalchemy import select

    from gateway.models import Resident

    found = session.scalars(select(Resident).where(Resident.channel == channel, Resident.address == address)).first()
    if found is None:
        found = Resident(channel=channel, address=address)
        session.add(found)
        session.flush()
    return found


class CannedRasa:
    """Stands in for the Rasa server where no trained model runs: ``answer`` gives
    the replies to what the resident said; ``heard`` keeps each turn it was sent."""

    def __init__(self, answer=lambda said: [BotReply("Hej! Vad kan jag hjälpa dig med?")]) -> None:
        self.answer, self.heard, self.closed = answer, [], False

    async def send(self, conversation_id: str, text: str, metadata: dict) -> list[BotReply]:
        self.heard.append((text, metadata))
        return self.answer(text)

    async def ready(self) -> bool:
        return True

    async def close(self) -> None:
        self.closed = True


class Recorder:
    """An outbox sender that records what it sends, where Twilio cannot run;
    ``failures`` are raised first, one an attempt."""

    def __init__(self, failures=()) -> None:
        self.sent, self.failures = [], list(failures)
        self.delivered = threading.Event()  # set at each send, for a test on another thread

    async def send(self, delivery):
        if self.failures:
            raise self.failures.pop(0)
        self.sent.append((delivery.address, delivery.body))
        self.delivered.set()
        return "sent", f"SM{len(self.sent)}"


@contextmanager
def running(settings, services=None, base_url: str = "http://testserver"):
    """The real gateway app in process, with ``services`` (``gateway.services.build(settings,
    rasa=..., sms=...)``) or the real ones; ``client.state`` is the app's state."""
    from fastapi.testclient import TestClient

    from gateway.app import create_app

    app = create_app(settings, services)
    with TestClient(app, base_url=base_url) as client:
        client.state = app.other_asgi_app.state
        yield client


@pytest.fixture
def gateway(settings):
    """The real gateway with its real collaborators; the Rasa server is not running."""
    with running(settings) as client:
        yield client
