"""The second sign-in step: a 6-digit code from an authenticator app (TOTP, RFC 6238, by pyotp)
or one of ten one-time recovery codes, after the password. Admins must have it: an admin without
it is sent to set it up before anything else (``security.page_user``); coordinators may turn it on.

- Setting up: a new key (``begin``), shown as an SVG QR code (qrcode, no Pillow) and as text,
  is switched on only by a current code from it (``confirm``, then ``switch_on``, which also
  ends the account's other sessions). The key is never shown again and never logged; it is
  stored as the authenticator app has it (encrypting it would want a library for it, such as
  ``cryptography``, which is not among the pinned packages).
- Signing in: after the password, no session yet but a half-signed-in value (``Pending``):
  itsdangerous-signed, in its own cookie, good for ``PENDING_SECONDS``, naming the account (as
  it was: the same password, not signed out since) and bound to the sign-in form's session.
  A code is accepted once only: the last time step used is stored and a code must be for a
  later one (``check_code``, one UPDATE, so two requests cannot both use it); the step before
  and after the current one count too, for clocks a little off. Wrong codes are limited per
  account (``Throttles.wrong_codes``) and per address (the sign-in limit) and are recorded in the audit
  trail; so are recovery codes used, set-ups, and resets.
- Recovery codes: ten, shown once, stored as argon2 hashes like passwords (keyed by their
  first four characters, so a check hashes once); each works once.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import re
import secrets
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

import pyotp
import qrcode
from fastapi import Request
from itsdangerous import BadData, URLSafeTimedSerializer
from markupsafe import Markup
from pyotp.utils import strings_equal
from qrcode.image.svg import SvgPathFillImage
from sqlalchemy import CursorResult, or_, select, update
from sqlalchemy.orm import Session
from starlette.responses import Response

from gateway.inbox import security
from gateway.inbox.security import aware
from gateway.models import Audit, Coordinator
from gateway.settings import Settings

ISSUER = "Hub guide inbox"  # the name the authenticator app shows beside the account
DRIFT_STEPS = 1  # codes of the 30-second step before and after the current one are accepted too
PENDING_SECONDS = 5 * 60
PENDING_SALT = "hubguide inbox second step v1"
PENDING_COOKIE = "__Host-hubguide_second_step"  # over https, as security.COOKIE
PLAIN_PENDING_COOKIE = "hubguide_second_step"
SVG = "http://www.w3.org/2000/svg"
RECOVERY_CODES = 10
RECOVERY_ALPHABET = "0123456789abcdefghjkmnpqrstvwxyz"  # Crockford's base32: no i, l, o or u to misread
RECOVERY_LENGTH = 12  # 60 bits
SELECTOR = 4  # the first characters, stored in clear to find the code's hash

# Audit actions (gateway.models.Audit): the actor, and the account in coordinator_id.
ON = "second_factor_on"
OFF = "second_factor_off"  # the account's owner turned it off (to move it to a new phone)
RESET = "second_factor_reset"  # an admin (or the command line: no actor) turned it off for the account
WRONG_CODE = "second_factor_wrong"
RECOVERY_USED = "recovery_code_used"
NEW_CODES = "recovery_codes_new"


class SecondFactorError(ValueError):
    """A request that cannot be done as asked (its text is shown to the person)."""


def required(role: str) -> bool:
    return role in security.SECOND_FACTOR_ROLES


def _digits(code: str) -> str | None:
    code = re.sub(r"\s", "", code or "")
    return code if re.fullmatch(r"[0-9]{6}", code) else None


def spaced(secret: str) -> str:
    """The key in groups of four, easier to type and to have read out."""
    return " ".join(secret[i : i + 4] for i in range(0, len(secret), 4))


def provisioning_uri(secret: str, email: str) -> str:
    return pyotp.TOTP(secret).provisioning_uri(name=email, issuer_name=ISSUER)


def qr_svg(uri: str, label: str) -> Markup:
    """The QR code of ``uri`` as inline SVG, named ``label`` for screen readers; no style attribute
    (the pages' Content-Security-Policy forbids inline style)."""
    svg = ET.fromstring(qrcode.make(uri, image_factory=SvgPathFillImage).to_string(encoding="unicode"))
    size = str(int(float(svg.attrib["viewBox"].split()[2])) * 5)  # 5 pixels a module, quiet zone included
    svg.attrib.update({"width": size, "height": size, "role": "img", "aria-label": label, "class": "qr"})
    # Only pyotp's URI (base32, the email, the issuer, all escaped) went in, as a pattern of squares.
    # Plain names (qrcode writes <svg:svg>, which an HTML page does not draw), in SVG's namespace.
    for element in svg.iter():
        element.tag = element.tag.rpartition("}")[2]
    svg.set("xmlns", SVG)
    return Markup(ET.tostring(svg, encoding="unicode"))


# --- the stored state ------------------------------------------------------------------------


def _audit(session: Session, action: str, actor_id: int | None, coordinator_id: int) -> None:
    session.add(Audit(action=action, actor_id=actor_id, coordinator_id=coordinator_id))


def _codes(coordinator: Coordinator) -> dict[str, str]:
    return json.loads(coordinator.recovery_codes) if coordinator.recovery_codes else {}


def status(session: Session, coordinator_id: int) -> dict:
    """What the account page says: on (since when), how many recovery codes are left, required."""
    coordinator = session.get_one(Coordinator, coordinator_id)
    return {
        "on": coordinator.totp_since is not None,
        "since": aware(coordinator.totp_since),
        "codes_left": len(_codes(coordinator)),
        "required": required(coordinator.role),
    }


def begin(session: Session, coordinator_id: int) -> tuple[str, str]:
    """The key being set up (a new one unless a set-up is under way) and the account's email."""
    coordinator = session.get_one(Coordinator, coordinator_id)
    if coordinator.totp_since is not None:
        raise SecondFactorError("The second sign-in step is already on.")
    if not coordinator.totp_secret:
        coordinator.totp_secret = pyotp.random_base32()  # 160 bits, as RFC 4226 recommends
    return coordinator.totp_secret, coordinator.email


def check_code(session: Session, coordinator_id: int, code: str, now: float) -> bool:
    """Whether ``code`` is the account's for a time step near ``now`` not used before; using it
    is recorded in the same UPDATE that checks it was not, so it is accepted once only."""
    digits, secret = _digits(code), session.get_one(Coordinator, coordinator_id).totp_secret
    if digits is None or not secret:
        return False
    try:
        # pyotp's own check that also says which step matched (its verify() does not).
        step = pyotp.TOTP(secret).verify_and_get_timecode(digits, for_time=now, valid_window=DRIFT_STEPS)
    except pyotp.exceptions.OTPVerificationError:
        return False
    claimed = cast(
        CursorResult[Any],
        session.execute(
            update(Coordinator)
            .where(
                Coordinator.id == coordinator_id,
                Coordinator.totp_secret == secret,
                or_(Coordinator.totp_last_step.is_(None), Coordinator.totp_last_step < step),
            )
            .values(totp_last_step=step)
        ),
    )
    return claimed.rowcount == 1


def confirm(session: Session, coordinator_id: int, code: str, now: float) -> str:
    """The key being set up, if ``code`` is a current one from it (``switch_on`` then stores it)."""
    coordinator = session.get_one(Coordinator, coordinator_id)
    if coordinator.totp_since is not None:
        raise SecondFactorError("The second sign-in step is already on.")
    if not coordinator.totp_secret:
        raise SecondFactorError("The set-up had been cancelled. Scan the new QR code and try again.")
    if not check_code(session, coordinator_id, code, now):
        raise SecondFactorError(
            "That code does not match. Type the 6 digits the app shows now for this account; "
            "if they keep failing, check that the phone's clock is set automatically."
        )
    return cast(str, coordinator.totp_secret)


def new_recovery_codes() -> list[str]:
    """``RECOVERY_CODES`` codes as people read them (xxxx-xxxx-xxxx), with different first parts.
    Hand-written (a few lines of ``secrets``): pyotp makes TOTP keys, not recovery codes."""
    codes: dict[str, str] = {}
    while len(codes) < RECOVERY_CODES:
        code = "".join(secrets.choice(RECOVERY_ALPHABET) for _ in range(RECOVERY_LENGTH))
        codes.setdefault(code[:SELECTOR], code)
    return ["-".join(code[i : i + 4] for i in range(0, RECOVERY_LENGTH, 4)) for code in codes.values()]


def _normal(code: str) -> str:
    """A recovery code as typed, compared as stored: no spaces or dashes, lower case, and the
    letters Crockford's alphabet leaves out read as the digits they look like."""
    return re.sub(r"[^0-9a-z]", "", (code or "").lower()).translate(str.maketrans("ilo", "110"))


async def hash_recovery_codes(codes: list[str]) -> str:
    """The codes' argon2 hashes, as stored, made in the hashing threads (``security.hashing``)."""
    hashes = await asyncio.gather(*(security.hashing(security.hash_password, _normal(code)) for code in codes))
    return json.dumps({_normal(code)[:SELECTOR]: digest for code, digest in zip(codes, hashes, strict=True)})


def switch_on(session: Session, coordinator_id: int, secret: str, codes: str, now: datetime) -> dict:
    """Turn on the key ``confirm`` checked, with new recovery codes; the account's other sessions
    end. Returns the session data for the browser that did it."""
    coordinator = session.get_one(Coordinator, coordinator_id)
    if coordinator.totp_secret != secret or coordinator.totp_since is not None:
        raise SecondFactorError("The set-up was changed meanwhile (in another window?). Please start again.")
    coordinator.totp_since, coordinator.recovery_codes = now, codes
    coordinator.session_generation += 1
    _audit(session, ON, coordinator_id, coordinator_id)
    return security.new_session(coordinator)


def replace_recovery_codes(session: Session, coordinator_id: int, codes: str) -> None:
    coordinator = session.get_one(Coordinator, coordinator_id)
    if coordinator.totp_since is None:
        raise SecondFactorError("The second sign-in step is off: there are no recovery codes to replace.")
    coordinator.recovery_codes = codes
    _audit(session, NEW_CODES, coordinator_id, coordinator_id)


def switch_off(session: Session, coordinator_id: int, actor_id: int | None) -> Coordinator:
    """Forget the key and the recovery codes and end the account's sessions (its owner's choice,
    or an admin's reset for someone who lost their phone: ``actor_id`` differs). An admin is then
    sent to set it up again at their next sign-in."""
    coordinator = session.get(Coordinator, coordinator_id)
    if coordinator is None:
        raise LookupError(coordinator_id)
    coordinator.totp_secret = coordinator.totp_since = coordinator.totp_last_step = coordinator.recovery_codes = None
    coordinator.session_generation += 1
    _audit(session, OFF if actor_id == coordinator_id else RESET, actor_id, coordinator_id)
    return coordinator


def wrong_code(session: Session, coordinator_id: int) -> None:
    _audit(session, WRONG_CODE, coordinator_id, coordinator_id)


def recovery_hash(session: Session, coordinator_id: int, code: str) -> tuple[str, str] | None:
    """The stored codes and the hash ``code`` would match, if one begins as it does."""
    coordinator = session.get_one(Coordinator, coordinator_id)
    digest = _codes(coordinator).get(_normal(code)[:SELECTOR])
    return (cast(str, coordinator.recovery_codes), digest) if digest else None


async def check_recovery_hash(digest: str, code: str) -> bool:
    """Whether ``code`` is the one ``digest`` was made from (in a hashing thread)."""
    return await security.hashing(security.verify_password, digest, _normal(code))


def use_recovery_code(session: Session, coordinator_id: int, stored: str, code: str) -> int | None:
    """Strike ``code`` (checked against ``stored``) off the account's codes, if no other request did
    meanwhile (the codes are compared and replaced in one UPDATE). Returns how many are left."""
    rest = {k: v for k, v in json.loads(stored).items() if k != _normal(code)[:SELECTOR]}
    struck = cast(
        CursorResult[Any],
        session.execute(
            update(Coordinator)
            .where(Coordinator.id == coordinator_id, Coordinator.recovery_codes == stored)
            .values(recovery_codes=json.dumps(rest))
        ),
    )
    if struck.rowcount != 1:
        return None
    _audit(session, RECOVERY_USED, coordinator_id, coordinator_id)
    return len(rest)


def accounts(session: Session) -> list[dict]:
    """Every active account and its second step, for the admins' page."""
    rows = session.scalars(select(Coordinator).where(Coordinator.active).order_by(Coordinator.name))
    return [
        {
            "id": c.id,
            "name": c.name,
            "email": c.email,
            "role": c.role,
            "on": c.totp_since is not None,
            "since": aware(c.totp_since),
            "codes_left": len(_codes(c)),
            "required": required(c.role),
        }
        for c in rows
    ]


# --- the half-signed-in value ----------------------------------------------------------------


@dataclass(frozen=True)
class Pending:
    """Between the password and the code: which account, as it was, and where to go afterwards."""

    coordinator_id: int
    fingerprint: str  # of the password hash
    generation: int
    next_path: str
    form_token: str  # the sign-in form's session token (a hash of it): the same browser must finish


def _serializer(settings: Settings) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(
        settings.secret_key.get_secret_value(), salt=PENDING_SALT, signer_kwargs={"digest_method": hashlib.sha256}
    )


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()[:32]


def pending_cookie(settings: Settings) -> str:
    return PENDING_COOKIE if security.is_https(settings) else PLAIN_PENDING_COOKIE


def account_after_password(session: Session, coordinator_id: int) -> tuple[dict, bool, bool]:
    """After a right password: the session the account would get, whether a code is needed first,
    and whether the account must set up the second step (an admin without it)."""
    coordinator = session.get_one(Coordinator, coordinator_id)
    on = coordinator.totp_since is not None
    return security.new_session(coordinator), on, not on and required(coordinator.role)


def start_pending(response: Response, settings: Settings, session_data: dict, next_path: str, form_token: str) -> None:
    """Set the half-signed-in value for the account ``session_data`` (from ``account_after_password``)."""
    value = {"c": session_data["c"], "p": session_data["p"], "g": session_data["g"], "n": next_path}
    value["f"] = _token_hash(form_token)
    response.set_cookie(
        pending_cookie(settings),
        _serializer(settings).dumps(value),
        max_age=PENDING_SECONDS,
        path="/",
        httponly=True,
        samesite="lax",
        secure=security.is_https(settings),
    )


def clear_pending(response: Response, settings: Settings) -> None:
    response.delete_cookie(
        pending_cookie(settings), path="/", httponly=True, samesite="lax", secure=security.is_https(settings)
    )


def read_pending(request: Request, form_token: str | None) -> Pending | None:
    """The half-signed-in value, if it is signed, younger than ``PENDING_SECONDS`` and was made
    for the sign-in form whose session token is ``form_token``."""
    settings = request.app.state.settings
    value = request.cookies.get(pending_cookie(settings))
    if not value or not form_token:
        return None
    try:
        data = _serializer(settings).loads(value, max_age=PENDING_SECONDS)
        pending = Pending(int(data["c"]), str(data["p"]), int(data["g"]), str(data["n"]), str(data["f"]))
    except (BadData, KeyError, TypeError, ValueError):
        return None
    return pending if strings_equal(pending.form_token, _token_hash(form_token)) else None


def pending_account(session: Session, pending: Pending) -> Coordinator | None:
    """The account, if still as it was after the password: active, the same password, not signed
    out everywhere since, and the second step still on."""
    coordinator = session.get(Coordinator, pending.coordinator_id)
    if (
        coordinator is None
        or not coordinator.active
        or coordinator.totp_since is None
        or coordinator.session_generation != pending.generation
        or not security.same(security.fingerprint(coordinator.password_hash), pending.fingerprint)
    ):
        return None
    return coordinator
