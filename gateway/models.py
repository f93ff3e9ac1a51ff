"""The database schema. Alembic migrations in ``gateway/migrations`` follow it."""

from __future__ import annotations

import uuid
from datetime import datetime, timezone
from typing import Any, overload

from sqlalchemy import (
    JSON,
    Boolean,
    DateTime,
    Float,
    ForeignKey,
    Integer,
    MetaData,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


@overload
def aware(moment: datetime) -> datetime: ...
@overload
def aware(moment: None) -> None: ...
@overload
def aware(moment: datetime | None) -> datetime | None: ...
def aware(moment: datetime | None) -> datetime | None:
    """SQLite gives datetimes back without a time zone; they are UTC."""
    if moment is not None and moment.tzinfo is None:
        return moment.replace(tzinfo=timezone.utc)
    return moment


def new_pseudonym() -> str:
    return uuid.uuid4().hex


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


class Hub(Base):
    """A hub or outreach point; rows are synced from ``data/hubs.yml``, whose facts (address, phone,
    hours) only seed what the hub's coordinators keep in the inbox (gateway/inbox/hub_facts.py): a
    fact saved there is named in ``edited`` and the file no longer sets it (``store.sync_hubs``)."""

    __tablename__ = "hubs"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    slug: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    municipality: Mapped[str] = mapped_column(String(100))
    lat: Mapped[float | None] = mapped_column(Float)
    lon: Mapped[float | None] = mapped_column(Float)
    address: Mapped[str | None] = mapped_column(String(300))
    phone: Mapped[str | None] = mapped_column(String(50))
    email: Mapped[str | None] = mapped_column(String(200))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    # When the coordinators answer, and drop-in times, per weekday in local time (common.hours.Week's
    # JSON: {"mon": [["09:00", "16:00"]], ...}); None: not known.
    hours: Mapped[dict | None] = mapped_column(JSON)
    drop_in: Mapped[dict | None] = mapped_column(JSON)
    languages: Mapped[list | None] = mapped_column(JSON)  # ISO 639-1 codes of the languages spoken there
    closed_days: Mapped[list | None] = mapped_column(JSON)  # [["2026-12-24", "2026-12-26"], ...], inclusive
    edited: Mapped[list | None] = mapped_column(JSON)  # names of the facts saved in the inbox


class HubFactChange(Base):
    """The audit trail of hub facts: who changed which fact of which hub, when, from what to what.
    A hub's facts are public (no one's personal data), so unlike ``Audit`` a line keeps the values.
    ``actor_id`` is a plain integer, as in ``Audit``: the line outlives the account."""

    __tablename__ = "hub_fact_changes"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    actor_id: Mapped[int | None] = mapped_column(Integer)
    hub_id: Mapped[int] = mapped_column(ForeignKey("hubs.id"), index=True)
    fact: Mapped[str] = mapped_column(String(32))
    before: Mapped[Any] = mapped_column(JSON, nullable=True)
    after: Mapped[Any] = mapped_column(JSON, nullable=True)


class Coordinator(Base):
    """A hub's coordinator (or an admin, who sees every hub). Managed by an
    admin in the inbox; never in the repository."""

    __tablename__ = "coordinators"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    email: Mapped[str] = mapped_column(String(200), unique=True)
    password_hash: Mapped[str] = mapped_column(String(300))
    role: Mapped[str] = mapped_column(String(16), default="coordinator")  # coordinator | admin
    hub_id: Mapped[int | None] = mapped_column(ForeignKey("hubs.id"), index=True)
    phone: Mapped[str | None] = mapped_column(String(50))  # for the new-handoff SMS
    on_duty: Mapped[bool] = mapped_column(Boolean, default=True)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    # Consecutive failed sign-ins (an attempt counts from the moment it is claimed), and no
    # attempt before ``locked_until`` (gateway.inbox.accounts.sign_in).
    failed_logins: Mapped[int] = mapped_column(Integer, default=0)
    locked_until: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # A password check under way since then: one at a time per account, in every process.
    verifying_since: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # Part of every session cookie; signing out adds one, which ends all the account's sessions.
    session_generation: Mapped[int] = mapped_column(Integer, default=0)
    # A one-time password (made by an admin) is to be replaced at the first sign-in.
    must_change_password: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    # The second sign-in step (TOTP, gateway.inbox.second_factor): the key the authenticator app
    # shares (base32; never shown after set-up, never logged), on since ``totp_since`` (None: off,
    # or being set up when a key is there), and the last time step a code was accepted for, so
    # that no code works twice. One-time recovery codes: JSON {first 4 characters: argon2 hash}.
    totp_secret: Mapped[str | None] = mapped_column(String(64))
    totp_since: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    totp_last_step: Mapped[int | None] = mapped_column(Integer)
    recovery_codes: Mapped[str | None] = mapped_column(Text)

    hub: Mapped[Hub | None] = relationship()


class Resident(Base):
    """Someone who writes to the assistant on one channel.

    ``address`` (the phone number, or the web chat session) is kept only to
    deliver replies; everything else, Rasa included, sees ``pseudonym``.
    """

    __tablename__ = "residents"
    __table_args__ = (UniqueConstraint("channel", "address"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    pseudonym: Mapped[str] = mapped_column(String(32), unique=True, default=new_pseudonym)
    channel: Mapped[str] = mapped_column(String(16))  # "sms" | "web"
    address: Mapped[str] = mapped_column(String(200))
    language: Mapped[str | None] = mapped_column(String(8))
    opted_out: Mapped[bool] = mapped_column(Boolean, default=False)
    opted_out_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    last_seen_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    # When the privacy notice went out with a reply (gateway.conversation): once per resident.
    notified_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # An erasure asked for by SMS keyword waits for this code until it is answered (gateway.erasure).
    erasure_code: Mapped[str | None] = mapped_column(String(8))
    erasure_requested_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    messages: Mapped[list[Message]] = relationship(back_populates="resident")


class Message(Base):
    """One inbound or outbound message, stored before anything else happens.

    Inbound status: received -> answered, or bot_unavailable (kept for retry),
    language_menu, to_coordinator (a handoff is open), keyword (STOP, HELP...).
    Outbound status: queued -> sent -> delivered, or failed/undelivered;
    dry_run locally; suppressed after an opt-out; awaiting_connection (web).
    """

    __tablename__ = "messages"
    __table_args__ = (UniqueConstraint("channel", "direction", "provider_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    # A message is to or from a resident, or (a new-handoff alert) to a coordinator.
    resident_id: Mapped[int | None] = mapped_column(ForeignKey("residents.id", ondelete="CASCADE"), index=True)
    coordinator_id: Mapped[int | None] = mapped_column(ForeignKey("coordinators.id"), index=True)
    # Set on what a resident writes while a handoff is open, and on coordinators' replies.
    handoff_id: Mapped[int | None] = mapped_column(ForeignKey("handoffs.id", ondelete="SET NULL"), index=True)
    direction: Mapped[str] = mapped_column(String(3))  # "in" | "out"
    channel: Mapped[str] = mapped_column(String(16))
    sender: Mapped[str] = mapped_column(String(16))  # resident | bot | coordinator | system
    body: Mapped[str] = mapped_column(Text, default="")
    # Channel extras that are not text, e.g. the quick-reply buttons of a web reply.
    extra: Mapped[dict | None] = mapped_column(JSON)
    language: Mapped[str | None] = mapped_column(String(8))
    status: Mapped[str] = mapped_column(String(20), index=True)
    provider_id: Mapped[str | None] = mapped_column(String(64))
    error: Mapped[str | None] = mapped_column(String(500))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # The outbox (one of several replicas) sending it now, and until when that claim holds: once
    # ``claim_until`` has passed (the replica died), another one takes the message over.
    claimed_by: Mapped[str | None] = mapped_column(String(64))
    claim_until: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    resident: Mapped[Resident | None] = relationship(back_populates="messages")
    coordinator: Mapped[Coordinator | None] = relationship()


class Handoff(Base):
    """A resident's consented request to talk to the coordinator of a hub."""

    __tablename__ = "handoffs"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    resident_id: Mapped[int] = mapped_column(ForeignKey("residents.id", ondelete="CASCADE"), index=True)
    # None only for a crisis from a resident whose hub is not known yet: the
    # admins see it and move it to a hub (gateway.handoff.open_crisis).
    hub_id: Mapped[int | None] = mapped_column(ForeignKey("hubs.id"), index=True)
    status: Mapped[str] = mapped_column(String(16), default="open", index=True)  # open | claimed | closed
    channel: Mapped[str] = mapped_column(String(16))
    language: Mapped[str] = mapped_column(String(8))
    topic: Mapped[str | None] = mapped_column(String(64))
    area: Mapped[str | None] = mapped_column(String(200))
    summary: Mapped[str | None] = mapped_column(Text)
    claimed_by_id: Mapped[int | None] = mapped_column(ForeignKey("coordinators.id"))
    claimed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    first_reply_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    consent_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    closed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    outcome: Mapped[str | None] = mapped_column(String(32))
    # The kind of crisis a resident wrote about (common.crisis.KINDS), if any:
    # highlighted in the inbox.
    crisis: Mapped[str | None] = mapped_column(String(16))

    resident: Mapped[Resident] = relationship()
    hub: Mapped[Hub | None] = relationship()
    claimed_by: Mapped[Coordinator | None] = relationship()


class Audit(Base):
    """One line of the audit trail: who did what to which records, and when.

    Ids and an action name only, never personal data (no text, no number, no name),
    so a line may outlive what it names: the ids are plain integers, without foreign
    keys, and stay after a resident's erasure or a retention run deletes the rows.
    Actions so far: ``read_conversation`` (a coordinator opened a handoff's conversation).
    """

    __tablename__ = "audit"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow, index=True)
    actor_id: Mapped[int | None] = mapped_column(Integer, index=True)  # the coordinator; None: the gateway's own job
    action: Mapped[str] = mapped_column(String(32), index=True)
    handoff_id: Mapped[int | None] = mapped_column(Integer, index=True)
    resident_id: Mapped[int | None] = mapped_column(Integer)
    coordinator_id: Mapped[int | None] = mapped_column(Integer)  # an account acted on (an admin's change)
    count: Mapped[int | None] = mapped_column(Integer)  # how many rows a job touched (a retention run)


class OptOut(Base):
    """An opt-out that outlives its resident (erased, or deleted by retention): the number as an
    HMAC with SECRET_KEY, never the number, so that a resident who said STOP is still not texted
    when they write again (gateway.erasure)."""

    __tablename__ = "opt_outs"

    digest: Mapped[str] = mapped_column(String(64), primary_key=True)
    opted_out_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class WeeklyCount(Base):
    """Statistics that outlive what they count: before retention deletes from a week, the inbox's
    figures for it are kept here (gateway.retention), as counts without ids, numbers or words.

    One row per figure and cell, the cells of ``gateway.inbox.stats``: ``handoffs`` (hub, topic,
    language), ``outcomes`` (hub, outcome), ``questions`` (language), ``question_topics`` (topic,
    language), ``first_reply`` (hub; ``minutes`` the median); ``archived`` marks a week as counted.
    An empty text stands for "none"."""

    __tablename__ = "weekly_counts"
    __table_args__ = (UniqueConstraint("week", "figure", "hub", "topic", "language", "outcome"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    week: Mapped[str] = mapped_column(String(8))  # ISO week in Swedish time, "2026-W49"
    figure: Mapped[str] = mapped_column(String(16))
    hub: Mapped[str] = mapped_column(String(64), default="")  # the hub's slug
    topic: Mapped[str] = mapped_column(String(64), default="")
    language: Mapped[str] = mapped_column(String(8), default="")
    outcome: Mapped[str] = mapped_column(String(32), default="")
    count: Mapped[int] = mapped_column(Integer, default=0)
    # How many residents the count is about: a cell of fewer is suppressed where it is shown.
    residents: Mapped[int] = mapped_column(Integer, default=0)
    minutes: Mapped[float | None] = mapped_column(Float)
