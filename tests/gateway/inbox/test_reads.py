"""What a coordinator reads of a resident: only this handoff's conversation (the security
review's M2), and every read recorded for the admins (issue 14 §3)."""

from __future__ import annotations

import json
from datetime import datetime, timedelta

import pytest
from sqlalchemy import select

from gateway.db import session_scope
from gateway.handoff import HandoffRequest
from gateway.handoff import create as create_handoff
from gateway.models import Audit, Handoff, Message, utcnow
from tests.conftest import resident as resident_for
from tests.gateway.inbox.conftest import Browser, add_coordinator

NUMBER = "+46701234567"
TOLD_HJALLBO = "Mitt personnummer är 19850101-1234"
HJALLBO_REPLIED = "Tack, vi ringer dig i morgon"
BETWEEN = "Hur söker jag sfi?"
TODAY = ("Jag vill starta företag", "Vill du prata med en koordinator?", "ja")
TO_BERGSJON = "Är ni öppna i dag?"


def say(session, resident, sender: str, body: str, at: datetime, handoff: int | None = None) -> None:
    session.add(
        Message(
            resident_id=resident.id,
            handoff_id=handoff,
            direction="in" if sender == "resident" else "out",
            channel="sms",
            sender=sender,
            body=body,
            status="answered",
            language="sv",
            created_at=at,
        )
    )


@pytest.fixture
def two_handoffs(gateway):
    """A resident who told Hjällbo's coordinator private things a month ago, and today is handed to Bergsjön."""
    add_coordinator("ana@hjallbo.example", hub="hjallbo")
    add_coordinator("bea@bergsjon.example", hub="bergsjon")
    add_coordinator("admin@hub.example", role="admin", hub=None)
    now, month_ago = utcnow(), utcnow() - timedelta(days=30)
    with session_scope() as session:
        resident = resident_for(session, "sms", NUMBER)
        say(session, resident, "resident", "Jag söker jobb", month_ago)
        say(session, resident, "bot", "Vill du prata med en koordinator?", month_ago + timedelta(minutes=1))
        earlier = create_handoff(session, resident, HandoffRequest("hjallbo", "sv", "job_search", "Hjällbo"))
        earlier.created_at = month_ago + timedelta(minutes=2)
        say(session, resident, "resident", TOLD_HJALLBO, month_ago + timedelta(minutes=5), earlier.id)
        say(session, resident, "coordinator", HJALLBO_REPLIED, month_ago + timedelta(minutes=9), earlier.id)
        earlier.status, earlier.outcome, earlier.closed_at = "closed", "work", month_ago + timedelta(days=1)
        say(session, resident, "resident", BETWEEN, now - timedelta(days=14))
        say(session, resident, "bot", "Så här söker du sfi.", now - timedelta(days=14))
        for minutes, sender, body in zip((10, 9, 8), ("resident", "bot", "resident"), TODAY, strict=True):
            say(session, resident, sender, body, now - timedelta(minutes=minutes))
        session.flush()
        later = create_handoff(session, resident, HandoffRequest("bergsjon", "sv", "start_business", "Bergsjön"))
        say(session, resident, "resident", TO_BERGSJON, now + timedelta(seconds=1), later.id)
        return earlier.id, later.id


def bodies(browser: Browser, handoff: int) -> list[str]:
    return [m["body"] for m in browser.get(f"/api/handoffs/{handoff}").json()["messages"]]


def test_a_coordinator_sees_only_this_handoffs_conversation_not_another_hubs_earlier_one(gateway, two_handoffs):
    earlier, later = two_handoffs
    bea = Browser(gateway, "bea@bergsjon.example")
    assert bodies(bea, later) == [*TODAY, TO_BERGSJON]  # the bot turns that led to it, then the handoff
    page = bea.get(f"/inbox/handoffs/{later}").text
    for private in (TOLD_HJALLBO, HJALLBO_REPLIED, BETWEEN):
        assert private not in page
    with session_scope() as session:
        assert TOLD_HJALLBO not in (session.get(Handoff, later).summary or "")  # nor in the summary


def test_the_earlier_handoff_ends_where_it_was_closed(gateway, two_handoffs):
    earlier, _ = two_handoffs
    ana = Browser(gateway, "ana@hjallbo.example")
    assert bodies(ana, earlier) == [
        "Jag söker jobb",
        "Vill du prata med en koordinator?",
        TOLD_HJALLBO,
        HJALLBO_REPLIED,
    ]


def audit_rows() -> list[dict]:
    with session_scope() as session:
        return [
            {c.name: getattr(row, c.name) for c in Audit.__table__.columns}
            for row in session.scalars(select(Audit).order_by(Audit.id))
        ]


def test_every_read_of_a_conversation_is_recorded_without_personal_data(gateway, two_handoffs):
    _, later = two_handoffs
    bea = Browser(gateway, "bea@bergsjon.example")
    bea_id = bea.get("/api/me").json()["id"]
    bea.get("/api/handoffs")  # the list shows no conversation: not a read
    bea.get(f"/api/handoffs/{later}")
    bea.get(f"/inbox/handoffs/{later}")
    rows = audit_rows()
    with session_scope() as session:
        resident = session.get(Handoff, later).resident_id
    assert [(r["actor_id"], r["action"], r["handoff_id"], r["resident_id"]) for r in rows] == [
        (bea_id, "read_conversation", later, resident)
    ] * 2
    assert all(r["at"] is not None for r in rows)
    text = json.dumps(rows, default=str, ensure_ascii=False)
    assert NUMBER not in text and TO_BERGSJON not in text and "bea@" not in text


def test_an_admin_lists_the_reads_page_by_page_and_a_coordinator_may_not(gateway, two_handoffs):
    earlier, later = two_handoffs
    bea, ana = Browser(gateway, "bea@bergsjon.example"), Browser(gateway, "ana@hjallbo.example")
    bea.get(f"/api/handoffs/{later}")
    ana.get(f"/api/handoffs/{earlier}")
    assert bea.get("/api/audit").status_code == 403
    admin = Browser(gateway, "admin@hub.example")
    first = admin.get("/api/audit?limit=1").json()
    assert [(e["actor_name"], e["handoff_id"]) for e in first["items"]] == [("Ana", earlier)]  # newest first
    second = admin.get(f"/api/audit?limit=1&before={first['next']}").json()
    assert [(e["actor_name"], e["action"], e["handoff_id"]) for e in second["items"]] == [
        ("Bea", "read_conversation", later)
    ]
    assert second["next"] is None  # the last page
    only = admin.get(f"/api/audit?handoff={later}").json()["items"]
    assert [e["handoff_id"] for e in only] == [later]
