"""Erasure end to end with the real processes: a resident talks to the bot over SMS until a
handoff is stored, then writes RADERA and sends back the code. Afterwards the gateway's
database (every table), Rasa's real tracker store and every process's log file hold neither
the number nor what the resident wrote."""

from __future__ import annotations

import json
import re
import sqlite3

import pytest
from sqlalchemy import select

from common.texts import text
from gateway.db import session_scope
from gateway.models import Handoff, Resident
from tests.conftest import wait_for
from tests.e2e.conftest import SmsResident
from tests.gateway.test_erasure import stored_text

pytestmark = pytest.mark.e2e

NUMBER = "+46701119901"
# A word nobody else in the suite writes, so that finding it anywhere means this resident's words.
NOTE = "Jag behöver hjälp med mitt CV som zebrafinksskötare, ring 070-111 99 01 efter lunch"
WORD = "zebrafinksskötare"


def found(haystack: str) -> list[str]:
    digits = re.sub(r"[\s-]", "", haystack)
    return [trace for trace in ("701119901", "0701119901") if trace in digits] + ([WORD] if WORD in haystack else [])


def tracker_dump(stack) -> tuple[set[str], str]:
    path = stack.settings.tracker_store_sqlalchemy_url.split("///", 1)[1]
    with sqlite3.connect(path) as store:
        rows = store.execute("SELECT sender_id, data FROM events").fetchall()
    # Rasa writes its JSON with \u escapes ("sk\u00f6tare"): read as text
    return {sender for sender, _ in rows}, "\n".join(
        json.dumps(json.loads(data or "{}"), ensure_ascii=False) for _, data in rows
    )


def logs(stack) -> str:
    folder = stack.settings.data_dir / "logs"
    return "\n".join(path.read_text(encoding="utf-8", errors="replace") for path in sorted(folder.glob("*")))


def test_a_resident_erased_by_keyword_leaves_no_trace_in_any_table_tracker_or_log(stack):
    phone = SmsResident(stack, NUMBER)
    phone.ask("jag vill ha jobb")
    assert "Vilket område" in phone.ask("ja")
    phone.ask("Hjällbo")
    assert phone.ask(NOTE).startswith("Klart")
    with session_scope() as session:
        pseudonym = session.scalars(select(Resident.pseudonym).where(Resident.address == NUMBER)).one()
        summary = session.scalars(select(Handoff.summary).join(Resident).where(Resident.address == NUMBER)).one()
    senders, events = tracker_dump(stack)
    assert NOTE in summary and found(stored_text())  # it is all there before
    assert pseudonym in senders and WORD in events  # Rasa kept the (masked) words

    confirm = phone.ask("RADERA")
    code = re.search(r"\d{4}", confirm).group(0)
    assert confirm.startswith(text("erase_confirm", "sv").format(code=code, minutes=10))
    assert phone.send(code).status_code == 200
    wait_for(lambda: not found(stored_text()), what="the resident erased")

    senders, events = tracker_dump(stack)
    assert pseudonym not in senders and found(events) == []
    logged = logs(stack)
    assert "rasa" in logged.lower() and found(logged) == []  # the processes did log
    with session_scope() as session:
        assert session.scalars(select(Resident).where(Resident.pseudonym == pseudonym)).first() is None
