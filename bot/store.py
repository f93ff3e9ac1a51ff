"""Masking addresses, and queueing messages to residents. (What residents send
is stored by ``bot.intake``.)"""
from __future__ import annotations

from sqlalchemy.orm import Session

from bot.models import Message, Resident


def mask(channel: str, address: str) -> str:
    """What logs and coordinators' screens show instead of a phone number."""
    if channel != "sms":
        return f"{channel}:…{address[-4:]}"
    digits = [i for i, ch in enumerate(address) if ch.isdigit()]
    keep = set(digits[:3] + digits[-2:]) if len(digits) > 6 else set()
    return "".join(ch if (i in keep or not ch.isdigit()) else "•" for i, ch in enumerate(address))


def queue_outbound(
    session: Session,
    resident: Resident,
    body: str,
    sender: str = "bot",
    extra: dict | None = None,
) -> Message:
    """Put a message to a resident in the outbox; the outbox worker delivers it."""
    message = Message(
        resident_id=resident.id, direction="out", channel=resident.channel, sender=sender,
        body=body, status="queued", extra=extra, language=resident.language,
    )
    session.add(message)
    return message
