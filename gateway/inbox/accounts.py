"""Coordinator accounts: signing in (with lockout), and what an admin manages."""
from __future__ import annotations

import asyncio
import logging
import re
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from gateway.db import in_session
from gateway.inbox import security
from gateway.inbox.security import LOCK_SECONDS, MAX_FAILURES, Throttles, aware, minutes
from gateway.models import Coordinator, Handoff, Hub, utcnow

log = logging.getLogger("hubguide.inbox")

ROLES = ("coordinator", "admin")
EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
PHONE = re.compile(r"^\+?[0-9]{7,15}$")

WRONG = "Wrong email or password."
LOCKED = ("Too many failed sign-ins: this account is locked for {minutes} more minute(s). "
          "Try again later, or ask an admin to reset your password.")
ADDRESS_LIMIT = ("Too many failed sign-ins from your network. Try again in {minutes} minute(s).")

_dummy_hash: str | None = None


class AccountError(ValueError):
    """An admin's request that cannot be done as asked (shown to them as is)."""

    def __init__(self, message: str, conflict: bool = False) -> None:
        super().__init__(message)
        self.conflict = conflict


@dataclass(frozen=True)
class SignInResult:
    coordinator_id: int | None
    error: str | None = None
    status: int = 200  # 401 wrong credentials, 429 locked or limited


def normalise_email(email: str) -> str:
    return email.strip().lower()


def normalise_phone(phone: str | None) -> str | None:
    phone = re.sub(r"[\s()-]", "", phone or "")
    if not phone:
        return None
    if not PHONE.match(phone):
        raise AccountError("A phone number has 7 to 15 digits, optionally starting with +, e.g. +46701234567.")
    return phone


def _verify_nothing(password: str) -> None:
    """As slow as checking a real password, so timing does not tell which emails exist."""
    global _dummy_hash
    _dummy_hash = _dummy_hash or security.hash_password(security.new_password())
    security.verify_password(_dummy_hash, password)


@dataclass(frozen=True)
class Password:
    """A password checked and hashed, ready to store."""
    text: str
    hash: str


def _password(password: str | Password | None) -> Password:
    """``password`` (a new one-time one when None) checked and hashed."""
    if isinstance(password, Password):
        return password
    password = password or security.new_password()
    problem = security.password_problem(password)
    if problem:
        raise AccountError(problem)
    return Password(password, security.hash_password(password))


async def prepare_password(password: str | None = None) -> Password:
    """``_password`` in a worker thread. Hashing takes about 0.2 s: done inside a
    transaction, it would hold the database thread and the one SQLite connection,
    and residents' turns would wait behind it."""
    return await asyncio.to_thread(_password, password)


async def sign_in(email: str, password: str, address: str, throttles: Throttles) -> SignInResult:
    """Check a sign-in; counts failures per account (stored) and per address (in memory).
    The database work runs on the database thread, the password check in a worker thread."""
    email = normalise_email(email)
    wait = throttles.by_address.retry_after(address)
    if wait:
        log.warning("sign-in refused: too many failures from one address")
        return SignInResult(None, ADDRESS_LIMIT.format(minutes=minutes(wait)), 429)
    coordinator_id, locked_until, password_hash = await in_session(_find_account, email)
    now = utcnow()
    if locked_until is not None and locked_until > now:
        return SignInResult(None, LOCKED.format(minutes=minutes((locked_until - now).total_seconds())), 429)
    if coordinator_id is None:
        wait = throttles.by_unknown_email.retry_after(email)
        if wait:  # the same answer an existing account gets once locked
            return SignInResult(None, LOCKED.format(minutes=minutes(wait)), 429)
        await asyncio.to_thread(_verify_nothing, password)
        throttles.by_unknown_email.fail(email)
        throttles.by_address.fail(address)
        locked = throttles.by_unknown_email.retry_after(email)
        return SignInResult(None, LOCKED.format(minutes=minutes(locked)) if locked else WRONG,
                            429 if locked else 401)
    good = await asyncio.to_thread(security.verify_password, password_hash, password)
    rehashed = (await asyncio.to_thread(security.hash_password, password)
                if good and security.needs_rehash(password_hash) else None)
    result = await in_session(_settle_sign_in, coordinator_id, good, rehashed, now)
    if result.error:
        throttles.by_address.fail(address)  # the throttles stay on the event loop
    return result


def _find_account(session: Session, email: str) -> tuple[int | None, datetime | None, str | None]:
    """The account's id, lock and password hash (all None when there is no such account)."""
    coordinator = session.scalars(select(Coordinator).where(Coordinator.email == email)).first()
    if coordinator is None:
        return None, None, None
    return coordinator.id, aware(coordinator.locked_until), coordinator.password_hash


def _settle_sign_in(session: Session, coordinator_id: int, good: bool, rehashed: str | None,
                    now: datetime) -> SignInResult:
    """Count a failure (locking the account after ``MAX_FAILURES``) or clear the count after success
    (and store the password's new hash, when its hashing parameters have changed)."""
    coordinator = session.get(Coordinator, coordinator_id)
    if not good or not coordinator.active:
        coordinator.failed_logins = (coordinator.failed_logins or 0) + 1
        if coordinator.failed_logins >= MAX_FAILURES:
            coordinator.failed_logins, coordinator.locked_until = 0, now + timedelta(seconds=LOCK_SECONDS)
            log.warning("coordinator %s locked after %d failed sign-ins", coordinator.id, MAX_FAILURES)
            return SignInResult(None, LOCKED.format(minutes=minutes(LOCK_SECONDS)), 429)
        return SignInResult(None, WRONG, 401)
    coordinator.failed_logins, coordinator.locked_until = 0, None
    if rehashed is not None:
        coordinator.password_hash = rehashed
    log.info("coordinator %s signed in", coordinator.id)
    return SignInResult(coordinator.id)


def _hub(session: Session, hub: str | int | None) -> Hub | None:
    if hub in (None, ""):
        return None
    query = select(Hub).where(Hub.id == int(hub)) if str(hub).isdigit() else select(Hub).where(Hub.slug == hub)
    found = session.scalars(query).first()
    if found is None:
        raise AccountError(f"No hub {hub!r}.")
    return found


def create_coordinator(session: Session, *, name: str, email: str, role: str = "coordinator",
                       hub: str | int | None = None, phone: str | None = None, on_duty: bool = True,
                       password: str | Password | None = None) -> tuple[Coordinator, str]:
    """A new account; returns it and its password (a one-time one unless given).
    Async callers pass a ``prepare_password()``, so no hashing happens here."""
    name, email = name.strip(), normalise_email(email)
    if not name or len(name) > 200:
        raise AccountError("A name is needed (at most 200 characters).")
    if not EMAIL.match(email) or len(email) > 200:
        raise AccountError("That does not look like an email address.")
    if role not in ROLES:
        raise AccountError(f"The role is one of: {', '.join(ROLES)}.")
    hub_row = _hub(session, hub)
    if role == "coordinator" and hub_row is None:
        raise AccountError("A coordinator needs a hub.")
    if session.scalars(select(Coordinator.id).where(Coordinator.email == email)).first() is not None:
        raise AccountError("There is already an account with that email.", conflict=True)
    ready = _password(password)
    coordinator = Coordinator(name=name, email=email, role=role, hub=hub_row, phone=normalise_phone(phone),
                              on_duty=on_duty, active=True, failed_logins=0, password_hash=ready.hash)
    session.add(coordinator)
    session.flush()
    log.info("account %s created (%s)", coordinator.id, role)
    return coordinator, ready.text


def update_coordinator(session: Session, actor_id: int, coordinator_id: int, changes: dict) -> Coordinator:
    """Change hub, phone, on duty, active or role (not one's own role or active)."""
    coordinator = session.get(Coordinator, coordinator_id)
    if coordinator is None:
        raise LookupError(coordinator_id)
    if "hub" in changes:
        coordinator.hub = _hub(session, changes["hub"])
    if "phone" in changes:
        coordinator.phone = normalise_phone(changes["phone"])
    if "on_duty" in changes:
        coordinator.on_duty = bool(changes["on_duty"])
    if "name" in changes and str(changes["name"]).strip():
        coordinator.name = str(changes["name"]).strip()[:200]
    if "role" in changes and changes["role"] != coordinator.role:
        if changes["role"] not in ROLES:
            raise AccountError(f"The role is one of: {', '.join(ROLES)}.")
        if coordinator_id == actor_id:
            raise AccountError("You cannot change your own role.")
        coordinator.role = changes["role"]
    if "active" in changes and bool(changes["active"]) != coordinator.active:
        if coordinator_id == actor_id:
            raise AccountError("You cannot deactivate your own account.")
        coordinator.active = bool(changes["active"])
    # The relationship, not hub_id: hub_id keeps its old value until the session flushes.
    if coordinator.role == "coordinator" and coordinator.hub is None:
        raise AccountError("A coordinator needs a hub.")
    return coordinator


def reset_password(session: Session, coordinator_id: int, password: str | Password | None = None) -> str:
    """A new (one-time) password; also unlocks the account and ends its sessions.
    Async callers pass a ``prepare_password()``, so no hashing happens here."""
    coordinator = session.get(Coordinator, coordinator_id)
    if coordinator is None:
        raise LookupError(coordinator_id)
    ready = _password(password)
    coordinator.password_hash = ready.hash
    coordinator.failed_logins, coordinator.locked_until = 0, None
    return ready.text


async def change_own_password(coordinator_id: int, current: str, new: str) -> Coordinator:
    """Check the current password and store the new one; the hashing runs
    outside the transactions (see ``prepare_password``)."""
    stored = await in_session(_password_hash, coordinator_id)
    if not await asyncio.to_thread(security.verify_password, stored, current):
        raise AccountError("The current password is wrong.")
    if new == current:
        raise AccountError("The new password must differ from the current one.")
    return await in_session(_replace_password, coordinator_id, stored, await prepare_password(new))


def _password_hash(session: Session, coordinator_id: int) -> str:
    return session.get(Coordinator, coordinator_id).password_hash


def _replace_password(session: Session, coordinator_id: int, checked: str, new: Password) -> Coordinator:
    coordinator = session.get(Coordinator, coordinator_id)
    if coordinator.password_hash != checked:  # changed (reset by an admin) since it was checked
        raise AccountError("Your password was changed meanwhile. Please sign in again.")
    reset_password(session, coordinator_id, new)
    return coordinator


def coordinators(session: Session) -> list[dict]:
    now = utcnow()
    rows = session.scalars(select(Coordinator).order_by(Coordinator.active.desc(), Coordinator.name)).all()
    return [{
        "id": c.id, "name": c.name, "email": c.email, "role": c.role,
        "hub": c.hub.slug if c.hub else None, "hub_name": c.hub.name if c.hub else None,
        "phone": c.phone, "on_duty": c.on_duty, "active": c.active,
        "locked": bool(c.locked_until and aware(c.locked_until) > now),
    } for c in rows]


def hubs_overview(session: Session) -> list[dict]:
    on_duty = dict(session.execute(
        select(Coordinator.hub_id, func.count()).where(Coordinator.active, Coordinator.on_duty,
                                                      Coordinator.phone.is_not(None))
        .group_by(Coordinator.hub_id)).all())
    staff = dict(session.execute(select(Coordinator.hub_id, func.count()).where(Coordinator.active)
                                 .group_by(Coordinator.hub_id)).all())
    waiting = dict(session.execute(select(Handoff.hub_id, func.count()).where(Handoff.status != "closed")
                                   .group_by(Handoff.hub_id)).all())
    return [{
        "id": h.id, "slug": h.slug, "name": h.name, "municipality": h.municipality, "active": h.active,
        "routable": h.lat is not None and h.lon is not None, "coordinators": staff.get(h.id, 0),
        "alerted": on_duty.get(h.id, 0), "open_handoffs": waiting.get(h.id, 0),
    } for h in session.scalars(select(Hub).order_by(Hub.municipality, Hub.name))]
