"""The load benches' counts of lost, duplicated and out of order (bench/sms_load/audit.py), on a
real gateway database, and the stand-in bot (bench/stand_in_bot.py) served for real."""

import asyncio
import json

from aiohttp import ClientSession, web

from bench.sms_load.audit import audit, order
from bench.stand_in_bot import PREFIX, make_app
from gateway import db
from gateway.db import session_scope
from gateway.intake import Inbound, store_now
from gateway.models import Resident
from gateway.store import queue_outbound


def store(number: str, text: str, sid: str) -> None:
    assert store_now(db.engine(), Inbound("sms", number, text, provider_id=sid)) is not None


def answer(number: str, text: str) -> None:
    with session_scope() as session:
        resident = session.query(Resident).filter_by(channel="sms", address=number).one()
        queue_outbound(session, resident, PREFIX + text)


def test_answers_in_another_order_than_the_messages_are_counted(settings):
    url = settings.sqlalchemy_url
    for number, answers in (("+46701000001", ["a", "b", "c"]), ("+46701000002", ["b", "a", "c"])):
        for i, text in enumerate("abc"):
            store(number, text, f"SM{number[-1]}{i}")
        for text in answers:
            answer(number, text)
    sent = {"+46701000001": list("abc"), "+46701000002": list("abc")}
    result = order(url, sent, bot_seen={}, answer_prefix=PREFIX)
    assert result["stored_out_of_order"] == 0
    assert result["answered_out_of_order"] == 1  # the second resident's
    assert result["seen_by_the_bot_out_of_order"] == 2  # the bot saw nothing of either


def test_the_privacy_notice_on_its_own_is_not_a_second_answer(settings):
    store("+46701000004", "hej", "SM4")
    with session_scope() as session:
        resident = session.query(Resident).filter_by(address="+46701000004").one()
        queue_outbound(session, resident, "NOTICE")
    answer("+46701000004", "hej")
    counted = audit(settings.sqlalchemy_url, None, ["SM4"], {"+46701000004": "sv"}, frozenset({"NOTICE"}))
    assert counted["inbound_answered_twice"] == 0 and counted["privacy_notices_on_their_own"] == 1
    assert audit(settings.sqlalchemy_url, None, ["SM4"], {"+46701000004": "sv"})["inbound_answered_twice"] == 1


def test_a_message_stored_twice_or_never_is_counted(settings):
    url = settings.sqlalchemy_url
    store("+46701000003", "hej", "SM1")
    answer("+46701000003", "hej")
    counted = audit(url, None, ["SM1", "SM2"], {"+46701000003": "sv"})
    assert counted["lost_not_stored"] == 1 and counted["stored_twice"] == 0
    assert counted["inbound_unanswered"] == 0 and counted["rasa_processed_twice"] is None


def test_the_stand_in_echoes_and_keeps_the_order_it_saw():
    async def scenario():
        runner = web.AppRunner(make_app(0.05))
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        port = runner.addresses[0][1]
        try:
            async with ClientSession() as client:
                base = f"http://127.0.0.1:{port}"
                for text in ("ett", "två"):
                    async with client.post(
                        base + "/webhooks/rest/webhook", json={"sender": "p1", "message": text}
                    ) as r:
                        assert await r.json() == [{"recipient_id": "p1", "text": PREFIX + text}]
                async with client.get(base + "/seen") as r:
                    seen = json.loads(await r.text())
                async with client.get(base + "/status") as r:
                    status = await r.json()
        finally:
            await runner.cleanup()
        return seen, status

    seen, status = asyncio.run(scenario())
    assert seen == {"p1": ["ett", "två"]}
    assert status["model_file"]
