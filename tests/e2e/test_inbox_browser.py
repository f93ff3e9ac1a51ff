"""The inbox in a real browser (headless Chromium through Playwright) against
the real processes: sign in, watch a new handoff appear without reloading
while an SMS resident consents, claim it, see the resident's next message
arrive live (as text, never markup), reply, and close."""

from __future__ import annotations

import time
import uuid

import pytest
from sqlalchemy import select

from bench.common import CHROMIUM, CHROMIUM_ARGS
from common.texts import text
from gateway.db import session_scope
from gateway.inbox import accounts
from gateway.models import Handoff, Resident
from tests.conftest import wait_for
from tests.e2e.conftest import SmsResident

pytestmark = pytest.mark.e2e

PASSWORD = "rönnbär kvällssol tältpinne"

if not CHROMIUM.exists():
    pytest.skip(
        "no Chromium at /usr/bin/chromium (apt-get install -y chromium); the browser test needs it",
        allow_module_level=True,
    )
sync_api = pytest.importorskip("playwright.sync_api", reason="the playwright package is not installed")


@pytest.fixture
def browser_page(stack):
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        page = browser.new_page(base_url=stack.gateway_url, locale="sv-SE")
        problems: list[str] = []
        page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda e: problems.append(str(e)))
        try:
            yield page, problems
        finally:
            browser.close()


def coordinator(hub: str) -> str:
    email = f"browser-{uuid.uuid4().hex[:8]}@hub.example"
    with session_scope() as session:
        accounts.create_coordinator(session, name="Bea Browser", email=email, hub=hub, password=PASSWORD)
    return email


def handoff_id(number: str) -> int:
    with session_scope() as session:
        return session.scalars(select(Handoff.id).join(Resident).where(Resident.address == number)).first()


def test_sign_in_see_a_new_handoff_live_claim_reply_and_close(stack, browser_page):
    page, problems = browser_page
    email = coordinator("hjallbo")
    phone = SmsResident(stack, f"+4670113{uuid.uuid4().int % 10000:04d}")

    page.goto("/inbox")  # not signed in: to the sign-in page
    assert "/inbox/login" in page.url
    page.fill("#email", email)
    page.fill("#password", PASSWORD)
    page.click("form.card button[type=submit]")
    page.wait_for_url("**/inbox")
    page.wait_for_selector("body[data-live=on]")  # the event stream is open
    page.evaluate("window.__sameDocument = true")

    phone.ask("jag vill ha jobb")
    phone.ask("ja")
    phone.ask("Hjällbo")
    consented = time.monotonic()
    phone.ask("nej")
    new_id = wait_for(lambda: handoff_id(phone.number), what="the handoff")
    row = page.wait_for_selector(f'tr[data-id="{new_id}"]', timeout=15000)
    seen = time.monotonic() - consented
    assert page.evaluate("window.__sameDocument") is True, "the page reloaded"
    assert "Swedish" in row.inner_text() and "job_search" in row.inner_text()
    print(f"\nnew handoff visible in the browser {seen * 1000:.0f} ms after the consent was posted")

    started = time.monotonic()
    page.click(f'tr[data-id="{new_id}"] a')
    page.wait_for_selector("#conversation")
    print(f"handoff page opened in {(time.monotonic() - started) * 1000:.0f} ms")
    body = page.inner_text("main")
    assert "jag vill ha jobb" in body and phone.number not in page.content() and "Swedish" in body

    page.click("form[action$='/claim'] button")
    page.wait_for_selector("#status.badge-claimed")
    page.wait_for_selector("body[data-live=on]")

    # The resident writes again: it appears without a reload, as text.
    page.evaluate("window.__sameDocument = true")
    hostile = 'Kan jag komma i morgon? <img src=x onerror="window.__pwned=1">'
    assert phone.send(hostile).status_code == 200
    arrived = page.wait_for_selector("#conversation li.msg-resident >> text=Kan jag komma i morgon?", timeout=15000)
    assert page.evaluate("window.__sameDocument") is True
    assert '<img src=x onerror="window.__pwned=1">' in arrived.inner_text()
    assert page.evaluate("window.__pwned") is None and page.query_selector("#conversation img") is None

    page.fill("#reply-body", "Hej! Välkommen till hubben i morgon kl 10.")
    page.click("form.reply button[type=submit]")
    page.wait_for_selector("text=Your reply is on its way")
    wait_for(lambda: phone.outbox()[-1:] == ["Hej! Välkommen till hubben i morgon kl 10."], what="the reply by SMS")
    assert page.query_selector("#conversation li.msg-coordinator >> text=Välkommen till hubben") is not None

    page.select_option("#close-outcome", "work")
    page.click("form[action$='/close'] button")
    page.wait_for_selector("#status.badge-closed")
    wait_for(lambda: phone.outbox()[-1:] == [text("handoff_closed", "sv")], what="the goodbye")

    page.goto("/inbox")
    assert page.query_selector(f'tr[data-id="{new_id}"]') is None  # closed: off the list
    timing = page.evaluate(
        "(() => { const n = performance.getEntriesByType('navigation')[0];"
        " return [n.responseEnd - n.startTime, n.loadEventEnd - n.startTime]; })()"
    )
    print(f"inbox list page: response {timing[0]:.0f} ms, loaded {timing[1]:.0f} ms")
    assert not [p for p in problems if "Content Security Policy" in p or "Uncaught" in p], problems
