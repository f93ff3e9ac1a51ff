import asyncio
from datetime import timedelta

import pytest
from sqlalchemy import create_engine
from sqlalchemy.exc import OperationalError

from gateway import db
from gateway.db import session_scope
from gateway.erasure import digest
from gateway.intake import Inbound, Intake, store_now
from gateway.models import Message, OptOut, Resident, aware, utcnow
from gateway.store import mask
from tests.gateway.test_replica_delivery import database, on_postgres_only  # noqa: F401  (fixtures)
from tests.gateway.test_replicas import postgres_server  # noqa: F401  (fixture)


def test_a_phone_number_is_never_shown_in_full():
    shown = mask("sms", "+46701234567")
    assert shown.startswith("+467") and shown.endswith("67")
    assert "1234" not in shown and len(shown) == len("+46701234567")
    assert "12345" not in mask("sms", "12345")  # short codes too


def test_web_sessions_are_shown_by_their_last_characters_only():
    assert mask("web", "e23ce4f52be747c7bce243c57039e289") == "web:…e289"


def test_a_resident_is_created_once_per_channel_address(settings):
    first = store_now(db.engine(), Inbound("sms", "+46701234567", "hej"))
    again = store_now(db.engine(), Inbound("sms", "+46701234567", "jobb"))
    other = store_now(db.engine(), Inbound("web", "+46701234567", "hej"))
    assert first.resident_id == again.resident_id != other.resident_id
    assert first.message_id != again.message_id
    with session_scope() as session:
        one, two = session.get(Resident, first.resident_id), session.get(Resident, other.resident_id)
        assert one.pseudonym != two.pseudonym and "4670" not in one.pseudonym


def test_a_provider_id_is_stored_once(settings):
    assert store_now(db.engine(), Inbound("sms", "+46701234567", "jobb", provider_id="SM1")) is not None
    assert store_now(db.engine(), Inbound("sms", "+46701234567", "jobb", provider_id="SM1")) is None
    assert store_now(db.engine(), Inbound("sms", "+46701234567", "jobb igen", provider_id="SM2")) is not None
    with session_scope() as session:
        assert [m.body for m in session.query(Message).order_by(Message.id)] == ["jobb", "jobb igen"]


def store_burst(provider_ids: list[str]) -> list:
    """Messages from ten numbers, one per provider id, stored by one intake all at once."""
    intake = Intake(db.engine())
    intake.start()

    async def burst():
        return await asyncio.gather(
            *(
                intake.store(Inbound("sms", f"+4670000{i % 10:04d}", f"hej {i}", provider_id=sid))
                for i, sid in enumerate(provider_ids)
            )
        )

    try:
        return asyncio.run(burst())
    finally:
        intake.stop()


def test_the_intake_drops_a_bursts_duplicates(settings):
    # That a burst shares a few transactions, on the intake's own connection: test_connections.py.
    stored = store_burst([f"SM{i % 40}" for i in range(50)])
    assert sum(s is not None for s in stored) == 40  # SM0..SM9 came twice
    with session_scope() as session:
        assert session.query(Message).count() == 40
        assert session.query(Resident).count() == 10


def test_the_caller_hears_when_a_message_cannot_be_stored(tmp_path):
    # A database without the tables: the webhook must not acknowledge what is not stored.
    intake = Intake(create_engine(f"sqlite:///{tmp_path / 'empty.db'}"))
    intake.start()
    try:
        with pytest.raises(OperationalError):
            asyncio.run(intake.store(Inbound("sms", "+46701234567", "jobb", provider_id="SM1")))
        with pytest.raises(OperationalError):  # the thread lives on: the next one is tried too
            asyncio.run(intake.store(Inbound("sms", "+46701234567", "jobb igen", provider_id="SM2")))
    finally:
        intake.stop()


def test_a_number_that_said_stop_before_its_erasure_gets_a_new_row_still_opted_out(database):  # noqa: F811
    """The opt-out kept as a digest (gateway.erasure) goes onto the number's new row as it is
    made, and off the list; another number, or the same one on the web, is not opted out."""
    said_stop = utcnow() - timedelta(days=3)
    with session_scope() as session:
        session.add(OptOut(digest=digest("+46701234567"), opted_out_at=said_stop))
    stopped = store_now(db.engine(), Inbound("sms", "+46701234567", "hej", provider_id="SM1"))
    other = store_now(db.engine(), Inbound("sms", "+46701234568", "hej", provider_id="SM2"))
    web = store_now(db.engine(), Inbound("web", "+46701234567", "hej"))
    with session_scope() as session:
        stopped_row = session.get(Resident, stopped.resident_id)
        assert stopped_row.opted_out and aware(stopped_row.opted_out_at) == said_stop
        assert not session.get(Resident, other.resident_id).opted_out
        assert not session.get(Resident, web.resident_id).opted_out
        assert session.query(OptOut).count() == 0
