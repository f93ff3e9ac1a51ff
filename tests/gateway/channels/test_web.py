"""The web chat's socket, driven through a real gateway (uvicorn in a thread)
with python-socketio's own client and a stand-in for the Rasa server: origins,
server-issued signed sessions, one room a socket, rate limits, idle expiry, the
"end conversation" control and what a client may send as ``customData``.
tests/e2e/test_web_browser.py does the same in a real browser with the real bot."""

from __future__ import annotations

import asyncio
import logging
import threading
import time

import httpx
import pytest
import socketio
import uvicorn
from sqlalchemy import select

from common.texts import text
from gateway.app import create_app
from gateway.channels.web import client_address
from gateway.db import session_scope
from gateway.models import Message, Resident
from gateway.rasa_client import BotReply
from gateway.services import build
from stack.processes import free_port
from tests.conftest import CannedRasa, Recorder, wait_for

TIMEOUT = 10  # seconds for an event that is due now
EMBEDDING_PAGE = "https://kommun.example"


class Tab:
    """One browser tab's socket (python-socketio's client), sending ``origin`` as a browser would."""

    def __init__(self, base: str, origin: str | None = None) -> None:
        self.client = socketio.SimpleClient(websocket_extra_options={"origin": origin or base})
        self.client.connect(base, transports=["websocket"])

    def start(self, session_id=None) -> str:
        self.client.emit("session_request", {"session_id": session_id})
        event, confirmed = self.client.receive(timeout=TIMEOUT)
        assert event == "session_confirm"
        return confirmed

    def say(self, message: str, **custom) -> None:
        self.client.emit("user_uttered", {"message": message, "customData": custom or {"language": "sv"}})

    def next(self) -> tuple[str, object]:
        event, data = self.client.receive(timeout=TIMEOUT)
        return event, data

    def reply(self) -> str:
        event, data = self.next()
        assert event == "bot_uttered"
        return data["text"]

    def close(self) -> None:
        self.client.disconnect()


class Live:
    def __init__(self, settings) -> None:
        self.settings = settings
        self.bot = CannedRasa(lambda said: [BotReply(f"svar: {said}")])
        self.services = build(settings, rasa=self.bot, sms=Recorder())
        self.web = self.services.web
        self.tabs: list[Tab] = []
        self.base = ""

    def start(self) -> Live:
        port = free_port()
        self.base = self.settings.public_base_url = f"http://127.0.0.1:{port}"
        app = create_app(self.settings, self.services)
        self.server = uvicorn.Server(
            uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", timeout_graceful_shutdown=2)
        )
        self.thread = threading.Thread(target=self.server.run, daemon=True)
        self.thread.start()
        wait_for(lambda: self.server.started, timeout=60, what="the gateway to start")
        return self

    def tab(self, origin: str | None = None) -> Tab:
        tab = Tab(self.base, origin)
        self.tabs.append(tab)
        return tab

    def stop(self) -> None:
        for tab in self.tabs:
            tab.close()
        self.server.should_exit = True
        self.thread.join(10)


@pytest.fixture
def live(settings):
    """A gateway not started yet: a test may change its settings, then ``start()``."""
    running = Live(settings)
    yield running
    if running.base:
        running.stop()


@pytest.fixture
def chat(live):
    return live.start()


def said_in(session_id: str) -> list[str]:
    with session_scope() as session:
        return list(
            session.scalars(
                select(Message.body)
                .join(Resident)
                .where(Resident.channel == "web", Resident.address == session_id, Message.direction == "in")
                .order_by(Message.id)
            )
        )


# --- M5: origins --------------------------------------------------------------------------------


def test_only_the_gateways_own_page_and_the_pages_that_embed_the_widget_may_open_the_chat(live):
    live.settings.web_chat_origins = f"{EMBEDDING_PAGE}, https://bibliotek.example/chatt"
    live.start()
    assert live.tab().start()  # the gateway's own page (PUBLIC_BASE_URL's origin)
    assert live.tab(EMBEDDING_PAGE).start()
    assert live.tab("https://bibliotek.example").start()  # an origin is scheme, host and port: no path
    for other in ("https://evil.example", "http://kommun.example", "https://kommun.example:8443", "null"):
        with pytest.raises(socketio.exceptions.ConnectionError):
            live.tab(other)
    handshake = live.base + "/socket.io/?EIO=4&transport=polling"
    assert httpx.get(handshake, headers={"Origin": "https://evil.example"}).status_code == 400
    allowed = httpx.get(handshake, headers={"Origin": EMBEDDING_PAGE})
    assert allowed.status_code == 200 and allowed.headers["access-control-allow-origin"] == EMBEDDING_PAGE


# --- M5: sessions the server issued and signed -------------------------------------------------


def test_a_client_chosen_or_tampered_session_id_gets_a_fresh_one_that_the_server_signed(chat):
    tab = chat.tab()
    for chosen in (
        "aaaaaaaaaaaaaaaa",
        "0123456789abcdef0123456789abcdef",
        None,
        "",
        123,
        {"id": "x"},
        "a" * 100_000,
        "åäö.ÅÄÖ.öäå",
    ):
        issued = tab.start(chosen)
        assert issued != chosen and isinstance(issued, str) and len(issued) < 200
    issued = tab.start()
    assert chat.tab().start(issued) == issued  # what it issued, it takes back (a reload)
    for tampered in (
        issued[:-1] + ("A" if issued[-1] != "A" else "B"),
        "x" + issued[1:],
        issued + "x",
        issued.split(".")[0],
    ):
        fresh = chat.tab().start(tampered)
        assert fresh not in (tampered, issued)


def test_an_id_without_its_signature_never_joins_the_conversation_it_names(chat):
    resident, intruder = chat.tab(), chat.tab()
    session_id = resident.start()
    other = intruder.start(session_id.split(".")[0])  # the random part alone: what a client could choose
    assert other != session_id
    resident.say("mitt ärende")
    assert resident.reply() == "svar: mitt ärende"
    intruder.say("hej")  # had it joined the resident's room, their reply would have come first
    assert intruder.reply() == "svar: hej"
    assert said_in(session_id) == ["mitt ärende"] and said_in(other) == ["hej"]


def test_a_socket_is_in_one_conversation_at_a_time(chat):
    moving, staying = chat.tab(), chat.tab()
    first = moving.start()
    second = moving.start()  # a new session_request leaves the first conversation
    assert staying.start(first) == first
    staying.say("i den första")
    assert staying.reply() == "svar: i den första"
    moving.say("i den andra")
    assert moving.reply() == "svar: i den andra"  # not the first conversation's reply
    assert said_in(second) == ["i den andra"]


# --- M5: rate limits ---------------------------------------------------------------------------


def replies_and_notices(tab: Tab, count: int) -> tuple[list[str], list[str]]:
    slow_down = text("web_slow_down", "sv")
    texts = [tab.reply() for _ in range(count)]
    return [t for t in texts if t != slow_down], [t for t in texts if t == slow_down]


def test_a_conversation_over_its_limit_is_told_to_slow_down_and_nothing_more_is_stored(chat):
    tab = chat.tab()
    session_id = tab.start()
    for n in range(11):  # 10 a conversation within 10 seconds
        tab.say(f"meddelande {n}")
    replies, notices = replies_and_notices(tab, 11)
    assert len(replies) == 10 and len(notices) == 1  # the refused one is not lost silently
    assert len(said_in(session_id)) == 10 and len(chat.bot.heard) == 10


def test_a_socket_cannot_escape_the_limit_by_starting_conversations(chat):
    tab = chat.tab()
    first = tab.start()
    for n in range(10):
        tab.say(f"a{n}")
    replies, notices = replies_and_notices(tab, 10)
    assert (len(replies), len(notices)) == (10, 0)
    second = tab.start()  # the socket's 12th event within 10 seconds
    for n in range(10):
        tab.say(f"b{n}")
    replies, notices = replies_and_notices(tab, 10)
    assert (len(replies), len(notices)) == (8, 2)  # 20 events a socket within 10 seconds
    assert len(said_in(first)) == 10 and len(said_in(second)) == 8


def test_one_address_has_its_own_limit_on_connections_and_events(live):
    live.settings.web_chat_address_limit = "4/minute"
    live.start()
    live.tab().start()  # connect and session_request: 2
    live.tab().start()  # 4
    with pytest.raises(socketio.exceptions.ConnectionError):
        live.tab()


def test_the_address_is_the_clients_behind_a_trusted_proxy_only():
    scope = {"type": "websocket", "client": ("10.0.0.5", 4000), "headers": [(b"x-forwarded-for", b"203.0.113.7")]}
    assert asyncio.run(client_address(scope, "10.0.0.5")) == "203.0.113.7"
    assert asyncio.run(client_address(scope, "127.0.0.1")) == "10.0.0.5"  # anyone can write the header
    assert scope["client"] == ("10.0.0.5", 4000)  # the request's own scope is left alone


# --- M5/M6: idle sessions expire ---------------------------------------------------------------


def test_a_session_idle_longer_than_the_setting_starts_afresh(chat):
    idle = chat.settings.web_chat_idle_minutes * 60
    tab = chat.tab()
    session_id = tab.start()
    tab.say("hej")
    assert tab.reply() == "svar: hej"
    tab.close()

    chat.web.clock = lambda: time.time() + idle - 60  # still within the idle time: the same conversation
    assert chat.tab().start(session_id) == session_id
    chat.web.clock = lambda: time.time() + idle + 60
    assert chat.tab().start(session_id) != session_id


def test_an_unused_session_expires_from_when_it_was_issued(chat):
    unused = chat.tab().start()
    chat.web.clock = lambda: time.time() + chat.settings.web_chat_idle_minutes * 60 + 60
    assert chat.tab().start(unused) != unused


def test_a_message_after_the_idle_time_starts_a_fresh_session_without_the_old_conversation(chat):
    tab = chat.tab()
    session_id = tab.start()
    tab.say("förra personens fråga")
    assert tab.reply() == "svar: förra personens fråga"
    chat.web.clock = lambda: time.time() + chat.settings.web_chat_idle_minutes * 60 + 60
    tab.say("hej")
    event, fresh = tab.next()
    assert event == "session_confirm" and fresh != session_id  # the page starts afresh on this
    assert said_in(session_id) == ["förra personens fråga"] and said_in(fresh) == []
    assert len(chat.bot.heard) == 1


# --- M6: ending a conversation -----------------------------------------------------------------


def test_ending_a_conversation_makes_its_id_worthless(chat):
    tab = chat.tab()
    session_id = tab.start()
    tab.say("hej")
    assert tab.reply() == "svar: hej"
    assert tab.client.call("session_end", timeout=TIMEOUT) is True
    assert chat.tab().start(session_id) != session_id  # a copied id does not bring it back
    assert said_in(session_id) == []  # the conversation is no longer this id's
    with session_scope() as session:
        assert session.scalars(select(Resident).where(Resident.channel == "web")).one().address != session_id


# --- what a client sends -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "language", [{"code": "ar"}, ["ar"], "ar" * 50_000, 7, None], ids=["object", "list", "huge", "number", "null"]
)
def test_a_language_that_is_not_a_language_code_is_ignored(chat, caplog, language):
    chosen = []
    submit = chat.services.conversations.submit
    chat.services.conversations.submit = lambda *args, **kwargs: (
        chosen.append(kwargs.get("chosen_language")),
        submit(*args, **kwargs),
    )
    tab = chat.tab()
    tab.start()
    tab.client.emit("user_uttered", "not an object")
    tab.client.emit("user_uttered", {"message": "hej", "customData": "not an object"})
    tab.say("hej", language=language)
    tab.say("hej", language="ar")
    assert [tab.reply(), tab.reply(), tab.reply()] == ["svar: hej"] * 3
    assert chosen == [None, None, "ar"]  # the language is decided as usual (common.langid.decide)
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]


# --- M6: the page -------------------------------------------------------------------------------


def test_the_page_keeps_the_conversation_for_the_tab_only_and_offers_to_end_it(gateway):
    page = gateway.get("/?lang=ar").text
    assert 'storage: "session"' in page and '"local"' not in page
    assert f'<button type="button" id="end-chat" class="end">{text("web_end", "ar")}</button>' in page


def test_the_page_links_to_the_privacy_notice_in_its_language(gateway):
    page = gateway.get("/?lang=ar").text
    assert 'href="/privacy?lang=ar"' in page
    assert gateway.get("/privacy?lang=ar").status_code == 200


# --- buttons of a turn ------------------------------------------------------------------------


def test_a_turns_earlier_choices_stay_as_buttons_and_its_last_are_quick_replies(live):
    """rasa-webchat shows a message's quick replies only while it is the last: the other topics
    before the offer of a person would vanish with it (actions.conversation.ActionOfferHandoff)."""
    topics = [{"title": "CSN", "payload": "/study_finance"}]
    yes_no = [{"title": "Ja", "payload": "/affirm"}, {"title": "Nej", "payload": "/deny"}]
    live.bot.answer = lambda said: [
        BotReply("Svar."),
        BotReply("Eller menade du:", topics, optional=True),
        BotReply("Vill du att en koordinator svarar dig här?", yes_no),
    ]
    tab = live.start().tab()
    tab.start()
    tab.say("hur mycket får jag låna")
    answer, choices, offer = (tab.next()[1] for _ in range(3))
    assert answer == {"text": "Svar."}
    assert [b["payload"] for b in choices["buttons"]] == ["/study_finance"] and "quick_replies" not in choices
    assert [b["payload"] for b in offer["quick_replies"]] == ["/affirm", "/deny"] and "buttons" not in offer
