"""Engine, sessions and migrations for the configured database."""

from __future__ import annotations

import asyncio
import contextvars
import functools
import logging
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import AbstractContextManager, contextmanager
from functools import lru_cache
from pathlib import Path
from typing import TypeVar

from sqlalchemy import Engine, QueuePool, create_engine, event
from sqlalchemy.exc import DBAPIError, DisconnectionError
from sqlalchemy.orm import Session, sessionmaker

from gateway.settings import ROOT, get_settings

T = TypeVar("T")
log = logging.getLogger("hubguide.db")


def make_engine(url: str, pool_size: int | None = None, pre_ping: bool = True) -> Engine:
    """``hide_parameters``: a database error names no bound value (a phone number,
    a resident's words) in its text, so not in a log line either. ``pool_size``:
    connections kept (SQLite: always one; see ``own_engine``). ``pre_ping``: a
    server's connection that waited in the pool over IDLE_PING_SECONDS is tried
    before it is used (``_ping_when_idle``), so one the server closed meanwhile
    is replaced, not failed on."""
    if url.startswith("sqlite"):
        path = url.split("///", 1)[-1]
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        # One connection per engine, handed from thread to thread: SQLite has
        # one writer at a time anyway, and threads that wait for the pool wake
        # the moment it is free, where SQLite's own busy handler sleeps in steps
        # of up to 100 ms (with a connection per thread of a pool, webhook
        # acknowledgements took up to a second). The intake has one more
        # (``own_engine``).
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
            # Each commit is flushed to disk before it returns: an acknowledged message survives a
            # power cut. (NORMAL would skip that flush in WAL mode and could lose the last commits;
            # the intake commits a burst together, so a burst pays one flush, ~2-10 ms here.)
            cursor.execute("PRAGMA synchronous=FULL")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute("PRAGMA busy_timeout=15000")
            cursor.close()

        return engine
    sizes = {} if pool_size is None else {"pool_size": pool_size, "max_overflow": 0}
    engine = create_engine(url, hide_parameters=True, **sizes)
    if pre_ping:
        _ping_when_idle(engine)
    return engine


# A pooled connection idle longer than this is tried before use (see _ping_when_idle).
IDLE_PING_SECONDS = 1.0


def _ping_when_idle(engine: Engine) -> None:
    """SQLAlchemy's ``pool_pre_ping``, but only for a connection that waited in the pool over
    IDLE_PING_SECONDS. pool_pre_ping tries every connection at every checkout: a round trip
    before each transaction, four or five per message (a turn's two transactions, the outbox's),
    each a wait for PostgreSQL's process and the database thread to be scheduled on a busy
    machine. Under load a connection goes back out within milliseconds, and one the server
    closed meanwhile (a restart, a failover) fails that one use: SQLAlchemy then starts the whole
    pool over, and what failed is retried (a turn by retry_unanswered, the outbox at its next
    scan, the intake at once; an inbox page asked at that moment shows an error once). An idle
    connection, the likely one to have been closed, is still tried first. Written here because
    SQLAlchemy has no interval for its pre-ping; the ping is the dialect's own, and
    DisconnectionError is the pool's documented way to replace a connection at checkout."""

    @event.listens_for(engine, "checkin")
    def _returned(_dbapi_connection, record) -> None:
        record.info["returned_at"] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def _checkout(dbapi_connection, record, _proxy) -> None:
        returned = record.info.get("returned_at")
        if returned is None or time.monotonic() - returned < IDLE_PING_SECONDS:
            return  # new, or back in use at once
        try:
            alive = engine.dialect.do_ping(dbapi_connection)
        except engine.dialect.loaded_dbapi.Error as exc:
            if not engine.dialect.is_disconnect(exc, dbapi_connection, None):
                raise
            alive = False
        if not alive:
            raise DisconnectionError("the server closed this connection while it was idle")


@lru_cache
def engine() -> Engine:
    return make_engine(get_settings().sqlalchemy_url)


def own_engine(shared: Engine) -> Engine:
    """A connection of its own on ``shared``'s database, for the intake thread
    (gateway/intake.py), so storing a resident's message never waits for the
    connection the turns, the outbox and the inbox hand around. On SQLite that
    connection goes from one job of the database thread straight to its next,
    before the intake thread, woken when it was free, can take it: the intake
    waited behind a whole queue of turns (up to a second under load,
    bench/sms_load). On a connection of its own it waits only while the other
    connection writes (WAL: reading blocks nobody), and those write transactions
    are a flush and a commit (p90 8 ms, at most ~75 ms for an outbox batch, on
    this 2-core machine under load), so SQLite's busy handler sleeps a few
    short steps at most. A memory database exists on its one connection only:
    ``shared`` itself. Its connection is not tried before each use: that round
    trip was one of seven in each acknowledgement; the intake writes again
    instead when it finds the connection dead (``gateway.intake``)."""
    if shared.url.get_backend_name() == "sqlite" and shared.url.database in (None, "", ":memory:"):
        return shared
    return make_engine(shared.url.render_as_string(hide_password=False), pool_size=1, pre_ping=False)


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
# for the one connection (the intake thread, gateway/intake.py, has its own).
_worker = ThreadPoolExecutor(1, thread_name_prefix="db")

# A job of the database thread waits at most this long for the webhooks being acknowledged.
ACKNOWLEDGEMENTS_FIRST_SECONDS = 0.1


class _Acknowledging:
    """How many webhooks are being acknowledged right now; the database thread
    starts its next job once none is, or after ACKNOWLEDGEMENTS_FIRST_SECONDS.
    A burst of webhooks starts as many turns, whose database work (Python on
    this thread) took the GIL and the disk from the acknowledgements still
    being stored and answered. Measured on this 2-core machine under load,
    bursts of 50 webhooks (SQLite, a stand-in bot): ack p99 149 ms without the
    wait, 99 ms with it; one replica on PostgreSQL at its capacity: p99 304-340
    ms without, 216-232 ms with, and no less throughput. The turns wait a few
    tens of milliseconds; the acknowledgement is what Twilio times. Written
    here: a count and a condition, nothing a library would make smaller."""

    def __init__(self) -> None:
        self._count = 0
        self._none = threading.Condition()

    @contextmanager
    def during(self) -> Iterator[None]:
        with self._none:
            self._count += 1
        try:
            yield
        finally:
            with self._none:
                self._count -= 1
                if not self._count:
                    self._none.notify_all()

    def wait(self) -> None:
        with self._none:
            self._none.wait_for(lambda: not self._count, ACKNOWLEDGEMENTS_FIRST_SECONDS)


_acknowledging = _Acknowledging()


def acknowledging() -> AbstractContextManager[None]:
    """Around a webhook's acknowledgement, on the event loop (gateway/channels/sms.py)."""
    return _acknowledging.during()


def _after_acknowledgements(fn: Callable, *args):
    _acknowledging.wait()
    return fn(*args)


async def run(fn: Callable, *args):
    """``fn(*args)`` on the database thread, once no webhook is being acknowledged (at most
    ACKNOWLEDGEMENTS_FIRST_SECONDS later), in the caller's context (its request id,
    gateway.logs), which ``run_in_executor`` does not carry by itself (``asyncio.to_thread``
    does it this way)."""
    context = contextvars.copy_context()
    job = functools.partial(context.run, _after_acknowledgements, fn, *args)
    return await asyncio.get_running_loop().run_in_executor(_worker, job)


def again_if_closed(fn: Callable[..., T], *args) -> T:
    """``fn(*args)``, and once more, on a new connection, when the server had closed the one it
    got (a restart, a failover: the connection was not tried first, ``_ping_when_idle``). Only
    for work that may safely run twice: a failed try committed nothing, or what it committed
    the second finds done."""
    try:
        return fn(*args)
    except DBAPIError as exc:
        if not exc.connection_invalidated:
            raise
        log.warning("the database closed a connection in use; trying once more on a new one")
    return fn(*args)


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
