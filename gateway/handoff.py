"""Handing a resident over to the coordinator of a hub, and the coordinator's
side of it: claim, reply, reassign, close.

A handoff is opened by the gateway when the bot's turn carries the
``{"handoff": ...}`` payload of ``action_handoff``, in the same transaction
that queues the message telling the resident it is done. While it is open
the bot is silent: what the resident writes goes to the coordinator.

A resident can leave while it is open: a web resident by the page's "end
conversation" (gateway.channels.web), anyone by STOP. The handoff stays open
for the coordinator to close with an outcome, but nothing more is queued to
the resident (``unreachable``).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol

from sqlalchemy import ColumnElement, and_, func, or_, select, true
from sqlalchemy.orm import Session, joinedload

from common.languages import language_name
from common.texts import text
from gateway.channels.web import ENDED
from gateway.models import Coordinator, Handoff, Hub, Message, Resident, utcnow
from gateway.store import queue_outbound

log = logging.getLogger("hubguide.handoff")

OUTCOMES = ("work", "studies", "business", "other_service", "no_contact")
# The conversation with the bot a handoff's coordinator sees: what led to it, this long before.
LEAD_IN = timedelta(hours=1)


class HandoffError(Exception):
    """A request the handoff's state does not allow (closed, unknown hub...)."""


@dataclass(frozen=True)
class Unreachable:
    """Why replies can no longer reach a resident, and since when (None: not known)."""

    reason: str  # "ended_chat" (the web chat's end button) | "stop" (opted out)
    since: datetime | None

    @property
    def refusal(self) -> str:
        """Why a reply is refused, as the coordinator is told."""
        if self.reason == "stop":
            return "the resident has opted out (STOP); no message can be sent to them"
        return "the resident ended the chat; replies cannot reach them"


def unreachable(resident: Resident) -> Unreachable | None:
    """Whether the resident has left: sent STOP (until START), or ended their web chat, whose
    address then no session names again (``gateway.channels.web.end_conversation``, which
    records the moment as the resident's ``last_seen_at``: nothing of theirs arrives after it)."""
    if resident.opted_out:
        return Unreachable("stop", resident.opted_out_at)
    if resident.channel == "web" and resident.address.startswith(ENDED):
        return Unreachable("ended_chat", resident.last_seen_at)
    return None


@dataclass(frozen=True)
class HandoffRequest:
    hub_slug: str
    language: str
    topic: str | None = None
    area: str | None = None
    note: str | None = None

    @classmethod
    def from_payload(cls, payload: dict) -> HandoffRequest:
        return cls(
            hub_slug=str(payload.get("hub") or ""),
            language=str(payload.get("language") or "sv"),
            topic=payload.get("topic"),
            area=payload.get("area"),
            note=payload.get("note"),
        )


def open_handoff(session: Session, resident: Resident) -> Handoff | None:
    """The resident's handoff that is not closed, if any: their latest (see ``latest_handoff``)."""
    latest = latest_handoff(session, resident)
    return latest if latest is not None and latest.status != "closed" else None


def latest_handoff(session: Session, resident: Resident) -> Handoff | None:
    """The resident's latest handoff, its hub loaded with it: one query where a turn made two.
    Their open handoff, if they have one, is this one: one is opened only when none is
    (``create``, ``open_crisis``), and a closed one stays closed."""
    return session.scalars(
        select(Handoff)
        .options(joinedload(Handoff.hub))
        .where(Handoff.resident_id == resident.id)
        .order_by(Handoff.id.desc())
        .limit(1)
    ).first()


def create(session: Session, resident: Resident, request: HandoffRequest) -> Handoff:
    """Store a consented handoff (or return the one already open)."""
    existing = open_handoff(session, resident)
    if existing is not None:
        return existing
    hub = session.scalars(select(Hub).where(Hub.slug == request.hub_slug)).first()
    if hub is None:
        raise HandoffError(f"unknown hub {request.hub_slug!r}")
    recent = session.scalars(
        select(Message.body)
        .where(_lead_in(resident.id, utcnow()), Message.direction == "in")
        .order_by(Message.id.desc())
        .limit(6)
    ).all()
    said = [body for body in reversed(recent) if body and not body.startswith("/")]
    handoff = Handoff(
        resident=resident,
        hub=hub,
        channel=resident.channel,
        language=request.language,
        topic=request.topic,
        area=request.area,
        summary="\n".join(said + ([f"({request.note})"] if request.note else [])),
    )
    session.add(handoff)
    session.flush()
    log.info("handoff %s opened for hub %s (topic %s, %s)", handoff.id, hub.slug, request.topic, request.language)
    return handoff


def alert_coordinators(session: Session, handoff: Handoff, inbox_url: str) -> int:
    """Queue an SMS to each on-duty coordinator of the hub who has a phone
    number: no name, number or words of the resident, only where to look."""
    body = text("coordinator_alert", "sv").format(
        topic=handoff.topic or "-", language=language_name(handoff.language), url=_inbox_link(handoff, inbox_url)
    )
    return _alert(session, handoff, body)


def open_crisis(session: Session, resident: Resident, kind: str, language: str, said: str) -> tuple[Handoff, str]:
    """Put a crisis message (common.crisis) before a person: the open handoff is
    flagged, or a new one opened at the hub the resident last talked to; with
    no hub known it waits for the admins, who see every hub. Returns the
    handoff and what happened to it: "created", "flagged" (an open handoff
    newly marked) or "already" (so the alert goes out once per handoff)."""
    handoff = open_handoff(session, resident)
    if handoff is not None:
        if handoff.crisis is not None:
            return handoff, "already"
        handoff.crisis = kind
        return handoff, "flagged"
    last = latest_handoff(session, resident)
    handoff = Handoff(
        resident=resident,
        hub_id=last.hub_id if last else None,
        channel=resident.channel,
        language=language,
        topic="crisis",
        crisis=kind,
        summary=said,
    )
    session.add(handoff)
    session.flush()
    log.warning("crisis handoff %s opened (%s, hub %s)", handoff.id, kind, handoff.hub_id or "not known")
    return handoff, "created"


def alert_crisis(session: Session, handoff: Handoff, inbox_url: str) -> int:
    """The crisis alert, to the hub's on-duty coordinators, or to the admins
    when no hub is known yet."""
    body = text("crisis_alert", "sv").format(
        kind=handoff.crisis, language=language_name(handoff.language), url=_inbox_link(handoff, inbox_url)
    )
    return _alert(session, handoff, body)


def _inbox_link(handoff: Handoff, inbox_url: str) -> str:
    return f"{inbox_url.rstrip('/')}/inbox/handoffs/{handoff.id}"


def _alert(session: Session, handoff: Handoff, body: str) -> int:
    who = Coordinator.hub_id == handoff.hub_id if handoff.hub_id is not None else Coordinator.role == "admin"
    coordinators = session.scalars(
        select(Coordinator).where(who, Coordinator.active, Coordinator.on_duty, Coordinator.phone.is_not(None))
    ).all()
    for coordinator in coordinators:
        session.add(
            Message(
                coordinator_id=coordinator.id,
                handoff_id=handoff.id,
                direction="out",
                channel="sms",
                sender="system",
                body=body,
                status="queued",
            )
        )
    return len(coordinators)


class Viewer(Protocol):
    """Who looks at handoffs: a ``Coordinator``, or the inbox's signed-in ``User`` (gateway.inbox.security)."""

    @property
    def role(self) -> str: ...
    @property
    def hub_id(self) -> int | None: ...


def visible_to(viewer: Viewer) -> ColumnElement[bool]:
    """A filter on Handoff for what a coordinator may see: their hub; admins all."""
    if viewer.role == "admin":
        return true()
    return Handoff.hub_id == viewer.hub_id


def claim(session: Session, handoff: Handoff, coordinator: Coordinator) -> None:
    if handoff.status == "closed":
        raise HandoffError("the handoff is closed")
    handoff.status, handoff.claimed_by, handoff.claimed_at = "claimed", coordinator, utcnow()


def reply(session: Session, handoff: Handoff, coordinator: Coordinator, body: str) -> Message:
    """Queue a coordinator's reply to the resident, on the resident's channel."""
    body = body.strip()
    if not body:
        raise HandoffError("an empty reply")
    if handoff.status == "closed":
        raise HandoffError("the handoff is closed")
    gone = unreachable(handoff.resident)
    if gone is not None:  # nothing queued for a session nobody can open, or a number that said STOP
        raise HandoffError(gone.refusal)
    if handoff.status == "open":
        claim(session, handoff, coordinator)
    message = queue_outbound(session, handoff.resident, body, sender="coordinator")
    message.coordinator_id, message.handoff_id = coordinator.id, handoff.id
    handoff.first_reply_at = handoff.first_reply_at or utcnow()
    return message


def reassign(session: Session, handoff: Handoff, hub: Hub) -> None:
    if handoff.status == "closed":
        raise HandoffError("the handoff is closed")
    handoff.hub, handoff.status, handoff.claimed_by, handoff.claimed_at = hub, "open", None, None


def close(session: Session, handoff: Handoff, outcome: str) -> Message | None:
    """Close with an outcome; the resident gets a short goodbye and the bot back, unless they
    left (``unreachable``): then there is no goodbye to queue (None)."""
    if outcome not in OUTCOMES:
        raise HandoffError(f"unknown outcome {outcome!r}")
    if handoff.status == "closed":
        raise HandoffError("the handoff is closed already")
    handoff.status, handoff.outcome, handoff.closed_at = "closed", outcome, utcnow()
    if unreachable(handoff.resident) is not None:
        return None
    municipality = handoff.hub.municipality if handoff.hub is not None else None  # Borås: its staff, not a coordinator
    message = queue_outbound(
        session, handoff.resident, text("handoff_closed", handoff.resident.language, municipality), sender="system"
    )
    message.handoff_id = handoff.id
    return message


def _lead_in(resident_id: int, opened: datetime):
    """A filter on Message: the resident's messages outside any handoff from ``LEAD_IN`` before
    ``opened`` on, none from before their previous handoff closed."""
    closed_before = (
        select(func.max(Handoff.closed_at))
        .where(Handoff.resident_id == resident_id, Handoff.closed_at <= opened)
        .scalar_subquery()
    )
    return and_(
        Message.resident_id == resident_id,
        Message.handoff_id.is_(None),
        Message.created_at >= opened - LEAD_IN,
        or_(closed_before.is_(None), Message.created_at > closed_before),
    )


def residents_messages(handoff: Handoff):
    """This handoff's conversation, oldest first: the bot turns that led to it (``_lead_in``), what
    the resident and the coordinators wrote in it, and what the bot said until it closed. Never what
    the resident said in another handoff: hub B does not read what they told hub A."""
    around = _lead_in(handoff.resident_id, handoff.created_at)
    if handoff.closed_at is not None:
        around = and_(around, Message.created_at <= handoff.closed_at)
    return select(Message).where(or_(Message.handoff_id == handoff.id, around)).order_by(Message.id)
