"""The coordinator phrasebook in Chromium: a coordinator who reads no Arabic opens
an Arabic resident's handoff, picks "I will call you" by its Swedish meaning,
adds a word of their own and sends; the resident's outgoing message holds the
Arabic phrase. The page, phrase list open, has no axe-core violation.

The gateway, its Rasa stand-in, the seeded handoffs and the browser are
tests/e2e/test_accessibility.py's (imported fixtures: one gateway per module).
"""

from __future__ import annotations

import pytest
from sqlalchemy import select

from common import when
from common.hours import parse_week
from common.phrases import phrase
from gateway.db import session_scope
from gateway.models import Handoff, Hub, Message
from tests.e2e.test_accessibility import (  # noqa: F401 (fixtures)
    COORDINATOR,
    assert_accessible,
    browser,
    expect,
    gateway,
    new_page,
    sign_in,
    tab_to,
)

pytestmark = pytest.mark.e2e

WEEK = parse_week("mon-fri 10-16")
HOURS = when.hours(WEEK, "sv")  # what the coordinator reads; the resident gets it in Arabic


@pytest.fixture
def page(browser, gateway):  # noqa: F811
    """The Arabic resident's handoff, signed in as Hjällbo's coordinator, at a hub with opening hours."""
    with session_scope() as session:
        session.scalars(select(Hub).where(Hub.slug == "hjallbo")).one().hours = WEEK.to_json()
    page = new_page(browser, gateway[0])
    sign_in(page, COORDINATOR)
    page.goto(f"/inbox/handoffs/{gateway[1]['arabic']}")
    page.wait_for_selector("body[data-live=on]")
    yield page
    page.context.close()


def test_a_phrase_picked_by_its_swedish_meaning_reaches_the_resident_in_arabic(page, gateway):  # noqa: F811
    arabic = phrase("call_you", "ar")
    book = page.locator("#phrases")
    book.locator("summary").click()
    expect(book.get_by_role("heading", name="I will call you")).to_be_visible()
    # The hub's facts are filled in: its opening hours, in the Swedish shown and the Arabic sent.
    expect(book.locator("button[data-key=hours_open] [lang=sv]")).to_have_text(f"Vi har öppet {HOURS}.")
    expect(book.locator("button[data-key=hours_open] .translation")).to_have_text(
        phrase("hours_open", "ar", hours=when.hours(WEEK, "ar"))
    )

    call = book.get_by_role("button", name="Jag ringer dig.", exact=False).first
    expect(call).to_have_attribute("data-text", arabic)
    expect(call.locator(".translation")).to_have_attribute("lang", "ar")
    expect(call.locator(".translation")).to_have_attribute("dir", "rtl")
    assert_accessible(page, "the handoff page with the phrase list open")

    reply = page.locator("#reply-body")
    reply.fill("أحمد،")  # the coordinator's own word first; the phrase goes in at the cursor, after a space
    call.click()
    expect(reply).to_be_focused()
    expect(reply).to_have_value(f"أحمد، {arabic}")
    page.keyboard.type(" 14:00")  # and a word after it
    expect(page.locator("#reply-count")).to_have_text(str(len(f"أحمد، {arabic} 14:00")))
    page.get_by_role("button", name="Send reply").click()
    expect(page.locator("main .notice")).to_have_text("Your reply is on its way to the resident.")

    with session_scope() as session:
        handoff = session.get(Handoff, gateway[1]["arabic"])
        sent = session.scalars(
            select(Message)
            .where(Message.handoff_id == handoff.id, Message.sender == "coordinator")
            .order_by(Message.id.desc())
        ).first()
        assert (sent.body, sent.direction, sent.channel) == (f"أحمد، {arabic} 14:00", "out", "sms")
        assert sent.resident_id == handoff.resident_id
    assert page.errors == []


def test_a_phrase_is_picked_with_the_keyboard_alone(page):
    page.locator("main a[href='/inbox']").focus()
    tab_to(page, "#phrases summary")
    page.keyboard.press("Enter")
    tab_to(page, "button[data-key=hello]", presses=1)  # the first phrase
    page.keyboard.press("Enter")
    reply = page.locator("#reply-body")
    expect(reply).to_be_focused()
    expect(reply).to_have_value(phrase("hello", "ar", name="Ana Koordinator", hub=page.locator("#hub").inner_text()))
    tab_to(page, "form.reply button[type=submit]", presses=1)  # the phrases are before the reply box
