"""Live updates: the server-sent event stream, alone and through a real
gateway (uvicorn in a thread) handed a stand-in for the Rasa server, so the
path consent -> stored handoff -> coordinator's stream and SMS alert is tested
without a trained model. tests/e2e/test_handoff.py does it with the real bot."""

from __future__ import annotations

import asyncio
import threading
import uuid

import httpx
import pytest
import uvicorn
from sqlalchemy import select
from twilio.request_validator import RequestValidator

from common.texts import text
from gateway.app import create_app
from gateway.db import session_scope
from gateway.events import Bus, Event
from gateway.inbox import live
from gateway.inbox.security import User
from gateway.models import Coordinator, Handoff, Message, Resident
from gateway.rasa_client import BotReply
from gateway.services import build
from stack.processes import free_port
from tests.conftest import CannedRasa, wait_for
from tests.gateway.inbox.conftest import Sse, add_coordinator, sign_in

ANA = User(1, "Ana", "ana@hjallbo.example", "coordinator", 1, "Hjällbo", "t" * 43)
ADMIN = User(2, "Admin", "admin@hub.example", "admin", None, None, "t" * 43)


async def collect(stream, count: int, timeout: float = 2.0) -> list[str]:
    frames = []

    async def take():
        async for frame in stream:
            frames.append(frame)
            if len(frames) == count:
                return

    await asyncio.wait_for(take(), timeout)
    return frames


def test_the_stream_says_ready_then_sends_only_the_users_hub_and_only_ids():
    async def scenario():
        bus = Bus()
        stream = live.event_stream(bus, ANA, lambda: ANA)
        first = await stream.__anext__()
        assert first == f"event: ready\ndata: {{}}\nretry: {live.RETRY_MS}\n\n"  # reconnect after 2 s
        assert bus.listeners == 1  # listening before "ready" went out
        bus.publish(Event("handoff_created", 2, {"handoff": 7}))  # another hub
        bus.publish(Event("handoff_created", 1, {"handoff": 8, "body": "secret words", "phone": "+4670"}))
        frame = await stream.__anext__()
        await stream.aclose()
        return frame, bus.listeners

    frame, listeners = asyncio.run(scenario())
    assert frame == 'id: 1\nevent: handoff_created\ndata: {"handoff":8}\n\n'
    assert listeners == 0  # a closed stream stops listening


def test_a_frame_is_one_event_block_carrying_only_whole_number_ids():
    sent = live.frame("handoff_updated", {"handoff": 3, "closed": True, "note": "a\nb", "hub": 1.5}, 9)
    assert sent == 'id: 9\nevent: handoff_updated\ndata: {"handoff":3}\n\n'
    assert live.KEEPALIVE == ": keepalive\n\n"  # a comment: EventSource ignores it


def test_an_admin_gets_every_hubs_events():
    assert live.allowed(ADMIN, Event("message_in", 5, {})) and live.allowed(ADMIN, Event("x", None, {}))
    assert not live.allowed(ANA, Event("message_in", 5, {})) and not live.allowed(ANA, Event("x", None, {}))


def test_the_stream_keeps_alive_and_ends_when_the_session_is_no_longer_good():
    async def scenario():
        good = iter([ANA, None])
        stream = live.event_stream(Bus(), ANA, lambda: next(good), keepalive=0.05)
        return await collect(stream, 3)

    ready, keepalive, signed_out = asyncio.run(scenario())
    assert keepalive == ": keepalive\n\n" and "event: signed_out" in signed_out


def test_the_stream_ends_after_its_lifetime_so_the_browser_reconnects():
    async def scenario():
        stream = live.event_stream(Bus(), ANA, lambda: ANA, keepalive=0.05, lifetime=0.12)
        return [frame async for frame in stream]

    frames = asyncio.run(asyncio.wait_for(scenario(), 2))
    assert "event: ready" in frames[0] and len(frames) <= 4


# --- through a real gateway ----------------------------------------------------------------


def answer(said: str) -> list[BotReply]:
    """As the bot would: "koordinator" gets the handoff payload of action_handoff."""
    if "koordinator" in said:
        handoff = {"hub": "hjallbo", "language": "sv", "topic": "job_search", "area": "Hjällbo", "note": None}
        return [
            BotReply("", custom={"handoff": handoff}),
            BotReply("Klart. Koordinatorn på Framtidshubben Hjällbo svarar."),
        ]
    return [BotReply("Hej! Vad kan jag hjälpa dig med?")]


@pytest.fixture
def bot():
    return CannedRasa(answer)


@pytest.fixture
def live_gateway(settings, bot):
    port = free_port()
    settings.public_base_url = f"http://127.0.0.1:{port}"  # plain http here: the cookie is not Secure
    app = create_app(settings, build(settings, rasa=bot))
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", timeout_graceful_shutdown=2)
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    wait_for(lambda: server.started, timeout=60)
    streams: list[Sse] = []
    yield settings.public_base_url, streams
    for stream in streams:
        stream.close()
    server.should_exit = True
    thread.join(10)


def browser(base: str, email: str) -> httpx.Client:
    client = httpx.Client(base_url=base, timeout=10)
    assert sign_in(client, email).status_code == 303
    return client


def text_in(base: str, settings, number: str, body: str) -> None:
    params = {
        "From": number,
        "To": "+46700000000",
        "Body": body,
        "MessageSid": f"SM{uuid.uuid4().hex}",
        "NumMedia": "0",
    }
    signature = RequestValidator(settings.twilio_auth_token.get_secret_value()).compute_signature(
        base + "/sms/webhook", params
    )
    assert httpx.post(base + "/sms/webhook", data=params, headers={"X-Twilio-Signature": signature}).status_code == 200


def sent_to(number: str) -> list[tuple[str, str, str]]:
    with session_scope() as session:
        return [
            tuple(row)
            for row in session.execute(
                select(Message.sender, Message.body, Message.status)
                .join(Resident)
                .where(Resident.address == number, Message.direction == "out")
                .order_by(Message.id)
            )
        ]


def test_a_handoff_reaches_its_hubs_stream_and_phone_and_the_bot_waits_until_close(live_gateway, settings, bot):
    base, streams = live_gateway
    add_coordinator("ana@hjallbo.example", hub="hjallbo", phone="+46709990001", name="Ana")
    add_coordinator("bea@bergsjon.example", hub="bergsjon", phone="+46709990002")
    ana, bea = browser(base, "ana@hjallbo.example"), browser(base, "bea@bergsjon.example")
    ana_events, bea_events = Sse(base + "/inbox/events", ana.cookies), Sse(base + "/inbox/events", bea.cookies)
    streams += [ana_events, bea_events]
    number = "+46701239999"

    text_in(base, settings, number, "jag vill prata med en koordinator")
    ana_events.expect("handoff_created")
    with session_scope() as session:
        handoff = session.scalars(select(Handoff)).one()
        handoff_id, hub = handoff.id, handoff.hub.slug
        alert = session.scalars(select(Message).where(Message.coordinator_id.is_not(None))).one()
        assert session.get(Coordinator, alert.coordinator_id).email == "ana@hjallbo.example"
    assert hub == "hjallbo"
    wait_for(lambda: sent_to(number) and sent_to(number)[0][2] == "dry_run", timeout=15)

    def alert_status():
        with session_scope() as session:
            return session.get(Message, alert.id).status == "dry_run"

    wait_for(alert_status, timeout=15)  # the alert SMS went (dry run), beside the resident's reply
    assert ana.get(f"/api/handoffs/{handoff_id}").status_code == 200

    # While it is open the bot is silent: the resident's words go to the coordinator.
    turns = len(bot.heard)
    text_in(base, settings, number, "Är ni öppna i morgon?")
    ana_events.expect("message_in", handoff=handoff_id)
    assert len(bot.heard) == turns and len(sent_to(number)) == 1
    detail = ana.get(f"/api/handoffs/{handoff_id}").json()
    assert detail["messages"][-1]["body"] == "Är ni öppna i morgon?" and detail["messages"][-1]["in_this_handoff"]

    csrf = {"X-CSRF-Token": ana.get("/inbox").text.split('data-csrf="')[1].split('"')[0]}
    assert ana.post(f"/api/handoffs/{handoff_id}/reply", json={"body": "Ja, 9–16!"}, headers=csrf).status_code == 201
    ana_events.expect("message_out", handoff=handoff_id)
    wait_for(lambda: sent_to(number)[-1] == ("coordinator", "Ja, 9–16!", "dry_run"), timeout=15)

    assert ana.post(f"/api/handoffs/{handoff_id}/close", json={"outcome": "work"}, headers=csrf).status_code == 200
    ana_events.expect("handoff_updated", handoff=handoff_id)
    wait_for(lambda: sent_to(number)[-1] == ("system", text("handoff_closed", "sv"), "dry_run"), timeout=15)

    text_in(base, settings, number, "hej igen")  # the bot answers again
    wait_for(lambda: sent_to(number)[-1][1] == "Hej! Vad kan jag hjälpa dig med?", timeout=15)
    assert bot.heard[-1][0] == "hej igen"
    assert bea_events.kinds() == []  # nothing of Hjällbo's reached Bergsjön's coordinator


def test_stop_during_a_handoff_tells_an_open_inbox_page_at_once(live_gateway, settings, bot):
    base, streams = live_gateway
    add_coordinator("ana@hjallbo.example", hub="hjallbo", phone="+46709990001", name="Ana")
    ana = browser(base, "ana@hjallbo.example")
    events = Sse(base + "/inbox/events", ana.cookies)
    streams.append(events)
    number = "+46701238888"
    text_in(base, settings, number, "jag vill prata med en koordinator")
    events.expect("handoff_created")
    with session_scope() as session:
        handoff_id = session.scalars(select(Handoff)).one().id

    text_in(base, settings, number, "STOP")

    events.expect("handoff_updated", handoff=handoff_id)  # the page redraws: replies cannot reach them
    assert ana.get(f"/api/handoffs/{handoff_id}").json()["unreachable"]["reason"] == "stop"


def test_the_event_stream_needs_a_session(live_gateway):
    base, _ = live_gateway
    assert httpx.get(base + "/inbox/events").status_code == 401
