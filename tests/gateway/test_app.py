"""The gateway runs with the collaborators it is handed (gateway/services.py),
and builds the real ones from the settings when it is handed none."""

from gateway import privacy
from gateway.db import session_scope
from gateway.models import Message
from gateway.rasa_client import BotReply
from gateway.services import build
from tests.conftest import CannedRasa, Recorder, running
from tests.gateway.channels.test_sms import NUMBER, post, sms


def test_an_sms_is_answered_through_the_bot_and_the_sender_the_gateway_is_handed(settings):
    bot = CannedRasa(lambda said: [BotReply("Vilket område bor du i?", [{"title": "Hjällbo", "payload": "/area"}])])
    sender = Recorder()
    with running(settings, build(settings, rasa=bot, sms=sender)) as gateway:
        assert post(gateway, settings, sms("jag vill ha jobb")).status_code == 200
        assert sender.delivered.wait(10), "nothing was sent"
    assert bot.heard == [("jag vill ha jobb", {"language": "sv", "channel": "sms"})]
    notice = privacy.notice("sv", settings)
    # The first reply carries the privacy notice (gateway/privacy.py).
    assert sender.sent == [(NUMBER, f"Vilket område bor du i?\n1 Hjällbo\n\n{notice}")]
    with session_scope() as session:
        assert session.query(Message).filter_by(direction="in").one().status == "answered"
    assert bot.closed  # the gateway closes the bot it was handed when it stops


def test_health_asks_the_bot_the_gateway_is_handed(settings):
    with running(settings, build(settings, rasa=CannedRasa())) as gateway:
        assert gateway.get("/health").json() == {"status": "ok", "bot": "ready"}


def test_handed_nothing_the_gateway_asks_the_real_rasa_server(gateway):
    assert gateway.get("/health").json() == {"status": "ok", "bot": "unavailable"}  # none runs here
