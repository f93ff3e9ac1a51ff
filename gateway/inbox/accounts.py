"""Coordinator accounts: signing in (with limits), and what an admin manages."""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import CursorResult, Select, func, or_, select, update
from sqlalchemy.orm import Session

from gateway.db import in_session
from gateway.inbox import security
from gateway.inbox.security import aware
from gateway.inbox.throttles import ACCOUNT_DELAY_SECONDS, MAX_FAILURES, Throttles, minutes
from gateway.models import Coordinator, Handoff, Hub, utcnow

log = logging.getLogger("hubguide.inbox")

ROLES = ("coordinator", "admin")
EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
PHONE = re.compile(r"^\+?[0-9]{7,15}$")

WRONG = "Wrong email or password."
LOCKED = (
    "Too many failed sign-ins: this account is locked for {minutes} more minute(s). "
    "Try again later, or ask an admin to reset your password."
)
ADDRESS_LIMIT = "Too many failed sign-ins from your network. Try again in {minutes} minute(s)."
# A claim on an account lapses after this (a process that died while checking must not hold it).
CLAIM_SECONDS = 60

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
    one_time: bool = False  # made here, for an admin to hand over: to be changed at the first sign-in


def _password(password: str | Password | None, personal: tuple[str, ...] = ()) -> Password:
    """``password`` (a new one-time one when None) checked against ``personal`` (email, name) and hashed."""
    if isinstance(password, Password):
        return password
    if not password:
        password = security.new_password()
        return Password(password, security.hash_password(password), one_time=True)
    problem = security.password_problem(password, personal)
    if problem:
        raise AccountError(problem)
    return Password(password, security.hash_password(password))


async def prepare_password(password: str | None = None, personal: tuple[str, ...] = ()) -> Password:
    """``_password`` in a hashing thread. Hashing takes about 0.2 s: done inside a
    transaction, it would hold the database thread and the one SQLite connection,
    and residents' turns would wait behind it."""
    return await security.hashing(_password, password, personal)


def _locked(seconds: float) -> SignInResult:
    return SignInResult(None, LOCKED.format(minutes=minutes(seconds)), 429)


async def sign_in(email: str, password: str, address: str, throttles: Throttles) -> SignInResult:
    """Check a sign-in. Every attempt is counted before its password is checked, so attempts
    sent together cannot pass a limit: per address (``IP_FAILURES``), per address and email
    (``MAX_FAILURES``, then held back for 15 minutes) and per account, in the database, where
    the attempt is claimed (``_claim``): one check per account at a time in every process, and
    after ``MAX_FAILURES`` in a row one try a minute (a delay, so a stranger cannot lock the
    account for its owner). Emails without an account are held back the same way. The database
    work runs on the database thread, the hashing in ``security.hashing``'s threads."""
    email = normalise_email(email)
    if not throttles.by_address.claim(address):
        log.warning("sign-in refused: too many attempts from one address")
        return SignInResult(None, ADDRESS_LIMIT.format(minutes=minutes(throttles.by_address.retry_after(address))), 429)
    account = await in_session(_find_account, email)
    # The account's password in the key: a password reset gives its owner new tries at once.
    pair = f"{address} {email} {account[1] if account else ''}"
    if not throttles.by_address_and_email.claim(pair):
        return _locked(throttles.by_address_and_email.retry_after(pair))
    async with throttles.gates.one_at_a_time(email):
        result = await (_check(account[0], password) if account else _check_unknown(email, password, throttles))
    if result.coordinator_id is not None:
        throttles.by_address_and_email.clear(pair)
    elif throttles.by_address_and_email.retry_after(pair):  # that was this address's last try
        result = _locked(throttles.by_address_and_email.retry_after(pair))
    return result


async def _check(coordinator_id: int, password: str) -> SignInResult:
    now = utcnow()
    claim = await in_session(_claim, coordinator_id, now)
    if claim.locked_until is not None:
        return _locked((claim.locked_until - now).total_seconds())
    if not claim.claimed:  # checked in another process right now: as long, and the answer, of a wrong password
        await security.hashing(_verify_nothing, password)
        return SignInResult(None, WRONG, 401)
    good = await security.hashing(security.verify_password, claim.password_hash, password)
    rehashed = (
        await security.hashing(security.hash_password, password)
        if good and security.needs_rehash(claim.password_hash)
        else None
    )
    return await in_session(_settle, claim, good, rehashed, utcnow())


async def _check_unknown(email: str, password: str, throttles: Throttles) -> SignInResult:
    """An email with no account: refused, held back as an account would be (``_claim``, ``_settle``)."""
    full = not throttles.by_unknown_email.claim(email)
    if not throttles.unknown_email_pace.claim(email) and full:
        return _locked(throttles.unknown_email_pace.retry_after(email))
    await security.hashing(_verify_nothing, password)
    return (
        _locked(ACCOUNT_DELAY_SECONDS)
        if throttles.by_unknown_email.retry_after(email)
        else SignInResult(None, WRONG, 401)
    )


def _find_account(session: Session, email: str) -> tuple[int, str] | None:
    """The account's id and its password's fingerprint (None when there is no such account)."""
    found = session.execute(select(Coordinator.id, Coordinator.password_hash).where(Coordinator.email == email)).first()
    return (found.id, security.fingerprint(found.password_hash)) if found else None


@dataclass(frozen=True)
class Claim:
    coordinator_id: int
    since: datetime | None  # when the check was claimed; None: not claimed
    password_hash: str
    locked_until: datetime | None  # not claimed: held back until then

    @property
    def claimed(self) -> bool:
        return self.since is not None

    @property
    def busy(self) -> bool:
        return not self.claimed and self.locked_until is None


def _claim(session: Session, coordinator_id: int, now: datetime) -> Claim:
    """Claim a password check on the account, counted as a failure until it succeeds: one UPDATE,
    which a second transaction (another process) sees only after this one commits."""
    # An UPDATE's result is a CursorResult (with rowcount); Session.execute is typed for any statement.
    claimed = (
        cast(
            CursorResult[Any],
            session.execute(
                update(Coordinator)
                .where(
                    Coordinator.id == coordinator_id,
                    or_(Coordinator.locked_until.is_(None), Coordinator.locked_until <= now),
                    or_(
                        Coordinator.verifying_since.is_(None),
                        Coordinator.verifying_since <= now - timedelta(seconds=CLAIM_SECONDS),
                    ),
                )
                .values(failed_logins=Coordinator.failed_logins + 1, verifying_since=now)
            ),
        ).rowcount
        == 1
    )
    coordinator = session.get_one(Coordinator, coordinator_id)  # accounts are deactivated, never deleted
    locked = aware(coordinator.locked_until)
    return Claim(
        coordinator_id,
        now if claimed else None,
        coordinator.password_hash,
        locked if locked is not None and locked > now and not claimed else None,
    )


def _settle(session: Session, claim: Claim, good: bool, rehashed: str | None, now: datetime) -> SignInResult:
    """Clear the count after a success, if the account is as it was when claimed (active, the same
    password); after a failure (counted by the claim), hold the account once it has ``MAX_FAILURES``
    in a row. A changed hash (new hashing parameters) is stored."""
    coordinator = session.get_one(Coordinator, claim.coordinator_id)
    if aware(coordinator.verifying_since) == claim.since:  # still this claim's (it may have lapsed)
        coordinator.verifying_since = None
    if good and coordinator.active and coordinator.password_hash == claim.password_hash:
        coordinator.failed_logins, coordinator.locked_until = 0, None
        if rehashed is not None:
            coordinator.password_hash = rehashed
        log.info("coordinator %s signed in", coordinator.id)
        return SignInResult(coordinator.id)
    if coordinator.failed_logins >= MAX_FAILURES:
        coordinator.locked_until = now + timedelta(seconds=ACCOUNT_DELAY_SECONDS)
        log.warning(
            "coordinator %s held back after %d failed sign-ins in a row", coordinator.id, coordinator.failed_logins
        )
        return _locked(ACCOUNT_DELAY_SECONDS)
    return SignInResult(None, WRONG, 401)


def _hub(session: Session, hub: str | int | None) -> Hub | None:
    if hub in (None, ""):
        return None
    query = select(Hub).where(Hub.id == int(hub)) if str(hub).isdigit() else select(Hub).where(Hub.slug == hub)
    found = session.scalars(query).first()
    if found is None:
        raise AccountError(f"No hub {hub!r}.")
    return found


def create_coordinator(
    session: Session,
    *,
    name: str,
    email: str,
    role: str = "coordinator",
    hub: str | int | None = None,
    phone: str | None = None,
    on_duty: bool = True,
    password: str | Password | None = None,
) -> tuple[Coordinator, str]:
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
    ready = _password(password, (email, name))
    coordinator = Coordinator(
        name=name,
        email=email,
        role=role,
        hub=hub_row,
        phone=normalise_phone(phone),
        on_duty=on_duty,
        active=True,
        failed_logins=0,
        password_hash=ready.hash,
        must_change_password=ready.one_time,
    )
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
    """A new password (a one-time one, to be changed at the next sign-in, unless given); also
    unlocks the account and ends its sessions. Async callers pass a ``prepare_password()``,
    so no hashing happens here."""
    coordinator = session.get(Coordinator, coordinator_id)
    if coordinator is None:
        raise LookupError(coordinator_id)
    ready = _password(password, (coordinator.email, coordinator.name))
    coordinator.password_hash, coordinator.must_change_password = ready.hash, ready.one_time
    coordinator.failed_logins, coordinator.locked_until = 0, None
    return ready.text


async def change_own_password(coordinator_id: int, current: str, new: str) -> Coordinator:
    """Check the current password and store the new one; the hashing runs
    outside the transactions (see ``prepare_password``)."""
    stored, email, name = await in_session(_password_hash, coordinator_id)
    if not await security.hashing(security.verify_password, stored, current):
        raise AccountError("The current password is wrong.")
    if new == current:
        raise AccountError("The new password must differ from the current one.")
    return await in_session(_replace_password, coordinator_id, stored, await prepare_password(new, (email, name)))


async def password_is(coordinator_id: int, password: str) -> bool:
    """Whether ``password`` is the account's: asked again before its second sign-in step changes."""
    stored, _, _ = await in_session(_password_hash, coordinator_id)
    return bool(password) and await security.hashing(security.verify_password, stored, password)


def _password_hash(session: Session, coordinator_id: int) -> tuple[str, str, str]:
    coordinator = session.get_one(Coordinator, coordinator_id)
    return coordinator.password_hash, coordinator.email, coordinator.name


def _replace_password(session: Session, coordinator_id: int, checked: str, new: Password) -> Coordinator:
    coordinator = session.get_one(Coordinator, coordinator_id)
    if coordinator.password_hash != checked:  # changed (reset by an admin) since it was checked
        raise AccountError("Your password was changed meanwhile. Please sign in again.")
    reset_password(session, coordinator_id, new)
    return coordinator


def coordinators(session: Session) -> list[dict]:
    now = utcnow()
    rows = session.scalars(select(Coordinator).order_by(Coordinator.active.desc(), Coordinator.name)).all()
    return [
        {
            "id": c.id,
            "name": c.name,
            "email": c.email,
            "role": c.role,
            "hub": c.hub.slug if c.hub else None,
            "hub_name": c.hub.name if c.hub else None,
            "phone": c.phone,
            "on_duty": c.on_duty,
            "active": c.active,
            "locked": bool(c.locked_until and aware(c.locked_until) > now),
        }
        for c in rows
    ]


def _per_hub(session: Session, query: Select[tuple[int | None, int]]) -> dict[int | None, int]:
    return {hub_id: count for hub_id, count in session.execute(query)}


def hubs_overview(session: Session) -> list[dict]:
    on_duty = _per_hub(
        session,
        select(Coordinator.hub_id, func.count())
        .where(Coordinator.active, Coordinator.on_duty, Coordinator.phone.is_not(None))
        .group_by(Coordinator.hub_id),
    )
    staff = _per_hub(
        session, select(Coordinator.hub_id, func.count()).where(Coordinator.active).group_by(Coordinator.hub_id)
    )
    waiting = _per_hub(
        session, select(Handoff.hub_id, func.count()).where(Handoff.status != "closed").group_by(Handoff.hub_id)
    )
    return [
        {
            "id": h.id,
            "slug": h.slug,
            "name": h.name,
            "municipality": h.municipality,
            "active": h.active,
            "routable": h.lat is not None and h.lon is not None,
            "coordinators": staff.get(h.id, 0),
            "alerted": on_duty.get(h.id, 0),
            "open_handoffs": waiting.get(h.id, 0),
        }
        for h in session.scalars(select(Hub).order_by(Hub.municipality, Hub.name))
    ]
