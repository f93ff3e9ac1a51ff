"""Handing a resident over to the coordinator of a hub."""
from __future__ import annotations

import logging
from dataclasses import dataclass

from sqlalchemy import select

from bot.db import session_scope
from bot.models import Handoff, Hub, Message, Resident

log = logging.getLogger("hubguide.handoff")


@dataclass(frozen=True)
class HandoffRequest:
    pseudonym: str
    hub_slug: str
    language: str
    topic: str | None
    area: str | None


def create(request: HandoffRequest) -> int | None:
    """Store the handoff; its id, or None when the conversation has no resident
    (for example a test post straight to Rasa) or the hub is unknown."""
    with session_scope() as session:
        resident = session.scalars(
            select(Resident).where(Resident.pseudonym == request.pseudonym)).first()
        hub = session.scalars(select(Hub).where(Hub.slug == request.hub_slug)).first()
        if resident is None or hub is None:
            log.warning("handoff not stored: %s", "no resident" if resident is None else "no hub")
            return None
        recent = session.scalars(
            select(Message.body)
            .where(Message.resident_id == resident.id, Message.direction == "in")
            .order_by(Message.id.desc()).limit(5)
        ).all()
        handoff = Handoff(
            resident=resident, hub=hub, channel=resident.channel, language=request.language,
            topic=request.topic, area=request.area,
            summary="\n".join(body for body in reversed(recent) if not body.startswith("/")),
        )
        session.add(handoff)
        session.flush()
        log.info("handoff %s to hub %s (topic %s, %s)", handoff.id, hub.slug, request.topic,
                 request.language)
        return handoff.id
