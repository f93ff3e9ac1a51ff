"""An open inbox page hears at once that a web resident ended the chat during a handoff:
the reply form gives way to the notice, and the list marks the row (Chromium, axe-core)."""

from __future__ import annotations

from tests.conftest import wait_for
from tests.e2e.test_accessibility import (  # noqa: F401 (fixtures)
    COORDINATOR,
    assert_accessible,
    browser,
    gateway,
    new_page,
    sign_in,
)
from tests.e2e.test_handoff import handoff_of
from tests.gateway.channels.test_web import Tab


def test_open_pages_hear_that_the_resident_left(gateway, browser):  # noqa: F811
    base = gateway[0]
    tab = Tab(base)
    sid = tab.start()
    tab.say("jag vill prata med en koordinator", language="sv")
    tab.reply()
    handoff = wait_for(lambda: handoff_of(sid), what="handoff")
    page = new_page(browser, base)
    sign_in(page, COORDINATOR)
    list_page = new_page(browser, base)
    sign_in(list_page, COORDINATOR)
    list_page.wait_for_selector("body[data-live=on]")
    page.goto(f"/inbox/handoffs/{handoff.id}")
    page.wait_for_selector("body[data-live=on]")
    assert page.locator("form.reply").count() == 1

    assert tab.client.call("session_end", timeout=10) is True

    page.wait_for_selector("#no-reply")
    assert page.locator("form.reply").count() == 0
    assert "ended the chat" in page.locator("#announce").text_content()
    list_page.wait_for_selector(f'tr[data-id="{handoff.id}"] .badge-left')
    assert_accessible(page, "handoff page after the resident left")
    assert page.errors == [] and list_page.errors == []
    tab.close()
