"""Ending a web chat while a handoff is open, over the real socket (the gateway in a thread, as
tests/gateway/channels/test_web.py runs it): the coordinator's open inbox page hears of it at once
(a live event) and the handoff then says the resident left. What the inbox shows and refuses is in
tests/gateway/inbox/test_resident_left.py."""

from __future__ import annotations

import httpx
import pytest
from argon2 import PasswordHasher

from gateway.inbox import security
from tests.gateway.channels.test_web import TIMEOUT, Live
from tests.gateway.inbox.conftest import CSRF_DATA, Sse, add_coordinator, add_handoff, sign_in


@pytest.fixture
def chat(settings, monkeypatch):
    monkeypatch.setattr(security, "HASHER", PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1))
    running = Live(settings).start()
    yield running
    running.stop()


def test_ending_the_chat_tells_the_open_inbox_page_and_the_handoff_says_the_resident_left(chat):
    tab = chat.tab()
    session_id = tab.start()
    tab.say("jag vill prata med någon")
    assert tab.reply() == "svar: jag vill prata med någon"
    handoff = add_handoff(channel="web", address=session_id, language="sv", said=())
    add_coordinator("ana@hjallbo.example", hub="hjallbo")
    with httpx.Client(base_url=chat.base, timeout=TIMEOUT) as inbox:
        assert sign_in(inbox, "ana@hjallbo.example").status_code == 303
        assert inbox.get(f"/api/handoffs/{handoff}").json()["unreachable"] is None
        events = Sse(chat.base + "/inbox/events", inbox.cookies)
        try:
            assert tab.client.call("session_end", timeout=TIMEOUT) is True
            events.expect("handoff_updated", handoff=handoff)
        finally:
            events.close()
        assert inbox.get(f"/api/handoffs/{handoff}").json()["unreachable"]["reason"] == "ended_chat"


def test_ending_a_chat_without_a_handoff_tells_the_inbox_nothing(chat):
    add_coordinator("ana@hjallbo.example", hub="hjallbo")
    other = add_handoff(channel="web", address="another-conversation", language="sv")
    tab = chat.tab()
    tab.start()
    tab.say("hej")
    assert tab.reply() == "svar: hej"
    with httpx.Client(base_url=chat.base, timeout=TIMEOUT) as inbox:
        assert sign_in(inbox, "ana@hjallbo.example").status_code == 303
        events = Sse(chat.base + "/inbox/events", inbox.cookies)
        try:
            assert tab.client.call("session_end", timeout=TIMEOUT) is True
            # An event the test causes after the end: the first the page gets, so none came before it.
            token = CSRF_DATA.search(inbox.get("/inbox").text).group(1)
            assert inbox.post(f"/api/handoffs/{other}/claim", headers={"X-CSRF-Token": token}).status_code == 200
            kind, data, _ = events.events.get(timeout=TIMEOUT)
            assert (kind, data) == ("handoff_updated", {"handoff": other})
        finally:
            events.close()
