"""The SMS webhook, driven through the real gateway with requests signed by the
twilio package's own validator. The Rasa server is not running here, which is
itself a case the gateway must handle."""

import asyncio
import logging
import uuid

from twilio.base.exceptions import TwilioRestException
from twilio.request_validator import RequestValidator

from common.texts import text
from gateway import privacy
from gateway.app import create_app
from gateway.channels import sms as sms_channel
from gateway.channels.gsm import MAX_BODY
from gateway.channels.sms import SmsSender
from gateway.db import session_scope
from gateway.models import Message, Resident
from gateway.outbox import Delivery, Outbox
from gateway.services import build
from tests.conftest import CannedRasa, Recorder

NUMBER = "+46701234567"


def sign(settings, path, params, token=None):
    url = settings.public_base_url + path
    return RequestValidator(token or settings.twilio_auth_token.get_secret_value()).compute_signature(url, params)


def sms(body="jag vill ha jobb", sid=None, **extra):
    return {
        "From": NUMBER,
        "To": "+46700000000",
        "Body": body,
        "MessageSid": sid or f"SM{uuid.uuid4().hex}",
        "NumMedia": "0",
        **extra,
    }


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
    assert (
        post(gateway, settings, params, signature=sign(settings, "/sms/webhook", params, "x" * 32)).status_code == 403
    )
    wrong_url = RequestValidator(settings.twilio_auth_token.get_secret_value()).compute_signature(
        "http://testserver/sms/webhook", params
    )  # signed for the bound address, not the public one
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
    assert apology[:2] == ("out", "system") and apology[3] == text("bot_unavailable", "sv") + "\n\n" + privacy.notice(
        "sv", settings
    )
    with session_scope() as session:
        assert session.query(Resident).one().language == "sv"


def test_the_apology_is_in_the_residents_language(gateway, settings):
    post(gateway, settings, sms("I am looking for a job in Gothenburg"))
    settle(gateway)
    assert messages()[-1][3] == text("bot_unavailable", "en") + "\n\n" + privacy.notice("en", settings)


def test_a_message_without_sender_or_sid_is_refused(gateway, settings):
    params = {"Body": "hej"}
    assert post(gateway, settings, params).status_code == 400
    assert messages() == []


def test_the_status_callback_is_signed_too_and_records_delivery(gateway, settings):
    with session_scope() as session:
        resident = Resident(channel="sms", address=NUMBER)
        session.add(
            Message(
                resident=resident,
                direction="out",
                channel="sms",
                sender="bot",
                body="hej",
                status="sent",
                provider_id="SM" + "2" * 32,
            )
        )
    params = {"MessageSid": "SM" + "2" * 32, "MessageStatus": "delivered", "AccountSid": "AC1"}
    assert post(gateway, settings, params, signature=False, path="/sms/status").status_code == 403
    assert messages()[0][2] == "sent"
    assert post(gateway, settings, params, path="/sms/status").status_code == 204
    assert messages()[0][2] == "delivered"


# --- what an unauthenticated sender can cost, and what Twilio's errors and dry-runs leave in logs ---


def raw_post(settings, headers: dict, chunks: list[bytes]) -> tuple[int, int]:
    """POST /sms/webhook to the app's ASGI interface as a client would stream it; the
    status, and how many of the body's chunks the app read."""
    app = create_app(settings, build(settings, rasa=CannedRasa(), sms=Recorder()))
    read, answer = 0, []

    async def receive():
        nonlocal read
        if read == len(chunks):
            return {"type": "http.disconnect"}
        read += 1
        return {"type": "http.request", "body": chunks[read - 1], "more_body": read < len(chunks)}

    async def send(message):
        answer.append(message)

    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "https",
        "path": "/sms/webhook",
        "raw_path": b"/sms/webhook",
        "query_string": b"",
        "root_path": "",
        "headers": [(k.lower().encode(), v.encode()) for k, v in headers.items()],
        "client": ("203.0.113.9", 40000),
        "server": ("hubguide.example.org", 443),
    }
    asyncio.run(app(scope, receive, send))
    return answer[0]["status"], read


CHUNK = b"Body=" + b"a" * (64 * 1024 - 5)
FORM = {"content-type": "application/x-www-form-urlencoded"}


def test_a_body_declared_too_large_is_refused_before_any_of_it_is_read(settings):
    chunks = [CHUNK] * 200  # 12.5 MiB
    headers = {**FORM, "content-length": str(len(CHUNK) * 200), "x-twilio-signature": "c2lnbmVk"}
    assert raw_post(settings, headers, chunks) == (413, 0)


def test_a_streamed_body_is_read_only_up_to_the_cap(settings):
    chunks = [CHUNK] * 200  # no Content-Length: chunked
    status, read = raw_post(settings, {**FORM, "x-twilio-signature": "c2lnbmVk"}, chunks)
    assert status == 413
    assert read * len(CHUNK) <= sms_channel.MAX_FORM_BYTES + len(CHUNK)


def test_a_request_without_a_signature_is_refused_before_its_body_is_read(settings):
    status, read = raw_post(settings, {**FORM, "content-length": str(len(CHUNK) * 3)}, [CHUNK] * 3)
    assert (status, read) == (403, 0)


def test_a_signed_webhook_at_twilios_largest_is_still_taken(gateway, settings):
    body = "ب" * MAX_BODY  # 1600 Arabic letters: the longest body Twilio sends, 6 bytes each as a form
    media = {f"MediaContentType{i}": "image/jpeg" for i in range(10)} | {
        f"MediaUrl{i}": f"https://api.twilio.com/2010-04-01/Accounts/AC{'0' * 32}/Messages/MM{'0' * 32}/Media/ME{i}"
        for i in range(10)
    }
    assert post(gateway, settings, sms(body, NumMedia="10", **media)).status_code == 200
    assert messages()[0][3] == body


def test_num_media_is_capped_at_twilios_ten(gateway, settings):
    assert post(gateway, settings, sms("", NumMedia="2000000")).status_code == 200
    with session_scope() as session:
        extra = session.query(Message).filter_by(direction="in").one().extra
    assert extra["media"] == 10 and len(extra["media_types"]) == 10


class RefusingTwilio:
    """Twilio's REST client as it answers a number it cannot send to."""

    class messages:  # noqa: N801 - the client's attribute
        @staticmethod
        def create(**_):
            raise TwilioRestException(
                400,
                "/2010-04-01/Accounts/AC0/Messages.json",
                code=21211,
                method="POST",
                msg="Unable to create record: The 'To' number +46701234567 is not a valid phone number.",
            )


def test_twilios_error_reaches_neither_the_error_column_nor_the_logs_with_the_number(settings, caplog):
    caplog.set_level(logging.DEBUG)
    with session_scope() as session:
        session.add(
            Message(
                resident=Resident(channel="sms", address=NUMBER),
                direction="out",
                channel="sms",
                sender="coordinator",
                body="Hej, vi ses i morgon",
                status="queued",
            )
        )
    sender = SmsSender(settings)
    sender.client = RefusingTwilio()
    asyncio.run(Outbox({"sms": sender}).deliver_due())
    with session_scope() as session:
        message = session.query(Message).one()
        assert (message.status, message.error) == (
            "failed",
            "twilio 400 21211: Unable to create record: The 'To' number [☎] is not a valid phone number.",
        )
    assert "failed" in caplog.text and "701234567" not in caplog.text


def test_a_dry_run_logs_the_length_and_segments_not_the_body(settings, caplog):
    caplog.set_level(logging.INFO)
    body = "Hej Amina, ring mig på 031-123 45 67 så bokar vi en tid. /Ana, Hjällbo"
    sent = asyncio.run(SmsSender(settings).send(Delivery(1, "sms", NUMBER, body, None)))
    assert sent == ("dry_run", None)
    (line,) = [r.getMessage() for r in caplog.records if r.name == "hubguide.sms"]
    assert line == f"dry-run SMS to +467••••••67: {len(body)} characters, 1 segment(s)"
