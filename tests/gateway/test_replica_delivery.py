"""Several gateway replicas on one database: the outbox's claims (no message sent twice, each
recipient's in order, a dead replica's claims taken over) and the webhook's dedupe (one Twilio
MessageSid posted to two replicas at the same moment: stored and answered once, 200 to both).

The claims run on SQLite (``make run``) and PostgreSQL; the races on PostgreSQL (and Redis),
Debian's, started here (skipped, saying why, without them). A race is made certain, not likely: both
replicas are held where each has read what the other is about to change."""

from __future__ import annotations

import asyncio
import itertools
import threading
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from datetime import timedelta

import psycopg
import pytest
from sqlalchemy import Engine, event, insert, select, text, update

from gateway import db
from gateway import outbox as outbox_module
from gateway.db import session_scope
from gateway.intake import Inbound, store_now
from gateway.intake import _write as intake_write  # one batch, as the intake thread writes it
from gateway.metrics import age
from gateway.models import Message, Resident, new_pseudonym, utcnow
from gateway.outbox import Outbox, Outcome
from gateway.services import build
from gateway.settings import get_settings
from tests.conftest import CannedRasa, Recorder, reset_caches, running, wait_for
from tests.gateway.channels.test_sms import NUMBER, sign, sms
from tests.gateway.test_outbox import queue
from tests.gateway.test_replicas import needs_redis, postgres_server, redis_server, redis_url  # noqa: F401  (fixtures)

OTHER = "+46701111111"


@pytest.fixture
def on_postgres_only(settings, postgres_server, monkeypatch):  # noqa: F811
    """``settings`` on a fresh, migrated PostgreSQL database (this process's sessions too)."""
    name = f"test_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(postgres_server.replace("+psycopg", "") + "/postgres", autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    monkeypatch.setenv("DATABASE_URL", f"{postgres_server}/{name}")
    db.engine().dispose()
    reset_caches()
    db.migrate()
    yield get_settings()
    db.engine().dispose()
    reset_caches()


@pytest.fixture(params=["sqlite", "postgresql"])
def database(request, settings):
    """The gateway's database, each kind in turn."""
    return request.getfixturevalue("on_postgres_only") if request.param == "postgresql" else settings


@contextmanager
def side_by_side(statement: str, after: bool = False) -> Iterator[None]:
    """The first two statements on any of this process's engines (the intakes' own too) that start
    with ``statement`` wait for each other, before they run (or once they ran, with ``after``): two
    replicas' transactions at the same point at the same moment."""
    meet, count = threading.Barrier(2, timeout=30), itertools.count()

    def wait(conn, cursor, sql, *args) -> None:
        if sql.lstrip().startswith(statement) and next(count) < 2:
            meet.wait()

    name = "after_cursor_execute" if after else "before_cursor_execute"
    event.listen(Engine, name, wait)
    try:
        yield
    finally:
        event.remove(Engine, name, wait)


def errors() -> dict[str, str | None]:
    with session_scope() as session:
        return {m.body: m.error for m in session.scalars(select(Message))}


def outbound() -> dict[str, tuple[str, str | None, int]]:
    with session_scope() as session:
        return {m.body: (m.status, m.claimed_by, m.attempts) for m in session.scalars(select(Message))}


# --- the outbox's claims --------------------------------------------------------------------------


def test_two_replicas_reading_the_queue_at_once_claim_each_message_once(on_postgres_only):
    for n in range(6):
        queue(f"+4670100000{n}", f"to {n}")
    one, other = Outbox({"sms": Recorder()}, "one"), Outbox({"sms": Recorder()}, "other")
    with side_by_side("UPDATE messages SET claimed_by"), ThreadPoolExecutor(2) as pool:  # both read all six first
        batches = [batch for batch, _, _ in pool.map(lambda outbox: outbox._due(), (one, other))]
    bodies = [{delivery.body for delivery in batch} for batch in batches]
    assert not bodies[0] & bodies[1]
    assert bodies[0] | bodies[1] == {f"to {n}" for n in range(6)}
    claimed = {body: by for body, (_, by, _) in outbound().items()}
    assert {body for body, by in claimed.items() if by == "one"} == bodies[0]


def test_a_recipients_next_message_waits_while_another_replica_sends_the_first(database):
    queue(NUMBER, "first", "second")
    one, other = Outbox({"sms": Recorder()}, "one"), Outbox({"sms": Recorder()}, "other")
    (sending,), _, more = one._due()
    assert sending.body == "first" and more  # one looks again once "first" is sent
    assert other._due()[0] == []  # the first is one's; the second waits behind it
    one._record([Outcome(sending, "sent", "SM1")])
    assert [d.body for d in other._due()[0]] == ["second"]
    assert outbound() == {"first": ("sent", None, 1), "second": ("queued", "other", 0)}


def test_a_recipients_next_message_queued_while_another_replica_sends_the_first_goes_out_soon_after(database):
    """The replica sending the first did not see the second (queued after its scan), so it does
    not look again after its batch; the replica that sees the second looks again soon, not when
    the first's claim would run out."""
    queue(NUMBER, "first")
    one, other = Outbox({"sms": Recorder()}, "one"), Outbox({"sms": Recorder()}, "other")
    (sending,), _, more = one._due()
    assert not more
    queue(NUMBER, "second")
    nothing, wait, _ = other._due()
    assert nothing == [] and wait == outbox_module.ELSEWHERE_SECONDS
    one._record([Outcome(sending, "sent", "SM1")])
    assert [d.body for d in other._due()[0]] == ["second"]


def test_a_dead_replicas_claim_is_taken_over_once_it_runs_out_and_its_late_outcome_is_ignored(database):
    queue(NUMBER, "first")
    one, other = Outbox({"sms": Recorder()}, "one"), Outbox({"sms": Recorder()}, "other")
    (sending,), _, _ = one._due()  # ... and the replica dies
    nothing, wait, _ = other._due()
    assert nothing == [] and 0 < wait <= 30  # it looks again when the claim runs out
    with session_scope() as session:  # let the claim run out
        session.execute(update(Message).values(claim_until=utcnow() - timedelta(seconds=1)))
    (again,), _, _ = other._due()
    other._record([Outcome(again, "sent", "SM2")])
    one._record([Outcome(sending, "sent", "SM1")])  # the first replica was only slow, after all
    assert outbound() == {"first": ("sent", None, 1)}
    with session_scope() as session:
        assert session.scalar(select(Message.provider_id)) == "SM2"


def test_a_transient_failure_releases_the_claim_until_the_retry(database):
    queue(NUMBER, "first")
    one = Outbox({"sms": Recorder()}, "one")
    (sending,), _, _ = one._due()
    one._record([Outcome(sending, "queued", error="twilio 503")])
    assert outbound() == {"first": ("queued", None, 1)}
    assert Outbox({"sms": Recorder()}, "other")._due()[0] == []  # not before its backoff


def test_a_send_that_does_not_answer_in_time_is_a_transient_failure_well_within_its_claim(settings, monkeypatch):
    monkeypatch.setattr(outbox_module, "SEND_SECONDS", 0.1)

    class Hanging:
        async def send(self, delivery):
            await asyncio.Event().wait()  # the provider never answers

    queue(NUMBER, "first")
    assert asyncio.run(Outbox({"sms": Hanging()}, "one").deliver_due()) == 0.0
    (status, claimed_by, attempts), error = outbound()["first"], errors()["first"]
    assert (status, claimed_by, attempts) == ("queued", None, 1) and "no answer" in error
    assert outbox_module.SEND_SECONDS < outbox_module.CLAIM_SECONDS / 2  # as shipped: a round ends within its claim


# --- the webhook's dedupe -------------------------------------------------------------------------


@needs_redis
def test_one_message_sid_posted_to_two_replicas_at_once_is_stored_and_answered_once(
    on_postgres_only,
    redis_url,  # noqa: F811
    monkeypatch,
):
    """As the cluster runs them: one PostgreSQL, one Redis. (Without the resident's lock in Redis,
    the other replica's retry of unanswered messages would take up this one while it is answered.)"""
    monkeypatch.setenv("REDIS_URL", redis_url)
    get_settings.cache_clear()
    settings, bot, senders = get_settings(), CannedRasa(), (Recorder(), Recorder())
    form = sms("jag söker jobb")
    headers = {"X-Twilio-Signature": sign(settings, "/sms/webhook", form)}
    with session_scope() as session:  # a resident who wrote before (a new one: the next test)
        session.add(
            Resident(
                channel="sms",
                address=form["From"],
                pseudonym=new_pseudonym(),
                last_seen_at=utcnow() - timedelta(days=1),
            )
        )
    with (
        running(settings, build(settings, rasa=bot, sms=senders[0])) as one,
        running(settings, build(settings, rasa=bot, sms=senders[1])) as other,
    ):
        # Both replicas' intakes store the message at the same moment (on PostgreSQL, a known
        # resident's message is one statement, gateway.intake.KNOWN_RESIDENTS_MESSAGES): one waits
        # for the other's on the unique key, then finds it stored.
        with side_by_side("WITH given"), ThreadPoolExecutor(2) as pool:
            answers = list(
                pool.map(lambda replica: replica.post("/sms/webhook", data=form, headers=headers), (one, other))
            )
        assert [answer.status_code for answer in answers] == [200, 200]
        wait_for(lambda: any(sender.sent for sender in senders), what="the reply")
    # Both stopped: every turn done, everything due delivered.
    assert [said for said, _ in bot.heard] == ["jag söker jobb"]
    assert sum(len(sender.sent) for sender in senders) == 1
    with session_scope() as session:
        stored = session.scalars(select(Message.status).where(Message.provider_id == form["MessageSid"])).all()
    assert stored == ["answered"]


def _waiting_on_a_lock() -> bool:
    with db.engine().connect() as conn:
        query = "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND datname = current_database()"
        return bool(conn.execute(text(query)).scalar())


def test_a_message_from_a_new_resident_another_replica_is_storing_is_stored_not_taken_for_a_duplicate(
    on_postgres_only,
):
    """Two first messages from one number on two replicas: the second replica's insert of the
    resident waits for the first's, then meets the unique key and takes the resident the first
    made. That is not a duplicate message, nor a failed transaction to write again message by
    message (under the cluster bench, residents writing three in a row at once)."""
    engine = db.engine()
    failed = []

    def error(context) -> None:
        failed.append(type(context.original_exception).__name__)

    with engine.connect() as other, ThreadPoolExecutor(1) as pool:
        storing = other.begin()
        theirs = other.execute(
            insert(Resident).values(channel="sms", address=NUMBER, pseudonym=new_pseudonym()).returning(Resident.id)
        ).scalar_one()
        event.listen(Engine, "handle_error", error)
        try:
            stored = pool.submit(store_now, engine, Inbound("sms", NUMBER, "hej", "SM-second"))
            wait_for(_waiting_on_a_lock, what="the resident's insert to wait for the other replica's")
            storing.commit()
            assert stored.result(30).resident_id == theirs
        finally:
            event.remove(Engine, "handle_error", error)
    assert failed == []  # no statement failed (before: UniqueViolation, and the batch again)
    with session_scope() as session:
        assert session.scalars(select(Message.body)).all() == ["hej"]
        assert session.scalar(select(Resident.address)) == NUMBER


def test_a_returning_residents_message_is_stored_under_them_with_their_language_and_marks_them_seen(database):
    """The intake finds a known resident and marks them seen (last seen three days ago),
    on SQLite and PostgreSQL alike; a new one beside them in the same batch is created."""
    engine = db.engine()
    first = store_now(engine, Inbound("sms", NUMBER, "hej", "SM-first"))
    with session_scope() as session:
        known = session.get(Resident, first.resident_id)
        known.language, known.last_seen_at = "ar", utcnow() - timedelta(days=3)
    with engine.begin() as conn:
        again, new = intake_write(conn, [Inbound("sms", NUMBER, "مرحبا", "SM-again"), Inbound("sms", OTHER, "hi")])
    assert again.resident_id == first.resident_id != new.resident_id
    with session_scope() as session:
        assert age(session.get(Resident, first.resident_id).last_seen_at, utcnow()) < 60
        languages = dict(session.execute(select(Message.body, Message.language)).all())
    assert languages == {"hej": None, "مرحبا": "ar", "hi": None}
