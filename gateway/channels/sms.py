"""SMS through Twilio: a signed webhook in, the outbox's sender out.

The webhook checks Twilio's signature with the ``twilio`` package's own
``RequestValidator``, stores the message (once per ``MessageSid``), answers
Twilio at once with empty TwiML, and lets the bot's turn run afterwards. A
request without a signature, or larger than Twilio's ever are, is refused
before its body is read.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import replace
from urllib.parse import parse_qsl

from fastapi import APIRouter, HTTPException, Request, Response
from twilio.base.exceptions import TwilioRestException
from twilio.request_validator import RequestValidator
from twilio.rest import Client
from twilio.twiml.messaging_response import MessagingResponse

from gateway import db
from gateway.channels.gsm import MAX_BODY, SMS_SEGMENTS, segments
from gateway.db import session_scope
from gateway.intake import Inbound
from gateway.models import Message
from gateway.outbox import Delivery, PermanentError, TransientError
from gateway.settings import Settings
from gateway.store import mask

log = logging.getLogger("hubguide.sms")

router = APIRouter(prefix="/sms", tags=["sms"])

TWIML_EMPTY = str(MessagingResponse())
OPTED_OUT = 21610  # Twilio: the number has replied STOP
# Twilio's webhooks are small: a body of 1600 characters (an Arabic letter is 6
# bytes in the form) and ten media URLs come to about 15 KiB.
MAX_FORM_BYTES = 64 * 1024
MAX_MEDIA = 10  # Twilio's own limit of attachments to one message


def render(replies) -> tuple[str, list[dict]]:
    """A turn's replies as one SMS body. Buttons become numbered lines; the
    buttons returned are the ones a numeric reply refers to (the last set).
    While the body would not fit SMS_SEGMENTS, an optional reply
    (``BotReply.optional``) loses its last choice, and with none left it goes:
    one likely topic offered is better than none."""
    body, buttons = _joined(replies)
    while segments(body) > SMS_SEGMENTS and any(r.optional for r in replies):
        replies = [fewer for r in replies if (fewer := _one_less(r)) is not None]
        body, buttons = _joined(replies)
    return body, buttons


def _one_less(reply):
    """``reply`` with one choice less when it is optional: without its last button, or gone when
    it has one or none."""
    if not reply.optional:
        return reply
    return replace(reply, buttons=reply.buttons[:-1]) if len(reply.buttons) > 1 else None


def _joined(replies) -> tuple[str, list[dict]]:
    parts, buttons = [], []
    for reply in replies:
        part = reply.text
        if reply.buttons:
            buttons = reply.buttons
            part += "\n" + "\n".join(f"{i} {b['title']}" for i, b in enumerate(reply.buttons, 1))
        parts.append(part)
    return "\n\n".join(p for p in parts if p), buttons


def public_url(settings: Settings, request: Request) -> str:
    """The URL Twilio signed: the public base URL, not the address we bind."""
    url = settings.public_base_url.rstrip("/") + request.url.path
    return f"{url}?{request.url.query}" if request.url.query else url


async def verified_form(request: Request) -> dict[str, str]:
    """The form Twilio signed. Whoever posts is unknown until the signature
    checks, so nothing unsigned, declared larger than MAX_FORM_BYTES, or
    streaming past them is read (whole) or parsed."""
    settings: Settings = request.app.state.settings
    signature = request.headers.get("X-Twilio-Signature", "")
    if not signature:
        raise HTTPException(403, "invalid signature")
    declared = request.headers.get("Content-Length", "")
    if declared.isdecimal() and int(declared) > MAX_FORM_BYTES:
        raise HTTPException(413, "request too large")
    # Twilio posts application/x-www-form-urlencoded; the standard library's
    # parser costs a fraction of Starlette's multipart-capable form parsing.
    form = dict(parse_qsl((await capped_body(request)).decode("utf-8", "replace"), keep_blank_values=True))
    validator = RequestValidator(settings.twilio_auth_token.get_secret_value())
    if not validator.validate(public_url(settings, request), form, signature):
        raise HTTPException(403, "invalid signature")
    return form


async def capped_body(request: Request) -> bytes:
    """The body, refused once past MAX_FORM_BYTES: Starlette's ``request.body()``
    reads it whole whatever its size, and has no limit to set."""
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_FORM_BYTES:
            raise HTTPException(413, "request too large")
    return bytes(body)


def twiml() -> Response:
    return Response(TWIML_EMPTY, media_type="application/xml")


@router.post("/webhook", summary="Twilio's incoming-message webhook")
async def incoming(request: Request) -> Response:
    with db.acknowledging():  # the database thread's turns wait until it is answered
        return await acknowledge(request)


async def acknowledge(request: Request) -> Response:
    """Check, store once, start the turn, answer Twilio."""
    form = await verified_form(request)
    sender, sid = form.get("From", "").strip(), form.get("MessageSid", "").strip()
    if not sender or not sid:
        return Response("From and MessageSid are required", status_code=400)
    body = form.get("Body", "")[: MAX_BODY * 2]
    raw_media = form.get("NumMedia", "0")
    media = min(int(raw_media), MAX_MEDIA) if raw_media.isdecimal() else 0
    # Only how many attachments and of what type: the media itself is never fetched or kept.
    extra = (
        {"media": media, "media_types": [form.get(f"MediaContentType{i}", "") for i in range(media)]} if media else None
    )
    stored = await request.app.state.intake.store(Inbound("sms", sender, body, sid, extra))
    if stored is None:
        log.info("duplicate webhook %s from %s ignored", sid, mask("sms", sender))
    else:
        request.app.state.conversations.submit(stored.message_id, stored.resident_id)
    return twiml()


@router.post("/status", summary="Twilio's delivery status callback")
async def status(request: Request) -> Response:
    form = await verified_form(request)
    sid, state = form.get("MessageSid"), form.get("MessageStatus")
    if sid and state:
        await db.run(record_status, sid, state, form.get("ErrorCode"))
    return Response(status_code=204)


def record_status(sid: str, state: str, error_code: str | None) -> None:
    with session_scope() as session:
        message = session.query(Message).filter_by(channel="sms", direction="out", provider_id=sid).first()
        if message is not None:
            message.status = state
            message.error = error_code or message.error


class SmsSender:
    """Sends through Twilio's REST API, or only logs in dry-run."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.client = (
            None
            if settings.sms_dry_run
            else Client(settings.twilio_account_sid, settings.twilio_auth_token.get_secret_value())
        )

    async def send(self, delivery: Delivery) -> tuple[str, str | None]:
        body = delivery.body[:MAX_BODY]
        if self.client is None:
            # Not the body: coordinators' replies quote what residents told them.
            log.info(
                "dry-run SMS to %s: %d characters, %d segment(s)",
                mask("sms", delivery.address),
                len(body),
                segments(body),
            )
            return "dry_run", None
        try:
            sent = await asyncio.to_thread(
                self.client.messages.create,
                to=delivery.address,
                from_=self.settings.twilio_from_number,
                body=body,
                status_callback=self.settings.public_base_url.rstrip("/") + "/sms/status",
            )
        except TwilioRestException as exc:
            if exc.code == OPTED_OUT:
                raise PermanentError("resident opted out (21610)", opted_out=True) from exc
            if exc.status == 429 or exc.status >= 500:
                raise TransientError(f"twilio {exc.status} {exc.code}") from exc
            raise PermanentError(f"twilio {exc.status} {exc.code}: {exc.msg}") from exc
        except OSError as exc:
            raise TransientError(str(exc)) from exc
        return "sent", sent.sid  # accepted by Twilio; callbacks report the rest
