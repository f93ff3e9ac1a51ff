"""Erasing one resident (GDPR Art. 17), asked for by SMS keyword or in person at a hub.

``erase`` removes the resident's messages (their delivery records with them), the
handoffs they asked for with their summaries, the coordinators' alerts about those
handoffs, their events in Rasa's tracker store and the resident row with the phone
number. It keeps only what the law asks: an opt-out, as an HMAC of the number
(``OptOut``), so that a resident who said STOP is still not texted when they write
again; and one audit line of ids and a count.

By keyword (RADERA, DELETE... in every language; ``common.keywords``) the resident
gets a code to send back within ``CONFIRM`` (``request``); the code confirms
(``answer``), anything else cancels, so a typo erases nothing.
"""

from __future__ import annotations

import functools
import hashlib
import hmac
import logging
import secrets
import unicodedata
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from sqlalchemy import (
    Column,
    Float,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    create_engine,
    delete,
    inspect,
    or_,
    select,
)
from sqlalchemy.engine import Connection, CursorResult, Engine, make_url
from sqlalchemy.orm import Session
from sqlalchemy.sql import Executable

from gateway.models import Audit, Handoff, Message, OptOut, Resident, aware
from gateway.settings import get_settings

log = logging.getLogger("hubguide.erasure")

CONFIRM = timedelta(minutes=10)  # an erasure code is good this long
ERASE = "erase"  # audit action: an admin erased a resident who asked in person (actor: the admin)
ERASE_KEYWORD = "erase_keyword"  # audit action: the resident confirmed the keyword's code (no actor)

# Rasa's SQL tracker store keeps each event of a conversation in this table, under its
# sender_id: the resident's pseudonym. Only the columns read or filtered on here.
EVENTS = Table(
    "events",
    MetaData(),
    Column("id", Integer, primary_key=True),
    Column("sender_id", String(255)),
    Column("type_name", String(255)),
    Column("timestamp", Float),
    Column("intent_name", String(255)),
    Column("action_name", String(255)),
    Column("data", Text),
)


def app_url(url: str) -> str:
    """Rasa's tracker-store URL (written for SQLAlchemy 1.4 in Rasa's environment) as this
    environment's SQLAlchemy 2 reaches it: PostgreSQL through psycopg 3, the driver installed
    here, where the URL names psycopg2 or no driver (which means psycopg2)."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "postgresql" and parsed.drivername in ("postgresql", "postgresql+psycopg2"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    return parsed.render_as_string(hide_password=False)


class TrackerStore:
    """Rasa's tracker store, for deleting from its ``events`` table. Nothing to do where it
    does not exist yet (a SQLite file Rasa never wrote)."""

    def __init__(self, url: str) -> None:
        self.url = app_url(url)

    @functools.cached_property
    def engine(self) -> Engine:
        # Not gateway.db.make_engine: that one sets SQLite pragmas, and this is Rasa's file.
        # hide_parameters: an error names no pseudonym.
        return create_engine(self.url, hide_parameters=True, pool_pre_ping=True)

    def present(self) -> bool:
        """Whether Rasa made its table yet; raises when the store cannot be reached."""
        if self.url.startswith("sqlite:///") and not Path(self.url.split("///", 1)[1]).exists():
            return False
        return inspect(self.engine).has_table("events")

    def _delete(self, where) -> int:
        if not self.present():
            return 0
        with self.engine.begin() as conn:
            return conn.execute(delete(EVENTS).where(where)).rowcount

    def forget(self, sender_id: str) -> int:
        """Delete a conversation's events; how many there were."""
        return self._delete(EVENTS.c.sender_id == sender_id)

    def delete_before(self, moment: datetime) -> int:
        """Delete the events older than ``moment`` (Rasa stores epoch seconds)."""
        return self._delete(EVENTS.c.timestamp < moment.timestamp())


def tracker_store(url: str | None = None) -> TrackerStore:
    """The tracker store at ``url``, by default the configured one (one engine per URL and process)."""
    return _tracker_store(url or get_settings().tracker_store_sqlalchemy_url)


@functools.lru_cache
def _tracker_store(url: str) -> TrackerStore:
    return TrackerStore(url)


def affected(session: Session, statement: Executable) -> int:
    """Run a DELETE or UPDATE; how many rows it touched."""
    result = session.execute(statement)
    assert isinstance(result, CursorResult)  # what Session.execute gives for a DELETE or UPDATE
    return result.rowcount


# --- the opt-out that outlives its resident ------------------------------------------------------


def digest(address: str, secret: str | None = None) -> str:
    """A number as an opt-out keeps it: HMAC-SHA256 keyed with SECRET_KEY. One-way for whoever
    lacks the key; a new SECRET_KEY forgets the opt-outs kept this way (README)."""
    key = secret if secret is not None else get_settings().secret_key.get_secret_value()
    return hmac.new(key.encode(), address.encode(), hashlib.sha256).hexdigest()


def keep_opt_out(session: Session, resident: Resident) -> None:
    """Before a resident row goes: an SMS opt-out stays, as a digest of the number."""
    if resident.opted_out and resident.channel == "sms":
        session.merge(OptOut(digest=digest(resident.address), opted_out_at=resident.opted_out_at))


def take_kept_opt_outs(conn: Connection, addresses: list[str]) -> dict[str, datetime]:
    """The opt-outs kept for these SMS numbers, by number, taken off the list: a number that
    opted out before its resident row went is opted out again when it writes and its row is
    made anew (gateway.intake), and that row carries the opt-out from then on (it says START to
    opt back in). Only a new row needs this: an erased row's number gets a new row."""
    if not addresses:
        return {}
    by_digest = {digest(address): address for address in addresses}
    found = conn.execute(
        delete(OptOut).where(OptOut.digest.in_(by_digest)).returning(OptOut.digest, OptOut.opted_out_at)
    ).all()
    return {by_digest[row.digest]: row.opted_out_at for row in found}


# --- erasing ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Erased:
    messages: int
    handoffs: list[tuple[int, int | None]]  # (handoff id, hub id): the inbox hears they are gone
    tracker_events: int


def erase(
    session: Session,
    resident_id: int,
    tracker: TrackerStore | None,
    *,
    action: str = ERASE,
    actor_id: int | None = None,
    handoff_id: int | None = None,
) -> Erased | None:
    """Erase a resident (None: no such resident). The tracker store goes first: if it cannot be
    reached, this raises and the gateway's rows stay, so trying again erases everything."""
    resident = session.get(Resident, resident_id)
    if resident is None:
        return None
    session.flush()  # what the caller changed goes first; the rows below then go as they are
    events = tracker.forget(resident.pseudonym) if tracker is not None else 0
    handoffs = [
        tuple(row)
        for row in session.execute(select(Handoff.id, Handoff.hub_id).where(Handoff.resident_id == resident_id))
    ]
    ids = [handoff for handoff, _ in handoffs]
    messages = affected(
        session, delete(Message).where(or_(Message.resident_id == resident_id, Message.handoff_id.in_(ids)))
    )
    session.execute(delete(Handoff).where(Handoff.id.in_(ids)))
    keep_opt_out(session, resident)
    session.execute(delete(Resident).where(Resident.id == resident_id))
    session.add(
        Audit(
            actor_id=actor_id,
            action=action,
            handoff_id=handoff_id,
            resident_id=resident_id,
            count=messages + len(ids) + events + 1,
        )
    )
    log.info("resident %s erased: %d messages, %d handoffs, %d tracker events", resident_id, messages, len(ids), events)
    return Erased(messages, handoffs, events)


# --- by SMS keyword, with a code to confirm ---------------------------------------------------------


def request(resident: Resident, now: datetime) -> str:
    """A new erasure code for the resident to send back (four digits: never a menu's number)."""
    resident.erasure_code = str(1000 + secrets.randbelow(9000))
    resident.erasure_requested_at = now
    return resident.erasure_code


def digits(text: str) -> str:
    """The digits a message holds, in any script's digits ("٤٧٢١" is "4721")."""
    return "".join(str(unicodedata.digit(ch)) for ch in text if ch.isdigit())


def answer(resident: Resident, said: str, now: datetime) -> str | None:
    """What a message does to the erasure its resident asked for: "confirmed" (the code in time),
    "late" (the code too late), "cancelled" (anything else in time), or None (nothing asked, or
    asked long ago). Clears the request unless it is confirmed (``erase`` removes it then)."""
    if resident.erasure_code is None:
        return None
    asked = resident.erasure_requested_at
    in_time = asked is not None and now - aware(asked) <= CONFIRM
    is_code = digits(said) == resident.erasure_code
    if is_code and in_time:
        return "confirmed"
    resident.erasure_code = resident.erasure_requested_at = None
    return "late" if is_code else "cancelled" if in_time else None


async def erase_now(conversations, resident_id: int, *, actor_id: int, handoff_id: int | None) -> Erased | None:
    """An admin's erasure (the inbox, for a resident who asks in person): on the database thread,
    while no turn of the resident runs (``Conversations.alone``)."""
    from gateway import db

    async with conversations.alone(resident_id):
        return await db.in_session(
            functools.partial(erase, actor_id=actor_id, handoff_id=handoff_id), resident_id, tracker_store()
        )
