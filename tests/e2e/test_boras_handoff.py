"""A Borås resident's handoff end to end (the gateway, the Rasa server with the trained model, the
action server), in Swedish and Arabic: from the offer to the promise of when the answer comes, no
message calls Borås's outreach staff (an officer, a study coach and a counsellor) coordinators,
whether the resident's municipality is known at the offer or only from the area they give, nor
while the staff have the conversation or when they close it; a Göteborg resident's handoff names
the hub's coordinator. The hubs have hours, so the promise says who answers them."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from common.hours import parse_week
from common.texts import text
from gateway.db import session_scope
from gateway.models import Handoff, Hub, Resident
from tests.conftest import wait_for
from tests.e2e.conftest import SmsResident
from tests.e2e.test_handoff import Inbox, handoff_of
from tests.test_municipality import folded, words

pytestmark = pytest.mark.e2e

HUBS = ("hjallbo", "norrby", "hassleholmen")

# (language, what the resident writes, the hub the handoff goes to)
BORÅS = [
    # Not known at the offer ("someone at the nearest hub or at Borås Stad"); then the area.
    ("sv", ["jag vill prata med en person", "ja", "Hässleholmen", "nej"], "hassleholmen"),
    # Known from the first message (Borås Stad's staff); "Norrby" alone is a name many towns share,
    # but this resident lives in Borås, so it is Borås's Norrby (actions/hub.py).
    ("ar", ["Hässleholmen في بوروس", "نعم", "Norrby", "لا"], "norrby"),
]
GÖTEBORG = [
    ("sv", ["jag bor i Hjällbo", "ja", "Hjällbo", "nej"], "hjallbo"),
    ("ar", ["أسكن في Hjällbo", "نعم", "Hjällbo", "لا"], "hjallbo"),
]


@pytest.fixture
def open_weekdays(stack):
    """The three hubs answer on weekdays 9-16 (as their staff would save it in the inbox); as they
    were afterwards."""
    with session_scope() as session:
        rows = session.scalars(select(Hub).where(Hub.slug.in_(HUBS))).all()
        before = {row.slug: row.hours for row in rows}
        for row in rows:
            row.hours = parse_week("mon-fri 9-16").to_json()
    yield
    with session_scope() as session:
        for row in session.scalars(select(Hub).where(Hub.slug.in_(HUBS))):
            row.hours = before[row.slug]


def hand_over(stack, number: str, turns: list[str]) -> list[str]:
    """Every SMS the resident gets, from the first message to the handoff's "Done"."""
    phone = SmsResident(stack, number)
    return [phone.ask(said) for said in turns]


def handoff_hub(number: str) -> str:
    with session_scope() as session:
        return session.scalars(select(Hub.slug).join(Handoff).join(Resident).where(Resident.address == number)).one()


@pytest.mark.parametrize("n, case", enumerate(BORÅS), ids=[case[0] for case in BORÅS])
def test_a_borås_residents_handoff_never_reads_coordinator(stack, open_weekdays, n, case):
    language, turns, hub = case
    number = f"+4670129000{n}"
    said = hand_over(stack, number, turns)
    assert handoff_hub(number) == hub
    coordinator, _ = words()[language]
    assert not [reply for reply in said if coordinator in folded(reply)], said
    # The promise names who answers: Borås Stad's staff.
    if language == "sv":  # an Arabic SMS may leave the hours out for its budget (gateway/promise.py)
        assert text("handoff_hours", language, "boras").split("{")[0] in said[-1], said[-1]


@pytest.mark.parametrize("n, case", enumerate(GÖTEBORG), ids=[case[0] for case in GÖTEBORG])
def test_a_göteborg_residents_handoff_names_the_coordinator(stack, open_weekdays, n, case):
    language, turns, hub = case
    number = f"+4670129100{n}"
    said = hand_over(stack, number, turns)
    assert handoff_hub(number) == hub
    coordinator, _ = words()[language]
    assert coordinator in folded(said[0]), said[0]  # the offer
    if language == "sv":
        assert text("handoff_hours", language).split("{")[0] in said[-1], said[-1]


def test_borås_stads_staff_have_the_conversation_and_close_it(stack):
    phone = SmsResident(stack, "+46701292000")
    for said in ["jag vill prata med en person", "ja", "Hässleholmen", "nej"]:
        phone.ask(said)
    handoff = handoff_of(phone.number)
    # A language keyword while the staff have the floor: the bot stays out of it.
    assert phone.ask("svenska") == text("handoff_open", "sv", "Borås")
    staff = Inbox(stack, "hassleholmen")
    assert staff.post(f"/api/handoffs/{handoff.id}/close", {"outcome": "work"}).status_code == 200
    wait_for(lambda: phone.outbox()[-1:] == [text("handoff_closed", "sv", "Borås")], what="the goodbye")
    assert not [body for body in phone.outbox() if "koordinator" in folded(body)], phone.outbox()
