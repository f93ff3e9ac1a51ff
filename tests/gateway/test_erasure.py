"""Erasure (gateway/erasure.py): by SMS keyword with a code to confirm, in every language, and by
an admin in the inbox. Afterwards no table of the gateway's database, no event in the tracker
store and no log line holds the number or what the resident wrote; an opt-out stays, as a
digest, and is still obeyed."""

from __future__ import annotations

import json
import logging
import re
import sqlite3
import time
from datetime import timedelta

import pytest
from argon2 import PasswordHasher
from sqlalchemy import JSON, String, Text, select

from common.keywords import WORDS
from common.languages import LANGUAGES
from common.texts import text
from gateway import db, erasure
from gateway.db import session_scope
from gateway.inbox import security
from gateway.models import Audit, Base, Handoff, Message, OptOut, Resident
from gateway.rasa_client import BotReply
from gateway.services import build
from tests.conftest import CannedRasa, Recorder, running, wait_for
from tests.gateway.channels.test_sms import NUMBER, post, settle, sms
from tests.gateway.inbox.conftest import Browser, add_coordinator, add_handoff

# What the resident writes: each must be gone afterwards, and so must the number.
SAID = (
    "Hej, jag söker jobb som snickare",
    "Ring mig på 070-987 65 43 efter lunch",
    "Jag bor på Rymdtorget och har två barn",
)
DIGITS = NUMBER.removeprefix("+46")  # the number however it is written: +46701234567, 0701234567


# --- a tracker store as Rasa keeps it ------------------------------------------------------------


def make_tracker(settings) -> str:
    """Rasa's SQL tracker store where the settings point (a SQLite file), with its ``events`` table."""
    path = settings.tracker_store_sqlalchemy_url.split("///", 1)[1]
    with sqlite3.connect(path) as store:
        store.execute(
            "CREATE TABLE events (id INTEGER PRIMARY KEY, sender_id VARCHAR(255) NOT NULL, "
            "type_name VARCHAR(255) NOT NULL, timestamp FLOAT, intent_name VARCHAR(255), "
            "action_name VARCHAR(255), data TEXT)"
        )
    return path


def record_event(
    path: str, sender: str, kind: str, data: dict, at: float | None = None, intent: str | None = None
) -> None:
    at = time.time() if at is None else at
    with sqlite3.connect(path) as store:
        store.execute(
            "INSERT INTO events (sender_id, type_name, timestamp, intent_name, data) VALUES (?, ?, ?, ?, ?)",
            (sender, kind, at, intent, json.dumps({"event": kind, "timestamp": at, **data})),
        )


def tracker_rows(path: str) -> list[tuple]:
    with sqlite3.connect(path) as store:
        return store.execute("SELECT * FROM events").fetchall()


class TrackingRasa(CannedRasa):
    """A bot that keeps each turn in the tracker store as Rasa does (the text it was given, its
    metadata, its answer), and hands over to a coordinator at the first question."""

    def __init__(self, tracker: str) -> None:
        super().__init__(self.reply)
        self.tracker = tracker

    @staticmethod
    def reply(said: str) -> list[BotReply]:
        return [
            BotReply(
                "Klart, en koordinator hör av sig.",
                custom={"handoff": {"hub": "hjallbo", "language": "sv", "topic": "job_search"}},
            )
        ]

    async def send(self, conversation_id, said, metadata):
        replies = await super().send(conversation_id, said, metadata)
        record_event(self.tracker, conversation_id, "user", {"text": said, "metadata": metadata}, intent="job_search")
        for reply in replies:
            record_event(self.tracker, conversation_id, "bot", {"text": reply.text})
        return replies


# --- what is left ----------------------------------------------------------------------------------


def stored_text() -> str:
    """Every text value in every table of the gateway's database, as one string."""
    found = []
    with db.engine().connect() as connection:
        for table in Base.metadata.sorted_tables:
            columns = [c for c in table.columns if isinstance(c.type, (String, Text, JSON))]
            found += [
                json.dumps(list(row), ensure_ascii=False, default=str) for row in connection.execute(select(*columns))
            ]
    return "\n".join(found)


def traces(haystack: str) -> list[str]:
    """The number (however written) and the resident's words found in ``haystack``."""
    digits = re.sub(r"[\s-]", "", haystack)
    return (
        ([DIGITS] if DIGITS in digits else [])
        + [said for said in SAID if said in haystack]
        + (["0709876543"] if "0709876543" in digits else [])
    )


def sent_to(sender: Recorder) -> list[str]:
    return [body for address, body in sender.sent if address == NUMBER]


def queued() -> int:
    with session_scope() as session:
        return session.query(Message).filter_by(status="queued").count()


def code_in(body: str) -> str:
    return re.search(r"\d{4}", body).group(0)


@pytest.fixture
def tracker(settings) -> str:
    return make_tracker(settings)


@pytest.fixture
def phone(settings, tracker):
    """The gateway with a bot that keeps a tracker, and an SMS sender that records."""
    sender = Recorder()
    with running(settings, build(settings, rasa=TrackingRasa(tracker), sms=sender)) as gateway:

        def say(body: str) -> list[str]:
            before = len(sent_to(sender))
            assert post(gateway, settings, sms(body)).status_code == 200
            settle(gateway)
            wait_for(lambda: not queued(), what="the outbox to deliver")
            return sent_to(sender)[before:]

        say.gateway, say.sender = gateway, sender
        yield say


# --- by SMS keyword ----------------------------------------------------------------------------------


def test_radera_and_its_code_erase_everything_and_leave_no_trace(phone, tracker, caplog):
    caplog.set_level(logging.DEBUG)
    caplog.set_level(logging.DEBUG, logger="hubguide")
    for said in SAID:
        phone(said)
    with session_scope() as session:
        pseudonym = session.scalars(select(Resident.pseudonym)).one()
        handoff = session.scalars(select(Handoff)).one()
        assert SAID[0] in handoff.summary  # the coordinator's summary copies the resident's words
    assert traces(stored_text()) and any(row[1] == pseudonym for row in tracker_rows(tracker))

    [confirm] = phone("RADERA")
    assert confirm.startswith(text("erase_confirm", "sv").format(code=code_in(confirm), minutes=10))
    assert phone(code_in(confirm)) == [text("erase_done", "sv")]  # sent to the number, never stored

    assert traces(stored_text()) == []
    assert traces(" ".join(map(str, tracker_rows(tracker)))) == [] and tracker_rows(tracker) == []
    assert caplog.records and traces(caplog.text) == []
    with session_scope() as session:
        assert session.query(Resident).count() == session.query(Message).count() == 0
        assert session.query(Handoff).count() == 0 and session.query(OptOut).count() == 0  # never said STOP
        [line] = session.scalars(select(Audit).where(Audit.action == erasure.ERASE_KEYWORD)).all()
        assert line.actor_id is None and line.count > 5


def test_anything_but_the_code_cancels_and_is_answered_as_usual(phone):
    phone("Hej")
    [confirm] = phone("radera")
    replies = phone("1234" if code_in(confirm) != "1234" else "4321")  # a typo of the code
    assert replies[0] == text("erase_cancelled", "sv")
    with session_scope() as session:
        resident = session.scalars(select(Resident)).one()
        assert resident.erasure_code is None and session.query(Message).count() > 3
    assert phone(code_in(confirm)) == []  # the old code is no longer good: it goes to the coordinator
    with session_scope() as session:
        assert session.query(Resident).count() == 1


def test_the_code_is_good_for_ten_minutes(phone):
    phone("Hej")
    [confirm] = phone("RADERA")
    with session_scope() as session:  # the clock moves on eleven minutes
        resident = session.scalars(select(Resident)).one()
        resident.erasure_requested_at = resident.erasure_requested_at - timedelta(minutes=11)
    assert phone(code_in(confirm)) == [text("erase_cancelled", "sv")]
    with session_scope() as session:
        assert session.query(Resident).count() == 1


def test_an_erasure_is_retried_while_the_tracker_store_cannot_be_reached(phone, monkeypatch):
    phone("Hej")
    [confirm] = phone("RADERA")

    def unreachable(self, sender_id):
        raise OSError("the tracker store does not answer")

    monkeypatch.setattr(erasure.TrackerStore, "forget", unreachable)
    assert phone(code_in(confirm)) == []  # nothing erased, nothing said yet
    with session_scope() as session:
        assert session.query(Resident).count() == 1
        assert session.scalars(select(Message.status).order_by(Message.id.desc())).first() == "received"
    monkeypatch.undo()
    phone.gateway.portal.call(phone.gateway.state.conversations.retry_unanswered)
    settle(phone.gateway)
    assert sent_to(phone.sender)[-1] == text("erase_done", "sv")
    with session_scope() as session:
        assert session.query(Resident).count() == 0


def test_an_opt_out_outlives_the_erasure_as_a_digest_and_is_obeyed(phone):
    phone("Hej")
    assert phone("STOPP") == [text("opted_out", "sv")]
    [confirm] = phone("RADERA")  # a resident who said STOP may still erase: the replies are the system's
    assert phone(code_in(confirm)) == [text("erase_done", "sv")]
    with session_scope() as session:
        [kept] = session.scalars(select(OptOut)).all()
        assert kept.digest == erasure.digest(NUMBER) and DIGITS not in kept.digest and kept.opted_out_at
    assert phone("Hej igen, jag söker jobb") == []  # still opted out: nothing is sent
    with session_scope() as session:
        resident = session.scalars(select(Resident)).one()
        assert resident.opted_out and session.query(OptOut).count() == 0  # the row carries it again
    assert phone("STARTA") == [text("opted_in", "sv")]


@pytest.mark.parametrize("language", list(LANGUAGES))
def test_every_language_has_an_erase_word_and_its_own_texts(phone, language):
    word = WORDS["erase"][language][0]
    [confirm] = phone(word)
    code = code_in(confirm)
    assert confirm.startswith(text("erase_confirm", language).format(code=code, minutes=10))
    if LANGUAGES[language].script == "arabic":  # the code typed with the keyboard's own digits
        code = code.translate(str.maketrans("0123456789", "٠١٢٣٤٥٦٧٨٩"))
    assert phone(code) == [text("erase_done", language)]
    if language != "sv":
        assert text("erase_done", language) != text("erase_done", "sv")


def test_the_digits_of_any_script_read_as_the_code():
    assert erasure.digits("Kod: ٤٧٢١") == erasure.digits("۴۷۲۱") == erasure.digits(" 4721!") == "4721"


# --- by an admin in the inbox ------------------------------------------------------------------------


@pytest.fixture
def inbox(settings, tracker, monkeypatch):
    monkeypatch.setattr(security, "HASHER", PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1))
    with running(settings, base_url="https://testserver") as gateway:  # the hubs are there from its start
        add_coordinator("admin@hub.example", hub=None, role="admin")
        add_coordinator("ana@hjallbo.example", hub="hjallbo")
        yield gateway


def test_an_admin_erases_a_resident_who_asks_in_person(inbox, tracker):
    handoff = add_handoff(address=NUMBER, said=SAID)
    other = add_handoff(address="+46709999999", said=("Någon annans fråga",))
    with session_scope() as session:
        pseudonym = session.get(Handoff, handoff).resident.pseudonym
    record_event(tracker, pseudonym, "user", {"text": SAID[0]})
    admin, ana = Browser(inbox, "admin@hub.example"), Browser(inbox, "ana@hjallbo.example")
    url = f"/api/handoffs/{handoff}/erase"
    assert ana.api(url, {"confirm": True}).status_code == 403  # admins only
    assert admin.api(url, {"confirm": True}, csrf=None).status_code == 403  # CSRF as every change
    assert admin.api(url, {}).status_code == 422  # the confirmation is part of the request
    assert traces(stored_text())  # nothing erased so far

    response = admin.api(url, {"confirm": True})
    assert response.status_code == 200, response.text
    assert response.json() == {"messages": 2 * len(SAID), "handoffs": 1, "tracker_events": 1}
    assert traces(stored_text()) == [] and tracker_rows(tracker) == []
    assert admin.get(f"/api/handoffs/{handoff}").status_code == 404
    assert admin.get(f"/api/handoffs/{other}").status_code == 200  # another resident's stays
    admin_id = admin.get("/api/me").json()["id"]
    lines = [(line["actor_id"], line["action"], line["handoff_id"]) for line in admin.get("/api/audit").json()["items"]]
    assert (admin_id, erasure.ERASE, handoff) in lines
    assert admin.api(url, {"confirm": True}).status_code == 404  # gone


def test_the_handoff_page_offers_admins_the_erasure_with_a_confirmation(inbox):
    handoff = add_handoff()
    page = Browser(inbox, "admin@hub.example").get(f"/inbox/handoffs/{handoff}").text
    form = page.split('id="erase"', 1)[1]
    assert f'action="/inbox/handoffs/{handoff}/erase"' in form and 'name="confirm" value="yes" required' in form
    assert 'id="erase"' not in Browser(inbox, "ana@hjallbo.example").get(f"/inbox/handoffs/{handoff}").text


def test_the_handoff_pages_erase_button_erases_after_the_confirmation(inbox, tracker):
    handoff = add_handoff(address=NUMBER, said=SAID)
    admin, ana = Browser(inbox, "admin@hub.example"), Browser(inbox, "ana@hjallbo.example")
    url = f"/inbox/handoffs/{handoff}/erase"
    assert ana.form(url, {"confirm": "yes"}).status_code == 403  # admins only
    assert admin.form(url, {"confirm": "yes"}, csrf=None).status_code == 403
    unticked = admin.form(url, {})
    assert unticked.status_code == 422 and "Tick the box" in unticked.text
    assert traces(stored_text())  # nothing erased so far

    done = admin.form(url, {"confirm": "yes"})
    assert done.status_code == 303 and done.headers["location"] == "/inbox?done=erased"
    assert traces(stored_text()) == []
    assert "number are erased" in admin.get("/inbox?done=erased").text
    assert admin.get(f"/inbox/handoffs/{handoff}").status_code == 404


def test_erase_removes_a_web_resident_too(settings, tracker):
    with session_scope() as session:
        resident = Resident(channel="web", address="session-1", opted_out=True)
        session.add(resident)
        session.flush()
        session.add(
            Message(
                resident_id=resident.id,
                direction="in",
                channel="web",
                sender="resident",
                body=SAID[0],
                status="answered",
            )
        )
        resident_id = resident.id
    with session_scope() as session:
        erased = erasure.erase(session, resident_id, erasure.tracker_store())
    assert erased.messages == 1 and traces(stored_text()) == []
    with session_scope() as session:
        assert session.query(OptOut).count() == 0  # an opt-out is an SMS matter


def test_the_tracker_stores_url_is_read_with_this_environments_driver():
    assert erasure.app_url("postgresql://hub:secret@db/rasa") == "postgresql+psycopg://hub:secret@db/rasa"
    assert erasure.app_url("postgresql+psycopg2://hub@db:5433/rasa") == "postgresql+psycopg://hub@db:5433/rasa"
    assert erasure.app_url("sqlite:////var/rasa.db") == "sqlite:////var/rasa.db"


def test_a_tracker_store_rasa_never_wrote_is_left_alone(tmp_path):
    store = erasure.TrackerStore(f"sqlite:///{tmp_path / 'none.db'}")
    assert store.forget("someone") == 0 and not (tmp_path / "none.db").exists()
