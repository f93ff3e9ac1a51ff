"""Shared fixtures: every test gets its own SQLite database in a temporary
directory, migrated with the real Alembic migrations."""
from __future__ import annotations

import time

import pytest

from gateway import db
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


@pytest.fixture
def gateway(settings):
    """The real gateway app in process (Rasa not running unless a test starts it);
    ``client.state`` is the app's state: its conversations, outbox and events."""
    from fastapi.testclient import TestClient

    from gateway.app import create_app

    app = create_app(settings)
    with TestClient(app) as client:
        client.state = app.other_asgi_app.state
        yield client
