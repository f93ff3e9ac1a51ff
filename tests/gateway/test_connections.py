"""Database connections. The intake stores residents' messages on a connection of its own
(``gateway.db.own_engine``): a webhook is acknowledged while the connection the turns, the
outbox and the inbox hand around is busy (issue 15: under load the database thread took that
connection from job to job, and acknowledgements waited up to a second behind a queue of turns).
A connection the server closed (a restart, a failover) loses nothing: an idle one is tried
before use, and work that met a closed one is written again on a new one."""

import asyncio
import threading
from datetime import timedelta

import psycopg
import pytest
from sqlalchemy import Engine, event, select, text, update
from sqlalchemy.exc import DBAPIError

from gateway import db
from gateway.conversation import Conversations
from gateway.db import session_scope
from gateway.intake import Inbound, Intake, store_now
from gateway.models import Message, Resident, aware, utcnow
from gateway.outbox import Outbox
from tests.conftest import Recorder
from tests.gateway.test_ordering import TEXTS, Rasa, done, store
from tests.gateway.test_ordering import statuses as ordering_statuses
from tests.gateway.test_outbox import queue, statuses
from tests.gateway.test_replica_delivery import on_postgres_only  # noqa: F401  (fixture)
from tests.gateway.test_replicas import postgres_server  # noqa: F401  (fixture)
from tests.gateway.test_store import store_burst


def test_a_message_is_stored_while_the_shared_connection_is_held(settings):
    intake = Intake(db.engine())
    intake.start()
    try:
        # A turn's job holds the process's shared connection (SQLite: the only one of its pool).
        with db.engine().connect() as held:
            held.execute(select(Message.id)).all()
            stored = asyncio.run(
                asyncio.wait_for(intake.store(Inbound("sms", "+46701234567", "jobb", provider_id="SM1")), 10)
            )
    finally:
        intake.stop()
    assert stored is not None
    with session_scope() as session:  # committed: the shared connection sees it
        assert session.get(Message, stored.message_id).body == "jobb"


def test_a_burst_shares_the_intakes_transactions(settings):
    commits = []

    def count(conn) -> None:
        commits.append(conn.engine)

    event.listen(Engine, "commit", count)  # every engine: the intake's is its own
    try:
        stored = store_burst([f"SM{i}" for i in range(50)])
    finally:
        event.remove(Engine, "commit", count)
    assert all(s is not None for s in stored)
    assert 1 <= len(commits) < 10  # 50 messages, a few transactions
    assert db.engine() not in commits  # none of them on the shared connection


def test_a_message_is_stored_while_a_turn_holds_the_residents_row(on_postgres_only):  # noqa: F811
    """A resident writes again while their first turn is under way: that turn has set their language
    and holds their row until it commits; the new message is stored (and acknowledged) meanwhile."""
    first = store_now(db.engine(), Inbound("sms", "+46701239999", "hej", provider_id="SM1"))
    with session_scope() as session:  # last seen long enough ago to be marked seen again
        session.get(Resident, first.resident_id).last_seen_at = utcnow() - timedelta(hours=1)
    with db.engine().connect() as turn:  # the turn's transaction, still open
        turn.execute(update(Resident).where(Resident.id == first.resident_id).values(language="sv"))
        storing = threading.Thread(
            target=store_now, args=(db.engine(), Inbound("sms", "+46701239999", "jobb?", provider_id="SM2"))
        )
        storing.start()
        storing.join(30)  # not a timing: only how long to wait before calling it stuck
        stored_meanwhile = not storing.is_alive()
        turn.rollback()
    storing.join()
    assert stored_meanwhile
    with session_scope() as session:
        assert session.scalars(select(Message.body).where(Message.resident_id == first.resident_id)).all() == [
            "hej",
            "jobb?",
        ]


def test_a_residents_next_message_within_a_minute_leaves_their_row_alone(settings):
    """Marking a resident seen is a write (and on PostgreSQL a lock) for every message; within
    SEEN_EVERY of the last one it is skipped, one round trip fewer in most acknowledgements."""
    first = store_now(db.engine(), Inbound("sms", "+46701234567", "hej", provider_id="SM1"))
    updates = []

    def count(conn, cursor, statement, *args) -> None:
        if statement.lstrip().startswith("UPDATE residents"):
            updates.append(statement)

    event.listen(Engine, "before_cursor_execute", count)
    try:
        again = store_now(db.engine(), Inbound("sms", "+46701234567", "jobb?", provider_id="SM2"))
        within_the_minute = len(updates)
        with session_scope() as session:
            session.get(Resident, first.resident_id).last_seen_at = utcnow() - timedelta(minutes=2)
        updates.clear()  # that was this test's own
        later = store_now(db.engine(), Inbound("sms", "+46701234567", "sfi?", provider_id="SM3"))
    finally:
        event.remove(Engine, "before_cursor_execute", count)
    assert first.resident_id == again.resident_id == later.resident_id
    assert (within_the_minute, len(updates)) == (0, 1)
    with session_scope() as session:
        assert utcnow() - aware(session.get(Resident, first.resident_id).last_seen_at) < timedelta(minutes=1)


def test_the_intake_stores_on_a_new_connection_when_the_server_closed_its_own(on_postgres_only):  # noqa: F811
    """The intake's connection is not tried before each use (a round trip per acknowledgement);
    when PostgreSQL has closed it (a restart, a failover), the batch is written on a new one."""
    intake = Intake(db.engine())
    intake.start()
    try:
        first = asyncio.run(intake.store(Inbound("sms", "+46701234567", "hej", provider_id="SM1")))
        with db.engine().connect() as conn:
            closed = conn.execute(
                text(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                    " WHERE datname = current_database() AND pid <> pg_backend_pid()"
                )
            ).all()
        assert closed  # the intake's connection was among them
        again = asyncio.run(intake.store(Inbound("sms", "+46701234567", "jobb?", provider_id="SM2")))
    finally:
        intake.stop()
    assert first is not None and again is not None
    with session_scope() as session:
        assert session.scalars(select(Message.body).order_by(Message.id)).all() == ["hej", "jobb?"]


def test_on_postgresql_a_burst_from_known_residents_drops_its_duplicates(on_postgres_only):  # noqa: F811
    store_burst([f"SM-first-{i}" for i in range(10)])  # ten residents, known from now on
    stored = store_burst([f"SM{i % 40}" for i in range(50)])
    assert sum(s is not None for s in stored) == 40  # SM0..SM9 came twice
    with session_scope() as session:
        assert session.query(Message).count() == 50
        assert session.query(Resident).count() == 10


def test_on_postgresql_a_known_residents_message_is_one_statement(on_postgres_only):  # noqa: F811
    """No transaction of its own (BEGIN, look up, insert, COMMIT: four round trips, each a wait
    for two processes to be scheduled on a busy machine): one statement, committed as it runs,
    which also marks the resident seen when they were last seen over a minute ago."""
    intake = Intake(db.engine())
    intake.start()
    statements = []

    def count(conn, cursor, statement, *args) -> None:
        statements.append(statement.split()[0])

    try:
        first = asyncio.run(intake.store(Inbound("sms", "+46701234567", "hej", provider_id="SM1")))
        with session_scope() as session:
            resident = session.get(Resident, first.resident_id)
            resident.last_seen_at, resident.language = utcnow() - timedelta(hours=1), "ar"
        media = {"media": 1, "media_types": ["image/jpeg"]}
        event.listen(Engine, "before_cursor_execute", count)
        try:
            again = asyncio.run(intake.store(Inbound("sms", "+46701234567", "jobb?", "SM2", media)))
        finally:
            event.remove(Engine, "before_cursor_execute", count)
        twice = asyncio.run(intake.store(Inbound("sms", "+46701234567", "jobb?", provider_id="SM2")))
    finally:
        intake.stop()
    assert again.resident_id == first.resident_id and twice is None
    assert statements == ["WITH"]
    with session_scope() as session:
        assert utcnow() - aware(session.get(Resident, first.resident_id).last_seen_at) < timedelta(minutes=1)
        stored = session.scalars(select(Message).where(Message.provider_id == "SM2")).one()
        assert (stored.body, stored.direction, stored.status, stored.sender) == ("jobb?", "in", "received", "resident")
        assert (stored.language, stored.extra, stored.resident_id) == ("ar", media, first.resident_id)


def _close_server_connections() -> None:
    """PostgreSQL closes every other connection to this database (a restart, a failover)."""
    with psycopg.connect(db.engine().url.render_as_string(hide_password=False).replace("+psycopg", "")) as conn:
        assert conn.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
            " WHERE datname = current_database() AND pid <> pg_backend_pid()"
        ).fetchall()


def test_a_connection_idle_in_the_pool_is_tried_and_replaced(on_postgres_only, monkeypatch):  # noqa: F811
    """Idle longer than IDLE_PING_SECONDS: tried before use, and replaced when the server closed it."""
    monkeypatch.setattr(db, "IDLE_PING_SECONDS", 0.0)
    with session_scope() as session:
        session.execute(select(Message.id)).all()  # the pool now holds a connection
    _close_server_connections()
    with session_scope() as session:  # not failed on: tried, found closed, replaced
        assert session.execute(select(Message.id)).all() == []


def test_a_connection_back_in_use_at_once_is_not_tried(on_postgres_only, monkeypatch):  # noqa: F811
    """Under load a connection goes back out within milliseconds: no round trip to try it first.
    If the server closed it meanwhile, that one use fails, and the next gets a new connection."""
    monkeypatch.setattr(db, "IDLE_PING_SECONDS", 3600.0)
    pings = []
    real = db.engine().dialect.do_ping
    monkeypatch.setattr(db.engine().dialect, "do_ping", lambda conn: pings.append(1) or real(conn))
    for _ in range(3):
        with session_scope() as session:
            session.execute(select(Message.id)).all()
    assert pings == []
    _close_server_connections()
    with pytest.raises(DBAPIError) as failed, session_scope() as session:
        session.execute(select(Message.id)).all()
    assert failed.value.connection_invalidated
    with session_scope() as session:
        assert session.execute(select(Message.id)).all() == []


def test_the_outbox_records_what_it_sent_when_the_server_closed_its_connection(on_postgres_only, monkeypatch):  # noqa: F811
    """The server closes the outbox's connection while a batch is sent (a restart, a failover): the
    outcome is written on a new connection. Lost, the claim would run out and the SMS go twice."""
    monkeypatch.setattr(db, "IDLE_PING_SECONDS", 3600.0)  # back in use within milliseconds: not tried
    queue("+46700000001", "hej")

    class ClosingSender(Recorder):
        async def send(self, delivery):
            _close_server_connections()
            return await super().send(delivery)

    sender = ClosingSender()
    outbox = Outbox({"sms": sender})
    asyncio.run(outbox.deliver_due())
    assert statuses() == [("hej", "sent", 1)]
    with session_scope() as session:
        session.query(Message).update({"claim_until": utcnow() - timedelta(hours=1)})
    asyncio.run(outbox.deliver_due())
    assert sender.sent == [("+46700000001", "hej")]  # once


def test_a_turn_stores_its_answer_when_the_server_closed_its_connection(on_postgres_only, monkeypatch):  # noqa: F811
    """The server closes the turn's connection while Rasa answers: the answer is stored on a new
    one, at once and once, not asked for again ten seconds later (retry_unanswered)."""
    monkeypatch.setattr(db, "IDLE_PING_SECONDS", 3600.0)

    class ClosingRasa(Rasa):
        async def send(self, *args):
            _close_server_connections()
            return await super().send(*args)

    bot = ClosingRasa()

    async def scenario() -> None:
        turns = Conversations(bot, Outbox({"sms": Recorder()}))
        ((message, resident),) = store("+46701120009", TEXTS[0])
        turns.submit(message, resident)
        await done(turns)

    asyncio.run(scenario())
    assert ordering_statuses() == ["answered"]
    assert sum(len(heard) for heard in bot.heard.values()) == 1
    with session_scope() as session:
        assert session.scalars(select(Message.body).where(Message.direction == "out")).one().startswith("svar:")
