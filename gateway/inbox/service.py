"""What the inbox shows and does, for the API and the pages alike.

Every lookup goes through ``visible_handoff``: a handoff outside the user's
hub is reported as not found (404), never as forbidden, so its existence does
not leak. Views are plain dicts with no phone number in them (``mask``).
Each conversation shown (``detail_view``) is recorded in the audit trail.
"""

from __future__ import annotations

import re
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session, selectinload

from common import when
from common.hours import Week
from common.languages import DEFAULT_LANGUAGE, language_name
from gateway import handoff as handoffs
from gateway.channels.gsm import MAX_BODY
from gateway.inbox.security import User, aware
from gateway.models import Audit, Coordinator, Handoff, Hub, Message, utcnow
from gateway.store import mask

ACTIVE = ("open", "claimed")
STATUSES = {
    "active": ACTIVE,
    "open": ("open",),
    "claimed": ("claimed",),
    "closed": ("closed",),
    "all": ("open", "claimed", "closed"),
}
FAILED = ("failed", "undelivered")
OUTCOME_LABELS = {
    "work": "Work",
    "studies": "Studies",
    "business": "Business",
    "other_service": "Referred to another service",
    "no_contact": "No contact",
}
SENDER_LABELS = {"resident": "Resident", "bot": "Bot", "system": "System", "coordinator": "Coordinator"}
READ = "read_conversation"  # the audit action of a coordinator opening a handoff's conversation
# Provider error texts can quote the number they failed on.
NUMBER_LIKE = re.compile(r"\+\d[\d ()-]{6,}\d|\b\d{9,15}\b")


class NotVisible(LookupError):
    """No such handoff, or not in the user's hubs: answered 404 either way."""


class Invalid(ValueError):
    """A request that can never succeed as sent (422)."""


class Conflict(Exception):
    """A request the handoff's current state does not allow (409)."""


def visible_handoff(session: Session, user: User, handoff_id: int) -> Handoff:
    """The handoff, if the user may see it. Notes who asked (``session.info``): ``detail_view``
    records the read for them."""
    found = session.scalars(select(Handoff).where(Handoff.id == handoff_id, handoffs.visible_to(user))).first()
    if found is None:
        raise NotVisible(handoff_id)
    session.info.setdefault("inbox_readers", {})[found.id] = user.id
    return found


def _waiting(handoff: Handoff, last_resident: datetime | None, last_coordinator: datetime | None) -> datetime | None:
    """Since when the resident has been waiting for a coordinator; None when answered."""
    if handoff.status == "closed":
        return None
    if last_coordinator is None:
        return aware(handoff.created_at)
    if last_resident is not None and last_resident > last_coordinator:
        return last_resident
    return None


def _last_messages(session: Session, ids: list[int]) -> dict[tuple[int, str], datetime]:
    if not ids:
        return {}
    rows = session.execute(
        select(Message.handoff_id, Message.sender, func.max(Message.created_at))
        .where(Message.handoff_id.in_(ids), Message.sender.in_(("resident", "coordinator")))
        .group_by(Message.handoff_id, Message.sender)
    ).all()
    return {(handoff_id, sender): aware(moment) for handoff_id, sender, moment in rows}


def summary_view(handoff: Handoff, last: dict[tuple[int, str], datetime], now: datetime | None = None) -> dict:
    now = now or utcnow()
    waiting_since = _waiting(handoff, last.get((handoff.id, "resident")), last.get((handoff.id, "coordinator")))
    gone = handoffs.unreachable(handoff.resident)
    return {
        "id": handoff.id,
        "status": handoff.status,
        "hub": {"id": handoff.hub.id, "slug": handoff.hub.slug, "name": handoff.hub.name} if handoff.hub else None,
        "crisis": handoff.crisis,
        "language": {"code": handoff.language, "name": language_name(handoff.language)},
        "topic": handoff.topic,
        "area": handoff.area,
        "channel": handoff.channel,
        "created_at": aware(handoff.created_at),
        "claimed_by": handoff.claimed_by.name if handoff.claimed_by else None,
        "claimed_by_id": handoff.claimed_by_id,
        "claimed_at": aware(handoff.claimed_at),
        "first_reply_at": aware(handoff.first_reply_at),
        "closed_at": aware(handoff.closed_at),
        "outcome": handoff.outcome,
        "waiting_since": waiting_since,
        "waiting_seconds": int((now - waiting_since).total_seconds()) if waiting_since else None,
        # The resident left (ended the web chat, or sent STOP): no reply can reach them.
        "unreachable": {"reason": gone.reason, "since": aware(gone.since)} if gone else None,
        "url": f"/inbox/handoffs/{handoff.id}",
    }


def list_handoffs(session: Session, user: User, status: str = "active", limit: int = 200) -> list[dict]:
    if status not in STATUSES:
        raise Invalid(f"status is one of: {', '.join(STATUSES)}")
    query = (
        select(Handoff)
        .where(handoffs.visible_to(user), Handoff.status.in_(STATUSES[status]))
        .options(selectinload(Handoff.hub), selectinload(Handoff.claimed_by), selectinload(Handoff.resident))
    )
    query = (
        query.order_by(Handoff.closed_at.desc(), Handoff.id.desc())
        if status == "closed"
        else query.order_by(Handoff.created_at, Handoff.id)
    )
    rows = session.scalars(query.limit(limit)).all()
    last = _last_messages(session, [h.id for h in rows])
    return [summary_view(h, last) for h in rows]


def scrub(error: str | None, address: str) -> str | None:
    """A delivery error as coordinators may see it: no phone number in it."""
    if not error:
        return error
    error = error.replace(address, mask("sms", address)) if address else error
    return NUMBER_LIKE.sub(lambda m: mask("sms", m.group(0)), error)


def message_view(message: Message, address: str, handoff_id: int) -> dict:
    buttons = (message.extra or {}).get("buttons") or []
    return {
        "id": message.id,
        "direction": message.direction,
        "sender": message.sender,
        "sender_label": message.coordinator.name
        if message.sender == "coordinator" and message.coordinator
        else SENDER_LABELS.get(message.sender, message.sender),
        "body": message.body,
        "buttons": [str(b.get("title", "")) for b in buttons if isinstance(b, dict)],
        "language": message.language,
        "status": message.status,
        "delivery_failed": message.direction == "out" and message.status in FAILED,
        "error": scrub(message.error, address) if message.direction == "out" else None,
        "created_at": aware(message.created_at),
        "in_this_handoff": message.handoff_id == handoff_id,
    }


def detail_view(session: Session, handoff: Handoff) -> dict:
    """The handoff with its conversation; the read is recorded for whom ``visible_handoff`` found it."""
    reader = session.info.get("inbox_readers", {}).get(handoff.id)
    if reader is not None:
        session.add(Audit(actor_id=reader, action=READ, handoff_id=handoff.id, resident_id=handoff.resident_id))
    last = _last_messages(session, [handoff.id])
    resident = handoff.resident
    messages = session.scalars(handoffs.residents_messages(handoff).options(selectinload(Message.coordinator))).all()
    view = summary_view(handoff, last)
    view.update(
        {
            "summary": handoff.summary,
            "resident": {
                "channel": resident.channel,
                "contact": mask(resident.channel, resident.address),
                "language": {"code": resident.language, "name": language_name(resident.language)},
                "opted_out": resident.opted_out,
            },
            "messages": [message_view(m, resident.address, handoff.id) for m in messages],
            "failed_deliveries": sum(1 for m in messages if m.direction == "out" and m.status in FAILED),
            # The hub's facts the coordinator's phrasebook fills in (common/phrases.py).
            "hub_facts": _hub_facts(handoff.hub, resident.language) if handoff.hub else {},
        }
    )
    return view


def _hub_facts(hub: Hub, language: str | None) -> dict:
    """The hub's facts for the phrasebook: the hours written in Swedish (shown to the coordinator)
    and in the resident's language (sent), or None while the hub has none."""
    week = Week.from_json(hub.hours) if hub.hours else None
    hours = (
        {code: when.hours(week, code) for code in {DEFAULT_LANGUAGE, language or DEFAULT_LANGUAGE}} if week else None
    )
    return {"hours": hours, "address": hub.address}


# --- actions ------------------------------------------------------------------------------


def _coordinator(session: Session, user: User) -> Coordinator:
    return session.get_one(Coordinator, user.id)  # signed in: the account is there (never deleted)


def claim(session: Session, user: User, handoff_id: int) -> Handoff:
    handoff = visible_handoff(session, user, handoff_id)
    try:
        handoffs.claim(session, handoff, _coordinator(session, user))
    except handoffs.HandoffError as exc:
        raise Conflict(str(exc)) from exc
    return handoff


def reply(session: Session, user: User, handoff_id: int, body: str) -> Message:
    handoff = visible_handoff(session, user, handoff_id)
    body = (body or "").strip()
    if not body:
        raise Invalid("write a reply first")
    if len(body) > MAX_BODY:
        raise Invalid(f"a reply can have at most {MAX_BODY} characters (this one has {len(body)})")
    try:  # refused when closed, or when the resident left (gateway.handoff.unreachable)
        message = handoffs.reply(session, handoff, _coordinator(session, user), body)
    except handoffs.HandoffError as exc:
        raise Conflict(str(exc)) from exc
    session.flush()
    return message


def reassign(session: Session, user: User, handoff_id: int, hub: str, inbox_url: str) -> tuple[Handoff, int | None]:
    """Move to another hub (whose on-duty coordinators get the alert SMS); returns the old hub's id
    (None: a crisis handoff from a resident whose hub was not known)."""
    handoff = visible_handoff(session, user, handoff_id)
    target = session.scalars(select(Hub).where(Hub.slug == hub, Hub.active)).first() if hub else None
    if target is None:
        raise Invalid(f"no active hub {hub!r}")
    if handoff.status == "closed":
        raise Conflict("the handoff is closed")
    if target.id == handoff.hub_id:
        raise Invalid("the handoff is already at that hub")
    old_hub = handoff.hub_id
    try:
        handoffs.reassign(session, handoff, target)
    except handoffs.HandoffError as exc:
        raise Conflict(str(exc)) from exc
    session.flush()
    (handoffs.alert_crisis if handoff.crisis else handoffs.alert_coordinators)(session, handoff, inbox_url)
    return handoff, old_hub


def close(session: Session, user: User, handoff_id: int, outcome: str) -> Handoff:
    handoff = visible_handoff(session, user, handoff_id)
    if outcome not in handoffs.OUTCOMES:
        raise Invalid(f"the outcome is one of: {', '.join(handoffs.OUTCOMES)}")
    try:
        handoffs.close(session, handoff, outcome)
    except handoffs.HandoffError as exc:
        raise Conflict(str(exc)) from exc
    return handoff


def hubs(session: Session) -> list[dict]:
    return [
        {"id": h.id, "slug": h.slug, "name": h.name, "municipality": h.municipality}
        for h in session.scalars(select(Hub).where(Hub.active).order_by(Hub.municipality, Hub.name))
    ]


def audit_page(
    session: Session, limit: int = 100, before: int | None = None, actor: int | None = None, handoff: int | None = None
) -> dict:
    """Audit lines, newest first, ``limit`` a page; ``next`` is the ``before`` of the next page (None: the last)."""
    query = (
        select(Audit, Coordinator.name)
        .outerjoin(Coordinator, Coordinator.id == Audit.actor_id)
        .order_by(Audit.id.desc())
        .limit(limit + 1)
    )
    for column, value in ((Audit.id, before), (Audit.actor_id, actor), (Audit.handoff_id, handoff)):
        if value is not None:
            query = query.where(column < value if column is Audit.id else column == value)
    rows = session.execute(query).all()
    items = [
        {
            "id": line.id,
            "at": aware(line.at),
            "actor_id": line.actor_id,
            "actor_name": name,
            "action": line.action,
            "handoff_id": line.handoff_id,
            "resident_id": line.resident_id,
            "coordinator_id": line.coordinator_id,
            "count": line.count,
        }
        for line, name in rows[:limit]
    ]
    return {"items": items, "next": items[-1]["id"] if len(rows) > limit else None}
