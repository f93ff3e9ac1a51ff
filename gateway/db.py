"""Engine, sessions and migrations for the configured database."""

from __future__ import annotations

import asyncio
import contextvars
import functools
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from functools import lru_cache
from pathlib import Path

from sqlalchemy import Engine, QueuePool, create_engine, event
from sqlalchemy.orm import Session, sessionmaker

from gateway.settings import ROOT, get_settings


def make_engine(url: str) -> Engine:
    """``hide_parameters``: a database error names no bound value (a phone number,
    a resident's words) in its text, so not in a log line either."""
    if url.startswith("sqlite"):
        path = url.split("///", 1)[-1]
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        # One connection per process, handed from thread to thread: SQLite has
        # one writer at a time anyway, and threads that wait for the pool wake
        # the moment it is free, where SQLite's own busy handler sleeps in steps
        # of up to 100 ms (which made webhook acknowledgements take a second).
        engine = create_engine(
            url,
            connect_args={"timeout": 15, "check_same_thread": False},
            hide_parameters=True,
            poolclass=QueuePool,
            pool_size=1,
            max_overflow=0,
            pool_timeout=30,
        )

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_connection, _record):  # pragma: no cover - trivial
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute("PRAGMA busy_timeout=15000")
            cursor.close()

        return engine
    return create_engine(url, pool_pre_ping=True, hide_parameters=True)


@lru_cache
def engine() -> Engine:
    return make_engine(get_settings().sqlalchemy_url)


@lru_cache
def _session_factory() -> sessionmaker[Session]:
    return sessionmaker(engine(), expire_on_commit=False)


@contextmanager
def session_scope() -> Iterator[Session]:
    """A session that commits on success and rolls back on error."""
    session = _session_factory()()
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


# The gateway's database work (turns, outbox, callbacks) runs here, one piece
# at a time and in the order asked, off the event loop. SQLite writes one
# transaction at a time anyway; more threads only add hand-offs and contention
# with the intake thread (gateway/intake.py) for the one connection.
_worker = ThreadPoolExecutor(1, thread_name_prefix="db")


async def run(fn: Callable, *args):
    """``fn(*args)`` on the database thread, in the caller's context (its request id, gateway.logs),
    which ``run_in_executor`` does not carry by itself (``asyncio.to_thread`` does it this way)."""
    context = contextvars.copy_context()
    return await asyncio.get_running_loop().run_in_executor(_worker, functools.partial(context.run, fn, *args))


async def in_session(fn: Callable, *args):
    """``fn(session, *args)`` in one ``session_scope()`` (one transaction) on the database thread."""

    def work():
        with session_scope() as session:
            return fn(session, *args)

    return await run(work)


def alembic_config(url: str | None = None):
    from alembic.config import Config

    config = Config(str(ROOT / "alembic.ini"))
    config.set_main_option("script_location", str(Path(__file__).with_name("migrations")))
    config.set_main_option("sqlalchemy.url", url or get_settings().sqlalchemy_url)
    return config


def migrate(url: str | None = None) -> None:
    """Bring the database to the newest migration (creates a SQLite file)."""
    from alembic import command

    target = url or get_settings().sqlalchemy_url
    if target.startswith("sqlite:///"):
        Path(target.split("///", 1)[1]).parent.mkdir(parents=True, exist_ok=True)
    command.upgrade(alembic_config(target), "head")
