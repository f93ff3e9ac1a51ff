"""Masking addresses, queueing messages to residents, and the hubs table. (What residents send
is stored by ``gateway.intake``.)"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from common import hubs
from gateway.models import Hub, Message, Resident


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
        resident_id=resident.id,
        direction="out",
        channel=resident.channel,
        sender=sender,
        body=body,
        status="queued",
        extra=extra,
        language=resident.language,
    )
    session.add(message)
    return message


def sync_hubs(session: Session) -> None:
    """Insert or update the ``hubs`` table from the data file."""
    existing = {h.slug: h for h in session.scalars(select(Hub))}
    for info in hubs.directory().hubs:
        row = existing.get(info.slug) or Hub(slug=info.slug)
        row.name, row.municipality = info.name, info.municipality
        row.lat, row.lon = info.point if info.point else (None, None)
        row.address, row.opening_hours = info.address, info.opening_hours
        row.phone, row.email = info.phone, info.email
        row.active = info.active
        session.add(row)
