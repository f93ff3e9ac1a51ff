"""The statistics' tests on both databases the gateway runs on: ``database`` is a migrated gateway
database and a tracker store (Rasa's ``events`` table), SQLite files or, where a PostgreSQL server
is installed, two databases on a throw-away one (bench/postgres.py) shared by the module's tests.

A test module names it among its plugins: ``pytest_plugins = ["tests.gateway.inbox.stats_databases"]``."""

from __future__ import annotations

import itertools

import pytest
from sqlalchemy import create_engine, text

from bench.postgres import pg_bin, postgres
from bench.stats_load import EVENTS
from gateway import db, store
from gateway.db import session_scope
from gateway.erasure import app_url
from gateway.inbox import stats_counts
from gateway.settings import get_settings
from stack.processes import free_port
from tests.conftest import reset_caches

_names = itertools.count()


@pytest.fixture(scope="module")
def postgres_server():
    if pg_bin() is None:
        pytest.skip("no PostgreSQL server installed (apt-get install postgresql)")
    with postgres() as urls:
        yield urls["postgres"]


@pytest.fixture(params=["sqlite", "postgresql"])
def database(request, tmp_path, monkeypatch):
    """Settings for a gateway on a fresh database of the kind; hubs synced, an empty tracker store."""
    gateway_url, tracker_url = f"sqlite:///{tmp_path / 'hubguide.db'}", f"sqlite:///{tmp_path / 'rasa_tracker.db'}"
    if request.param == "postgresql":
        server = request.getfixturevalue("postgres_server")
        n = next(_names)
        admin = create_engine(server, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text(f"CREATE DATABASE hubguide_{n}"))
            conn.execute(text(f"CREATE DATABASE tracker_{n}"))
        admin.dispose()
        base = server.rsplit("/", 1)[0]
        gateway_url, tracker_url = f"{base}/hubguide_{n}", f"{base}/tracker_{n}"
    for name, value in {
        "APP_ENV": "test",
        "DATA_DIR": str(tmp_path),
        "DATABASE_URL": gateway_url,
        "TRACKER_STORE_URL": tracker_url,
        "RASA_URL": f"http://127.0.0.1:{free_port()}",
        "TWILIO_ACCOUNT_SID": "",
        "PUBLIC_BASE_URL": "https://hubguide.example.org",
    }.items():
        monkeypatch.setenv(name, value)
    reset_caches()
    db.migrate()
    with session_scope() as session:
        store.sync_hubs(session)
    tracker = create_engine(app_url(tracker_url))
    EVENTS.create(tracker)
    tracker.dispose()
    yield get_settings()
    db.engine().dispose()
    stats_counts.tracker_engine(get_settings().tracker_store_sqlalchemy_url).dispose()
    reset_caches()
