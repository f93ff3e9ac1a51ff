"""Redaction end to end with the real processes (issue 14 §3): a resident writes Swedish phone
numbers in the ways people write them and personal identity numbers in their three forms, by SMS
and in the web chat, on the way to a handoff. Afterwards Rasa's own tracker store (the SQLite
file the stack gives Rasa in TRACKER_STORE_URL, opened directly) and every line the processes
logged meanwhile hold none of them, nor the resident's own number; the coordinator of the
handoff still reads the messages as they were written (common/redact.py: the stored message
keeps the real text for the coordinators), with the resident's number masked."""

from __future__ import annotations

import json
import re
import sqlite3
from pathlib import Path

import pytest
from sqlalchemy import func, select

from common.redact import PERSONAL_NUMBER, PHONE
from gateway.db import session_scope
from gateway.models import Message, Resident
from tests.conftest import wait_for
from tests.e2e.conftest import SmsResident
from tests.e2e.test_handoff import Inbox, handoff_of
from tests.e2e.test_slice import web_turn

pytestmark = pytest.mark.e2e

RESIDENT = "+46701140001"  # the SMS resident's own number: their sender address
# What the residents write, and the digits that give each number away however it is spaced.
WRITTEN = {
    "+46 70 482 91 36": "704829136",
    "070-482 91 37": "704829137",
    "0046 70 482 91 38": "704829138",
    "070 482 91 39": "704829139",
    "0704829140": "704829140",
    "+46 (0)70-482 91 41": "704829141",
    "070 - 482 91 42": "704829142",
    "19811218-9876": "8112189876",  # ÅÅÅÅMMDD-XXXX
    "640823-3234": "6408233234",  # ÅÅMMDD-XXXX
    "121212+1212": "1212121212",  # ÅÅMMDD+XXXX: a hundred years or older
}
SMS_SAID = [
    "Mitt nummer är +46 70 482 91 36",
    "ring 070-482 91 37 eller 0046 70 482 91 38",
    "070 482 91 39 är min mammas",
    "personnummer 19811218-9876",
    "mitt pnr är 640823-3234 och min farfars 121212+1212",
]
SMS_NOTE = "Jag behöver hjälp med CV, ring 0704829140"
WEB_SAID = [
    "My number is +46 (0)70-482 91 41",
    "or 070 - 482 91 42, personal number 19811218-9876",
]
WEB_NOTE = "Help with my CV please, call 0046 70 482 91 38 or 640823-3234"


def traces(haystack: str, own: tuple[str, ...] = ()) -> list[str]:
    """The numbers (and ``own``: other strings, such as a session id) that ``haystack`` gives
    away, read with spaces, dashes, brackets and plus signs taken out."""
    digits = re.sub(r"[\s()+\-]", "", haystack)
    found = [written for written, core in WRITTEN.items() if core in digits or written in haystack]
    return found + [o for o in own if o in haystack or re.sub(r"\D", "", o) in digits]


def tracker_events(stack) -> list[tuple[str, str]]:
    """(sender_id, the event as text) for every event in Rasa's tracker store."""
    url = stack.settings.tracker_store_sqlalchemy_url
    assert url.startswith("sqlite:///"), url  # the stack's Rasa keeps its tracker store here
    with sqlite3.connect(url.split("///", 1)[1]) as store:
        rows = store.execute("SELECT sender_id, data FROM events").fetchall()
    # Rasa escapes what is not ASCII ("\u260e"): read as the text it is.
    return [(sender, json.dumps(json.loads(data or "{}"), ensure_ascii=False)) for sender, data in rows]


class Logs:
    """What each process logs from now on (the stack's log files, read past their size now)."""

    def __init__(self, stack) -> None:
        self.folder = stack.settings.data_dir / "logs"
        self.start = {path: path.stat().st_size for path in self.folder.glob("*.log")}

    def since(self) -> dict[str, str]:
        return {path.name: self._read(path) for path in sorted(self.folder.glob("*.log"))}

    def _read(self, path: Path) -> str:
        with path.open("rb") as file:
            file.seek(self.start.get(path, 0))
            return file.read().decode("utf-8", errors="replace")


def pseudonym_of(address: str) -> str:
    with session_scope() as session:
        return session.scalars(select(Resident.pseudonym).where(Resident.address == address)).one()


def web_say(client, session_id: str, message: str, language: str = "en") -> None:
    """A web resident's message whatever the bot answers: waits until the turn is answered, then
    takes from the socket as many replies as the gateway queued for it."""
    client.emit("user_uttered", {"message": message, "customData": {"language": language}})

    def answered():
        with session_scope() as session:
            stored = session.scalars(
                select(Message)
                .join(Resident)
                .where(Resident.address == session_id, Message.body == message, Message.status != "received")
            ).first()
            if stored is None:
                return None
            return session.scalar(
                select(func.count(Message.id)).where(
                    Message.resident_id == stored.resident_id, Message.direction == "out", Message.id > stored.id
                )
            )

    for _ in range(wait_for(answered, what=f"the bot's answer to {message!r}")):
        event, _ = client.receive(timeout=30)
        assert event == "bot_uttered"


def test_no_number_a_resident_writes_reaches_rasas_tracker_store_or_a_log_but_the_coordinator_reads_them(stack, web):
    logs = Logs(stack)
    hjallbo, bergsjon = Inbox(stack, "hjallbo"), Inbox(stack, "bergsjon")

    # By SMS: the numbers to the bot, then a handoff whose note carries one more.
    phone = SmsResident(stack, RESIDENT)
    for said in SMS_SAID:
        phone.ask(said)
    phone.ask("jag vill ha jobb")
    assert "Vilket område" in phone.ask("ja")
    phone.ask("Hjällbo")
    assert phone.ask(SMS_NOTE).startswith("Klart")

    # In the web chat: the same, in English.
    web.emit("session_request", {"session_id": None})
    event, session_id = web.receive(timeout=10)
    assert event == "session_confirm"
    for said in WEB_SAID:
        web_say(web, session_id, said)
    web_turn(web, "I am looking for a job", "en", replies=2)
    web_turn(web, "/affirm", "en", replies=1)
    web_turn(web, "I live in Bergsjön", "en", replies=1)
    [done] = web_turn(web, WEB_NOTE, "en", replies=1)
    assert done["text"].startswith("Done")

    # Rasa's tracker store: the words came, the numbers did not, and nobody is known by a number.
    events = tracker_events(stack)
    senders = {sender for sender, _ in events}
    assert {pseudonym_of(RESIDENT), pseudonym_of(session_id)} <= senders
    assert not [s for s in senders if traces(s, (RESIDENT, session_id))]
    mine = "\n".join(data for sender, data in events if sender in {pseudonym_of(RESIDENT), pseudonym_of(session_id)})
    assert "mammas" in mine and "personal number" in mine  # the rest of what they wrote is there
    assert mine.count(PHONE) >= 7 and mine.count(PERSONAL_NUMBER) >= 5  # each number as its token
    assert traces("\n".join(data for _, data in events), (RESIDENT,)) == []

    # Nothing any process logged meanwhile: the gateway's log above all.
    logged = logs.since()
    assert logged.get("gateway.log"), "the gateway logged nothing: is its log file elsewhere?"
    assert {name: traces(text, (RESIDENT,)) for name, text in logged.items() if traces(text, (RESIDENT,))} == {}

    # The coordinators read what the residents wrote, as written; the resident's number masked.
    for inbox, address, said in (
        (hjallbo, RESIDENT, [*SMS_SAID, SMS_NOTE]),
        (bergsjon, session_id, [*WEB_SAID, WEB_NOTE]),
    ):
        handoff = handoff_of(address)
        detail = inbox.handoff(handoff.id)
        bodies = [m["body"] for m in detail["messages"]]
        assert [s for s in said if s not in bodies] == []
        page = inbox.http.get(f"/inbox/handoffs/{handoff.id}").text
        assert [s for s in said if s not in page] == []
        assert address not in json.dumps(detail, ensure_ascii=False) and address not in page
        assert detail["resident"]["contact"] != address
