"""Masking addresses, queueing messages to residents, and the hubs table with the facts their
coordinators keep. (What residents send is stored by ``gateway.intake``.)"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import event, select
from sqlalchemy.orm import Session

from common import hubs
from common.hours import ClosedRange, FactError, Week, closed_from_json, parse_week
from gateway import logs
from gateway.models import Hub, HubFactChange, Message, Resident


def mask(channel: str, address: str) -> str:
    """What logs and coordinators' screens show instead of a phone number."""
    if channel != "sms":
        return f"{channel}:…{address[-4:]}"
    digits = [i for i, ch in enumerate(address) if ch.isdigit()]
    keep = set(digits[:3] + digits[-2:]) if len(digits) > 6 else set()
    return "".join(ch if (i in keep or not ch.isdigit()) else "•" for i, ch in enumerate(address))


_QUEUED = "hubguide.queued"  # in a session's ``info``: it stored a message to someone (``queued``)


@event.listens_for(Session, "before_flush")
def _note_queued(session: Session, _context, _instances) -> None:
    """Every new row is flushed (at a query or at the commit), so a queued message is seen here
    however it was made: ``queue_outbound``, or ``gateway.handoff``'s alerts to coordinators."""
    if any(isinstance(obj, Message) and obj.direction == "out" for obj in session.new):
        session.info[_QUEUED] = True


def queued(session: Session) -> bool:
    """Whether ``session`` stored a message to someone (a resident, a coordinator): the outbox
    has something to send once it is committed."""
    return session.info.get(_QUEUED, False)


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
        extra=logs.carry(extra),  # the request id, so the reply's log line and latency follow the message
        language=resident.language,
    )
    session.add(message)
    return message


def sync_hubs(session: Session) -> None:
    """Insert or update the ``hubs`` table from the data file. The file seeds a hub's facts
    (address, phone, email, hours); a fact its coordinators have saved in the inbox (named in
    ``Hub.edited``) is theirs from then on, and the file no longer changes it."""
    existing = {h.slug: h for h in session.scalars(select(Hub))}
    for info in hubs.directory().hubs:
        row = existing.get(info.slug) or Hub(slug=info.slug)
        row.name, row.municipality = info.name, info.municipality
        row.lat, row.lon = info.point if info.point else (None, None)
        row.active = info.active
        seeds = {"address": info.address, "phone": info.phone, "email": info.email, "hours": _seed_hours(info)}
        for fact, value in seeds.items():
            if fact not in (row.edited or ()):
                setattr(row, fact, value)
        session.add(row)


def _seed_hours(info: hubs.HubInfo) -> dict | None:
    """data/hubs.yml's ``opening_hours`` ("mon-fri 9-16; sat 10-13", ``common.hours.parse_week``)."""
    try:
        return parse_week(info.opening_hours).to_json() if info.opening_hours else None
    except FactError as exc:
        raise ValueError(f"data/hubs.yml: {info.slug}: opening_hours: {exc}") from exc


# --- hub facts kept in the inbox ---------------------------------------------------------------------

FACTS = ("address", "phone", "hours", "drop_in", "languages", "closed_days")


@dataclass(frozen=True)
class HubFacts:
    """A hub's facts as residents' answers use them (gateway/promise.py)."""

    name: str
    municipality: str | None = None  # "Göteborg", "Borås": whose words the promise uses (gateway/promise.py)
    address: str | None = None
    phone: str | None = None
    hours: Week | None = None
    drop_in: Week | None = None
    languages: tuple[str, ...] = ()
    closed_days: tuple[ClosedRange, ...] = ()

    @classmethod
    def of(cls, hub: Hub) -> HubFacts:
        return cls(
            name=hub.name,
            municipality=hub.municipality,
            address=hub.address,
            phone=hub.phone,
            hours=Week.from_json(hub.hours) if hub.hours else None,
            drop_in=Week.from_json(hub.drop_in) if hub.drop_in else None,
            languages=tuple(hub.languages or ()),
            closed_days=closed_from_json(hub.closed_days),
        )


def save_hub_facts(session: Session, hub: Hub, actor_id: int, values: dict[str, Any]) -> list[str]:
    """Store the facts in ``values`` (as the database keeps them: ``FACTS``) that differ from the
    hub's, each with its line in the audit trail (who, when, before, after), and mark them as the
    inbox's, so ``sync_hubs`` leaves them alone. Returns the names of the facts that changed."""
    changed = []
    for fact in FACTS:
        if fact not in values or values[fact] == getattr(hub, fact):
            continue
        session.add(
            HubFactChange(actor_id=actor_id, hub_id=hub.id, fact=fact, before=getattr(hub, fact), after=values[fact])
        )
        setattr(hub, fact, values[fact])
        changed.append(fact)
    if changed:
        hub.edited = sorted(set(hub.edited or ()) | set(changed))
    return changed
