"""Storing residents and messages. Nothing is acted on before it is stored."""
from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from bot.models import Message, Resident, utcnow


def mask(channel: str, address: str) -> str:
    """What logs and coordinators' screens show instead of a phone number."""
    if channel != "sms":
        return f"{channel}:…{address[-4:]}"
    digits = [i for i, ch in enumerate(address) if ch.isdigit()]
    keep = set(digits[:3] + digits[-2:]) if len(digits) > 6 else set()
    return "".join(ch if (i in keep or not ch.isdigit()) else "•" for i, ch in enumerate(address))


def resident_for(session: Session, channel: str, address: str) -> Resident:
    """The resident behind a channel address, created on first contact."""
    query = select(Resident).where(Resident.channel == channel, Resident.address == address)
    resident = session.scalars(query).first()
    if resident is not None:
        resident.last_seen_at = utcnow()
        return resident
    try:
        with session.begin_nested():
            resident = Resident(channel=channel, address=address)
            session.add(resident)
    except IntegrityError:  # created meanwhile by another worker
        resident = session.scalars(query).one()
    return resident


def store_inbound(
    session: Session,
    resident: Resident,
    body: str,
    provider_id: str | None = None,
    extra: dict | None = None,
) -> Message | None:
    """Store what a resident sent; None when ``provider_id`` was stored already."""
    message = Message(
        resident_id=resident.id, direction="in", channel=resident.channel, sender="resident",
        body=body, provider_id=provider_id, status="received", extra=extra,
        language=resident.language,
    )
    try:
        with session.begin_nested():
            session.add(message)
    except IntegrityError:
        return None
    return message


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
