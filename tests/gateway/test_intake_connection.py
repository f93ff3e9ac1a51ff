"""The intake stores residents' messages on a database connection of its own
(``gateway.db.own_engine``): a webhook is acknowledged while the connection the
turns, the outbox and the inbox hand around is busy (issue 15: under load the
database thread took that connection from job to job, and acknowledgements
waited up to a second behind a queue of turns)."""

import asyncio
import threading

from sqlalchemy import Engine, event, select, update

from gateway import db
from gateway.db import session_scope
from gateway.intake import Inbound, Intake, store_now
from gateway.models import Message, Resident
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
