"""The SMS webhook, driven through the real gateway with requests signed by the
twilio package's own validator. The Rasa server is not running here, which is
itself a case the gateway must handle."""
import uuid

from twilio.request_validator import RequestValidator

from common.texts import text
from gateway.db import session_scope
from gateway.models import Message, Resident

NUMBER = "+46701234567"


def sign(settings, path, params, token=None):
    url = settings.public_base_url + path
    return RequestValidator(token or settings.twilio_auth_token.get_secret_value()).compute_signature(
        url, params)


def sms(body="jag vill ha jobb", sid=None, **extra):
    return {"From": NUMBER, "To": "+46700000000", "Body": body,
            "MessageSid": sid or f"SM{uuid.uuid4().hex}", "NumMedia": "0", **extra}


def post(gateway, settings, params, signature=None, path="/sms/webhook"):
    headers = {} if signature is False else {"X-Twilio-Signature": signature or sign(settings, path, params)}
    return gateway.post(path, data=params, headers=headers)


def messages():
    with session_scope() as session:
        return [(m.direction, m.sender, m.status, m.body) for m in session.query(Message).order_by(Message.id)]


def settle(gateway):
    gateway.portal.call(gateway.state.conversations.idle)


def test_an_unsigned_webhook_is_refused_and_nothing_is_stored(gateway, settings):
    response = post(gateway, settings, sms(), signature=False)
    assert response.status_code == 403
    assert messages() == []
    with session_scope() as session:
        assert session.query(Resident).count() == 0


def test_a_webhook_signed_with_another_token_or_url_is_refused(gateway, settings):
    params = sms()
    assert post(gateway, settings, params, signature=sign(settings, "/sms/webhook", params, "x" * 32)) \
        .status_code == 403
    wrong_url = RequestValidator(settings.twilio_auth_token.get_secret_value()).compute_signature(
        "http://testserver/sms/webhook", params)  # signed for the bound address, not the public one
    assert post(gateway, settings, params, signature=wrong_url).status_code == 403
    tampered = dict(params, Body="something else")
    assert post(gateway, settings, tampered, signature=sign(settings, "/sms/webhook", params)).status_code == 403
    assert messages() == []


def test_a_signed_message_is_stored_and_acknowledged_with_empty_twiml(gateway, settings):
    response = post(gateway, settings, sms("jag vill ha jobb"))
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/xml")
    assert "<Response />" in response.text and "<Message" not in response.text
    assert messages()[0][:2] == ("in", "resident") and messages()[0][3] == "jag vill ha jobb"


def test_a_retried_webhook_changes_nothing(gateway, settings):
    params = sms(sid="SM" + "1" * 32)
    assert post(gateway, settings, params).status_code == 200
    settle(gateway)
    before = [(direction, sender, body) for direction, sender, _, body in messages()]
    assert post(gateway, settings, params).status_code == 200
    settle(gateway)
    assert [(direction, sender, body) for direction, sender, _, body in messages()] == before
    assert len([m for m in before if m[0] == "in"]) == 1


def test_while_rasa_is_down_the_message_is_kept_and_the_resident_gets_an_apology(gateway, settings):
    post(gateway, settings, sms("jag vill ha jobb"))
    settle(gateway)
    inbound, apology = messages()
    assert inbound[2] == "bot_unavailable"
    assert apology[:2] == ("out", "system") and apology[3] == text("bot_unavailable", "sv")
    with session_scope() as session:
        assert session.query(Resident).one().language == "sv"


def test_the_apology_is_in_the_residents_language(gateway, settings):
    post(gateway, settings, sms("I am looking for a job in Gothenburg"))
    settle(gateway)
    assert messages()[-1][3] == text("bot_unavailable", "en")


def test_a_message_without_sender_or_sid_is_refused(gateway, settings):
    params = {"Body": "hej"}
    assert post(gateway, settings, params).status_code == 400
    assert messages() == []


def test_the_status_callback_is_signed_too_and_records_delivery(gateway, settings):
    with session_scope() as session:
        resident = Resident(channel="sms", address=NUMBER)
        session.add(Message(resident=resident, direction="out", channel="sms", sender="bot", body="hej",
                            status="sent", provider_id="SM" + "2" * 32))
    params = {"MessageSid": "SM" + "2" * 32, "MessageStatus": "delivered", "AccountSid": "AC1"}
    assert post(gateway, settings, params, signature=False, path="/sms/status").status_code == 403
    assert messages()[0][2] == "sent"
    assert post(gateway, settings, params, path="/sms/status").status_code == 204
    assert messages()[0][2] == "delivered"
