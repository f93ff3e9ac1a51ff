"""The first vertical slice through the real processes, over SMS and the web
chat: a job question, the offer of a coordinator, consent, the area, and a
handoff stored for the nearest hub."""

from __future__ import annotations

import sqlite3

import httpx
import pytest
from sqlalchemy import select

from gateway.db import session_scope
from gateway.models import Handoff, Hub, Resident
from tests.e2e.conftest import SmsResident

pytestmark = pytest.mark.e2e


def handoffs_of(address: str) -> list[tuple]:
    with session_scope() as session:
        return session.execute(
            select(Hub.slug, Handoff.language, Handoff.channel, Handoff.topic, Handoff.status)
            .join(Hub)
            .join(Resident)
            .where(Resident.address == address)
        ).all()


def test_sms_in_swedish_from_job_question_to_a_handoff_in_hjallbo(stack):
    phone = SmsResident(stack, "+46701110001")
    answer = phone.ask("jag vill ha jobb")
    # Where the resident lives is not known yet: the offer is true in Göteborg and Borås alike.
    assert (
        "arbetsformedlingen.se" in answer and "närmaste hubb eller på Borås Stad" in answer and "JA eller NEJ" in answer
    )
    assert handoffs_of(phone.number) == []
    assert "Vilket område" in phone.ask("ja")
    assert "kort vad du vill ha hjälp med" in phone.ask("Hjällbo")
    done = phone.ask("Jag behöver hjälp med mitt CV")
    assert done.startswith("Klart") and "Framtidshubben Hjällbo" in done
    assert handoffs_of(phone.number) == [("hjallbo", "sv", "sms", "job_search", "open")]
    with session_scope() as session:
        summary = session.scalars(select(Handoff.summary).join(Resident).where(Resident.address == phone.number)).one()
    assert "jag vill ha jobb" in summary and "Jag behöver hjälp med mitt CV" in summary


def test_rasa_never_sees_the_phone_number(stack):
    phone = SmsResident(stack, "+46701110002")
    phone.ask("jag söker jobb")
    with session_scope() as session:
        pseudonym = session.scalars(select(Resident.pseudonym).where(Resident.address == phone.number)).one()
    tracker_db = stack.settings.tracker_store_sqlalchemy_url.split("///", 1)[1]
    with sqlite3.connect(tracker_db) as rasa_store:
        senders = {row[0] for row in rasa_store.execute("select sender_id from events")}
        everything = " ".join(str(row) for row in rasa_store.execute("select * from events"))
    assert pseudonym in senders
    assert "0111000" not in everything and "+4670" not in everything


def test_an_unknown_area_gets_the_numbered_list_and_a_number_chooses(stack):
    phone = SmsResident(stack, "+46701110003")
    phone.ask("jag vill prata med en koordinator")
    phone.ask("ja")
    listing = phone.ask("Stockholm")
    assert "1 Bergsjön" in listing and "6 Tynnered/Frölunda torg" in listing
    phone.ask("2")
    assert "Biskopsgården" in phone.ask("nej")
    assert handoffs_of(phone.number)[0][0] == "biskopsgarden"


def web_turn(client, message: str, language: str, replies: int) -> list[dict]:
    client.emit("user_uttered", {"message": message, "customData": {"language": language}})
    received = []
    while len(received) < replies:
        event, data = client.receive(timeout=30)
        assert event == "bot_uttered"
        received.append(data)
    return received


def test_web_chat_in_english_from_job_question_to_a_handoff_in_bergsjon(stack, web):
    web.emit("session_request", {"session_id": None})
    event, session_id = web.receive(timeout=10)
    assert event == "session_confirm" and len(session_id) >= 16
    answer, offer = web_turn(web, "I am looking for a job", "en", replies=2)
    assert "arbetsformedlingen.se" in answer["text"]
    assert "nearest hub or at the City of Borås" in offer["text"]
    assert [b["payload"] for b in offer["quick_replies"]] == ["/affirm", "/deny"]
    [ask] = web_turn(web, "/affirm", "en", replies=1)
    assert ask["text"].startswith("Which area")
    [note] = web_turn(web, "I live in Bergsjön", "en", replies=1)
    assert note["text"].startswith("Would you like to say briefly")
    [done] = web_turn(web, "no", "en", replies=1)
    assert done["text"].startswith("Done") and "Framtidshubben Bergsjön" in done["text"]
    assert handoffs_of(session_id) == [("bergsjon", "en", "web", "job_search", "open")]


def test_the_web_chat_page_and_widget_are_served(stack):
    page = httpx.get(stack.gateway_url + "/?lang=en")
    assert page.status_code == 200 and 'lang="en"' in page.text and "/static/webchat.js" in page.text
    widget = httpx.get(stack.gateway_url + "/static/webchat.js")
    assert widget.status_code == 200 and "WebChat" in widget.text[:1000]
