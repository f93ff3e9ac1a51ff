"""The coordinator's work on a handoff: claim, reply, reassign, close, through
the API and the page forms, and what the resident gets."""

from __future__ import annotations

import pytest

from common.texts import text
from gateway.db import session_scope
from gateway.models import Handoff, Message, Resident
from tests.conftest import wait_for
from tests.gateway.inbox.conftest import Browser, add_coordinator, add_handoff, hub_id, messages_of

NUMBER = "+46701234567"


@pytest.fixture
def ana(gateway):
    add_coordinator("ana@hjallbo.example", hub="hjallbo", name="Ana")
    return Browser(gateway, "ana@hjallbo.example")


def handoff_row(handoff_id: int) -> Handoff:
    with session_scope() as session:
        return session.get(Handoff, handoff_id)


def test_a_reply_is_queued_to_the_resident_as_the_coordinator_with_the_handoffs_id(ana):
    handoff = add_handoff(address=NUMBER, language="ar")
    response = ana.api(f"/api/handoffs/{handoff}/reply", {"body": "  مرحبا، سأتصل بك غدا  "})
    assert response.status_code == 201
    [reply] = messages_of(handoff, direction="out")
    with session_scope() as session:
        resident = session.get(Resident, reply.resident_id)
        assert (resident.address, resident.channel) == (NUMBER, "sms")
    assert (reply.sender, reply.handoff_id, reply.channel, reply.body) == (
        "coordinator",
        handoff,
        "sms",
        "مرحبا، سأتصل بك غدا",
    )
    assert reply.coordinator_id == ana.get("/api/me").json()["id"]
    # The outbox was woken: the dry-run "send" happens at once.
    assert wait_for(lambda: messages_of(handoff, direction="out")[0].status == "dry_run", timeout=15)
    row = handoff_row(handoff)
    assert row.status == "claimed" and row.first_reply_at is not None
    assert response.json()["sender_label"] == "Ana"


def test_a_reply_to_a_web_resident_goes_to_the_web_chat(ana):
    handoff = add_handoff(channel="web", address="a1b2c3d4e5f6a7b8c9d0", language="en", said=("I need a job",))
    ana.api(f"/api/handoffs/{handoff}/reply", {"body": "Hello, I can help."})
    [reply] = messages_of(handoff, direction="out")
    assert reply.channel == "web" and reply.sender == "coordinator"
    # Nobody has the chat open here: it waits for the resident to come back.
    assert wait_for(lambda: messages_of(handoff, direction="out")[0].status == "awaiting_connection", timeout=15)


def test_the_reply_form_queues_the_reply_and_comes_back_to_the_handoff(ana):
    handoff = add_handoff()
    response = ana.form(f"/inbox/handoffs/{handoff}/reply", {"body": "Hej! Välkommen till hubben."})
    assert response.status_code == 303 and response.headers["location"] == f"/inbox/handoffs/{handoff}?done=replied"
    assert [m.sender for m in messages_of(handoff, direction="out")] == ["coordinator"]
    page = ana.get(response.headers["location"])
    assert "Välkommen till hubben" in page.text and "Your reply is on its way" in page.text


def test_an_empty_or_too_long_reply_is_refused(ana):
    handoff = add_handoff()
    assert ana.api(f"/api/handoffs/{handoff}/reply", {"body": "   "}).status_code == 422
    assert ana.api(f"/api/handoffs/{handoff}/reply", {"body": "x" * 1601}).status_code == 422
    page = ana.form(f"/inbox/handoffs/{handoff}/reply", {"body": "y" * 1601})
    assert page.status_code == 422 and "at most 1600 characters" in page.text and "y" * 1601 in page.text  # kept
    assert messages_of(handoff, direction="out") == []


def test_closing_queues_the_goodbye_in_the_residents_language_and_records_the_outcome(ana):
    handoff = add_handoff(language="so", said=("shaqo ayaan rabaa",))
    response = ana.api(f"/api/handoffs/{handoff}/close", {"outcome": "work"})
    assert response.status_code == 200 and response.json()["status"] == "closed"
    row = handoff_row(handoff)
    assert (row.status, row.outcome) == ("closed", "work") and row.closed_at is not None
    [goodbye] = messages_of(handoff, direction="out")
    assert goodbye.body == text("handoff_closed", "so") and goodbye.handoff_id == handoff


def test_a_closed_handoff_cannot_be_closed_claimed_replied_to_or_reassigned(ana):
    handoff = add_handoff()
    ana.api(f"/api/handoffs/{handoff}/close", {"outcome": "no_contact"})
    for action, payload in (
        ("close", {"outcome": "work"}),
        ("claim", {}),
        ("reply", {"body": "hej"}),
        ("reassign", {"hub": "bergsjon"}),
    ):
        assert ana.api(f"/api/handoffs/{handoff}/{action}", payload).status_code == 409, action
    page = ana.form(f"/inbox/handoffs/{handoff}/reply", {"body": "hej"})
    assert page.status_code == 409 and "closed" in page.text
    assert len(messages_of(handoff, direction="out")) == 1  # only the goodbye


def test_an_unknown_outcome_or_hub_is_refused(ana):
    handoff = add_handoff()
    assert ana.api(f"/api/handoffs/{handoff}/close", {"outcome": "great"}).status_code == 422
    assert ana.form(f"/inbox/handoffs/{handoff}/close", {"outcome": "great"}).status_code == 422
    assert ana.api(f"/api/handoffs/{handoff}/reassign", {"hub": "atlantis"}).status_code == 422
    assert handoff_row(handoff).status == "open"


def test_the_close_form_closes_with_the_outcome(ana):
    handoff = add_handoff()
    response = ana.form(f"/inbox/handoffs/{handoff}/close", {"outcome": "studies"})
    assert response.status_code == 303
    assert handoff_row(handoff).outcome == "studies"
    page = ana.get(f"/inbox/handoffs/{handoff}").text
    assert "Studies" in page and 'name="body"' not in page  # no more reply form


def test_claiming_marks_who_has_it(ana, gateway):
    handoff = add_handoff()
    assert ana.form(f"/inbox/handoffs/{handoff}/claim").status_code == 303
    assert ana.get(f"/api/handoffs/{handoff}").json()["claimed_by"] == "Ana"
    assert "Claimed by you" in ana.get(f"/inbox/handoffs/{handoff}").text
    add_coordinator("ove@hjallbo.example", hub="hjallbo", name="Ove")
    ove = Browser(gateway, "ove@hjallbo.example")
    assert ove.api(f"/api/handoffs/{handoff}/claim").json()["claimed_by"] == "Ove"  # a colleague takes over


def test_reassigning_moves_the_handoff_and_alerts_the_new_hubs_coordinators(ana):
    add_coordinator("bea@bergsjon.example", hub="bergsjon", phone="+46709990001")
    add_coordinator("off@bergsjon.example", hub="bergsjon", phone="+46709990002", on_duty=False)
    handoff = add_handoff()
    ana.api(f"/api/handoffs/{handoff}/claim")
    response = ana.form(f"/inbox/handoffs/{handoff}/reassign", {"hub": "bergsjon"})
    assert response.status_code == 303 and response.headers["location"] == "/inbox?done=reassigned"
    row = handoff_row(handoff)
    assert (row.hub_id, row.status, row.claimed_by_id) == (hub_id("bergsjon"), "open", None)
    alerts = [m for m in messages_of(handoff) if m.coordinator_id and m.sender == "system"]
    assert len(alerts) == 1 and f"/inbox/handoffs/{handoff}" in alerts[0].body and NUMBER not in alerts[0].body


def test_no_message_goes_to_a_resident_who_opted_out(ana):
    handoff = add_handoff()
    with session_scope() as session:
        session.get(Handoff, handoff).resident.opted_out = True
    response = ana.api(f"/api/handoffs/{handoff}/reply", {"body": "hej"})
    assert response.status_code == 409 and "opted out" in response.json()["detail"]
    assert "opted out (STOP)" in ana.get(f"/inbox/handoffs/{handoff}").text


def test_the_conversation_holds_the_residents_bots_and_coordinators_messages(ana):
    handoff = add_handoff(said=("jag vill ha jobb", "ja"), language="sv")
    with session_scope() as session:
        resident = session.get(Handoff, handoff).resident
        session.add(
            Message(
                resident_id=resident.id,
                handoff_id=handoff,
                direction="in",
                channel="sms",
                sender="resident",
                body="Är ni öppna i morgon?",
                status="to_coordinator",
            )
        )
    ana.api(f"/api/handoffs/{handoff}/reply", {"body": "Ja, 9–16."})
    detail = ana.get(f"/api/handoffs/{handoff}").json()
    assert [(m["sender"], m["body"]) for m in detail["messages"]] == [
        ("resident", "jag vill ha jobb"),
        ("bot", "Klart."),
        ("resident", "ja"),
        ("bot", "Klart."),
        ("resident", "Är ni öppna i morgon?"),
        ("coordinator", "Ja, 9–16."),
    ]
    assert detail["messages"][4]["in_this_handoff"] is True
    assert detail["resident"]["language"]["name"] == "Swedish"
    assert detail["waiting_since"] is None  # answered


def test_failed_deliveries_are_shown_without_the_number(ana):
    handoff = add_handoff(address=NUMBER)
    with session_scope() as session:
        resident = session.get(Handoff, handoff).resident
        session.add(
            Message(
                resident_id=resident.id,
                handoff_id=handoff,
                direction="out",
                channel="sms",
                sender="coordinator",
                body="Ring mig",
                status="undelivered",
                error=f"twilio 400 21211: The 'To' number {NUMBER} is not a valid phone number",
            )
        )
    detail = ana.get(f"/api/handoffs/{handoff}").json()
    failed = detail["messages"][-1]
    assert failed["delivery_failed"] is True and detail["failed_deliveries"] == 1
    assert NUMBER not in failed["error"] and "21211" in failed["error"]
    page = ana.get(f"/inbox/handoffs/{handoff}").text
    assert "not delivered" in page and 'class="msg msg-coordinator msg-out failed"' in page
    assert "could not be delivered" in page and NUMBER not in page


def test_the_list_shows_language_topic_hub_and_waiting_time(ana):
    handoff = add_handoff(language="ar", topic="start_business", area="Angered")
    [item] = ana.get("/api/handoffs").json()
    assert (item["id"], item["language"]["name"], item["topic"], item["hub"]["slug"]) == (
        handoff,
        "Arabic",
        "start_business",
        "hjallbo",
    )
    assert item["waiting_seconds"] is not None and item["waiting_seconds"] >= 0
    page = ana.get("/inbox").text
    assert "Arabic" in page and "start_business" in page and "Framtidshubben Hjällbo" in page and "waiting" in page
