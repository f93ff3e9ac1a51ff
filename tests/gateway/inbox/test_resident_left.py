"""A resident who leaves while a handoff is open: a web resident who pressed the chat's "end
conversation" (gateway.channels.web.end_conversation), or anyone who sent STOP. The inbox says so
on the handoff's page and in the list, refuses replies (nothing is queued to a session nobody can
open again, or to a number that said STOP), and the coordinator still closes it with an outcome,
without a goodbye to nobody. tests/gateway/channels/test_web_end.py ends a chat over its socket."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from gateway.channels.web import LEFT, end_conversation
from gateway.db import session_scope
from gateway.models import Handoff, utcnow
from tests.conftest import wait_for
from tests.gateway.inbox.conftest import Browser, add_coordinator, add_handoff, hub_id, messages_of

SESSION_ID = "a1b2c3d4e5f6a7b8c9d0.signed"


@pytest.fixture
def ana(gateway):
    add_coordinator("ana@hjallbo.example", hub="hjallbo", name="Ana")
    return Browser(gateway, "ana@hjallbo.example")


def stop(handoff_id: int, opted_out: bool = True) -> None:
    """What the gateway records for STOP (gateway.conversation ``_opt``), and START undoes."""
    with session_scope() as session:
        resident = session.get(Handoff, handoff_id).resident
        resident.opted_out, resident.opted_out_at = opted_out, utcnow() if opted_out else None


def test_a_web_resident_who_ended_the_chat_is_shown_as_gone_and_no_reply_is_queued(ana):
    handoff = add_handoff(channel="web", address=SESSION_ID, language="en", said=("I need a job",))
    assert ana.api(f"/api/handoffs/{handoff}/reply", {"body": "Hello, I can help."}).status_code == 201
    wait_for(lambda: messages_of(handoff, direction="out")[0].status == "awaiting_connection", timeout=15)

    assert end_conversation(SESSION_ID) == [(handoff, hub_id("hjallbo"))]
    # The reply that waited for them to come back never will reach them, and the inbox says why.
    [waited] = messages_of(handoff, direction="out")
    assert (waited.status, waited.error) == ("failed", LEFT)

    detail = ana.get(f"/api/handoffs/{handoff}").json()
    assert detail["unreachable"]["reason"] == "ended_chat" and detail["status"] == "claimed"
    since = datetime.fromisoformat(detail["unreachable"]["since"].replace("Z", "+00:00"))
    assert abs(utcnow() - since) < timedelta(minutes=1)

    refused = ana.api(f"/api/handoffs/{handoff}/reply", {"body": "Are you still there?"})
    assert (refused.status_code, refused.json()["detail"]) == (
        409,
        "the resident ended the chat; replies cannot reach them",
    )
    form = ana.form(f"/inbox/handoffs/{handoff}/reply", {"body": "Are you still there?"})
    assert form.status_code == 409 and "The resident ended the chat; replies cannot reach them." in form.text
    assert len(messages_of(handoff, direction="out")) == 1  # nothing queued

    page = ana.get(f"/inbox/handoffs/{handoff}").text
    assert 'id="left-note"' in page and "The resident ended the chat at <time" in page
    assert f'action="/inbox/handoffs/{handoff}/reply"' not in page and 'id="no-reply"' in page
    assert f'action="/inbox/handoffs/{handoff}/close"' in page  # closing is still the coordinator's
    row = ana.get("/inbox").text.split(f'<tr data-id="{handoff}"')[1].split("</tr>")[0]
    assert "Resident ended the chat <time" in row and 'data-since=""' in row and ">waiting " not in row


def test_a_handoff_whose_resident_left_closes_with_its_outcome_and_no_goodbye(ana):
    handoff = add_handoff(channel="web", address=SESSION_ID, language="en", said=("I need a job",))
    end_conversation(SESSION_ID)
    closed = ana.api(f"/api/handoffs/{handoff}/close", {"outcome": "no_contact"})
    assert closed.status_code == 200 and (closed.json()["status"], closed.json()["outcome"]) == ("closed", "no_contact")
    assert messages_of(direction="out", sender="system") == []  # no goodbye to a chat nobody can open
    page = ana.get(f"/inbox/handoffs/{handoff}").text
    assert "No contact" in page and "The bot answers the resident again" not in page


def test_after_stop_the_inbox_says_so_alike_and_closing_sends_no_goodbye(ana):
    """Before, the reply form stayed, the list said nothing, and the goodbye was queued as a system
    message, which the outbox sends even after STOP (a crisis line must go out)."""
    handoff = add_handoff(address="+46701234567", language="ar")
    stop(handoff)
    assert ana.get(f"/api/handoffs/{handoff}").json()["unreachable"]["reason"] == "stop"
    refused = ana.api(f"/api/handoffs/{handoff}/reply", {"body": "hej"})
    assert refused.status_code == 409 and "opted out (STOP)" in refused.json()["detail"]
    page = ana.get(f"/inbox/handoffs/{handoff}").text
    assert "The resident opted out (STOP) at <time" in page and f'action="/inbox/handoffs/{handoff}/reply"' not in page
    assert "Opted out (STOP) <time" in ana.get("/inbox").text

    assert ana.api(f"/api/handoffs/{handoff}/close", {"outcome": "work"}).status_code == 200
    assert messages_of(direction="out", sender="system") == []  # no goodbye to a number that said STOP


def test_start_after_stop_makes_the_resident_reachable_again(ana):
    handoff = add_handoff(address="+46701234567", language="ar")
    stop(handoff)
    stop(handoff, opted_out=False)
    assert ana.get(f"/api/handoffs/{handoff}").json()["unreachable"] is None
    assert f'action="/inbox/handoffs/{handoff}/reply"' in ana.get(f"/inbox/handoffs/{handoff}").text
    assert ana.api(f"/api/handoffs/{handoff}/reply", {"body": "مرحبا"}).status_code == 201


def test_ending_a_chat_without_a_handoff_or_a_message_changes_nothing_else(ana):
    assert end_conversation("never-wrote") == []
    handoff = add_handoff(channel="web", address=SESSION_ID, language="en")
    assert ana.api(f"/api/handoffs/{handoff}/close", {"outcome": "work"}).status_code == 200
    assert end_conversation(SESSION_ID) == []  # its handoff closed already: no page to tell
