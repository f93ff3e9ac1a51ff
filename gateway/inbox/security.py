"""Signing coordinators in: argon2 password hashes, a signed session cookie and
CSRF tokens. The limits on sign-in attempts are in ``throttles``, what makes a
password strong enough in ``passwords`` (their names are imported here too,
where the inbox found them before), the second sign-in step in ``second_factor``.

The session is a cookie signed by itsdangerous (HMAC-SHA256 under a key derived
from ``settings.secret_key``, with a timestamp it checks). It holds the
coordinator's id, the per-session CSRF token, when it was issued, a
fingerprint of the password hash (changing a password ends every other
session) and the account's session generation (signing out adds one in the
database, which ends the account's sessions in every gateway process, also
after a restart). Every request reloads the coordinator: deactivating an
account ends its sessions at once.
"""

from __future__ import annotations

import asyncio
import functools
import hashlib
import hmac
import logging
import secrets
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Annotated
from urllib.parse import urlsplit

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from fastapi import Depends, HTTPException, Request
from fastapi.routing import APIRoute
from itsdangerous import BadData, URLSafeTimedSerializer
from sqlalchemy import update
from sqlalchemy.orm import Session
from starlette.responses import Response

from gateway import proxies
from gateway.db import in_session, run, session_scope
from gateway.inbox.passwords import MIN_PASSWORD as MIN_PASSWORD
from gateway.inbox.passwords import password_problem as password_problem
from gateway.inbox.throttles import ACCOUNT_DELAY_SECONDS as ACCOUNT_DELAY_SECONDS
from gateway.inbox.throttles import IP_FAILURES as IP_FAILURES
from gateway.inbox.throttles import IP_WINDOW as IP_WINDOW
from gateway.inbox.throttles import LOCK_SECONDS as LOCK_SECONDS
from gateway.inbox.throttles import MAX_FAILURES as MAX_FAILURES
from gateway.inbox.throttles import Throttle as Throttle
from gateway.inbox.throttles import Throttles as Throttles
from gateway.inbox.throttles import minutes as minutes
from gateway.models import Coordinator
from gateway.models import aware as aware  # where the inbox has always imported it from
from gateway.settings import Settings

log = logging.getLogger("hubguide.inbox")

# Over https the cookie's name starts with __Host-: browsers then take it only with Secure,
# Path=/ and no Domain, so no other host (a subdomain) can set or replace it.
COOKIE = "__Host-hubguide_inbox"
PLAIN_COOKIE = "hubguide_inbox"  # plain http (local use): browsers refuse __Host- without Secure
SESSION_SECONDS = 12 * 3600
CSRF_HEADER = "X-CSRF-Token"
CSRF_FIELD = "csrf"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
SECURITY_HEADERS = {
    # No inline script or style anywhere: whatever slips through escaping cannot run.
    "Content-Security-Policy": "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; "
    "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",  # residents' words must not stay in shared caches
}

HASHER = PasswordHasher()  # argon2id with the library's defaults (64 MiB, t=3, p=4)
# Hashing runs in these threads only: each hash takes 64 MiB, so 40 sign-ins at once stay at 128 MiB.
HASH_WORKERS = 2
_hashing = ThreadPoolExecutor(HASH_WORKERS, thread_name_prefix="argon2")


async def hashing(fn: Callable, *args):
    """``fn(*args)`` (a password hash or check) in one of the ``HASH_WORKERS`` hashing threads."""
    return await asyncio.get_running_loop().run_in_executor(_hashing, functools.partial(fn, *args))


def hash_password(password: str) -> str:
    return HASHER.hash(password)


def verify_password(password_hash: str, password: str) -> bool:
    try:
        return HASHER.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def needs_rehash(password_hash: str) -> bool:
    try:
        return HASHER.check_needs_rehash(password_hash)
    except InvalidHashError:
        return True


def new_password() -> str:
    """A one-time password for a new coordinator or a reset: 16 URL-safe characters."""
    return secrets.token_urlsafe(12)


def fingerprint(password_hash: str) -> str:
    return hashlib.sha256(password_hash.encode()).hexdigest()[:16]


# --- the signed session cookie ---------------------------------------------------------------

# Cookies signed before itsdangerous (a hand-made HMAC format, "v1") no longer decode: their
# coordinators sign in again once. A new salt would end every session the same way.
SESSION_SALT = "hubguide inbox session v2"


def _serializer(settings: Settings) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(
        settings.secret_key.get_secret_value(), salt=SESSION_SALT, signer_kwargs={"digest_method": hashlib.sha256}
    )


def encode_session(settings: Settings, data: dict) -> str:
    return _serializer(settings).dumps(data)


def decode_session(settings: Settings, value: str) -> dict | None:
    """The session's data, or None when the cookie is forged, damaged or expired."""
    try:
        data = _serializer(settings).loads(value, max_age=SESSION_SECONDS)
    except BadData:
        return None
    # The signature's age is the cookie's; the session's own age counts from ``i``, when it
    # began: the sign-in form signs an anonymous session again, which must not prolong it.
    issued, now = data.get("i") if isinstance(data, dict) else None, time.time()
    if not isinstance(issued, int) or not (now - SESSION_SECONDS <= issued <= now + 60):
        return None
    if not isinstance(data.get("t"), str) or len(data["t"]) < 32:
        return None
    return data


def new_session(coordinator: Coordinator | None = None) -> dict:
    """A fresh session (and CSRF token); anonymous ones protect the sign-in form."""
    data = {"i": int(time.time()), "t": secrets.token_urlsafe(32)}
    if coordinator is not None:
        data.update(c=coordinator.id, p=fingerprint(coordinator.password_hash), g=coordinator.session_generation)
    return data


def is_https(settings: Settings) -> bool:
    return settings.public_base_url.lower().startswith("https://")


def cookie_name(settings: Settings) -> str:
    return COOKIE if is_https(settings) else PLAIN_COOKIE


def set_session(response: Response, settings: Settings, data: dict) -> None:
    response.set_cookie(
        cookie_name(settings),
        encode_session(settings, data),
        max_age=SESSION_SECONDS,
        path="/",
        httponly=True,
        samesite="lax",
        secure=is_https(settings),
    )


def clear_session(response: Response, settings: Settings) -> None:
    response.delete_cookie(cookie_name(settings), path="/", httponly=True, samesite="lax", secure=is_https(settings))


def session_data(request: Request) -> dict | None:
    if not hasattr(request.state, "inbox_session"):
        value = request.cookies.get(cookie_name(request.app.state.settings))
        request.state.inbox_session = decode_session(request.app.state.settings, value) if value else None
    return request.state.inbox_session


# --- who is signed in ---------------------------------------------------------------------


@dataclass(frozen=True)
class User:
    """The signed-in coordinator, as the request sees them (no password hash)."""

    id: int
    name: str
    email: str
    role: str
    hub_id: int | None
    hub_name: str | None
    csrf: str
    must_change_password: bool = False  # signed in with a one-time password: only the password change is open
    second_factor_missing: bool = False  # an admin without the second sign-in step: only setting it up is open

    @property
    def is_admin(self) -> bool:
        return self.role == "admin"


def same(expected: str, given: object) -> bool:
    """A constant-time comparison that takes any text (hmac refuses non-ASCII ``str``)."""
    return isinstance(given, str) and hmac.compare_digest(expected.encode(), given.encode())


def load_user(data: dict | None) -> User | None:
    """The coordinator a session belongs to, if it is still good: the account is active,
    its password has not changed and it has not signed out since the session began."""
    if not data or not isinstance(data.get("c"), int):
        return None
    with session_scope() as session:
        coordinator = session.get(Coordinator, data["c"])
        if (
            coordinator is None
            or not coordinator.active
            or data.get("g", 0) != coordinator.session_generation
            or not same(fingerprint(coordinator.password_hash), data.get("p"))
        ):
            return None
        return User(
            coordinator.id,
            coordinator.name,
            coordinator.email,
            coordinator.role,
            coordinator.hub_id,
            coordinator.hub.name if coordinator.hub else None,
            data["t"],
            coordinator.must_change_password,
            coordinator.role in SECOND_FACTOR_ROLES and coordinator.totp_since is None,
        )


def end_sessions(session: Session, coordinator_id: int, generation: int) -> None:
    """Sign the account out everywhere (its cookies carry ``generation``; a stale one changes nothing)."""
    session.execute(
        update(Coordinator)
        .where(Coordinator.id == coordinator_id, Coordinator.session_generation == generation)
        .values(session_generation=Coordinator.session_generation + 1)
    )


async def sign_out(data: dict | None) -> None:
    """End the session ``data`` and the account's others, in every gateway process."""
    if data and isinstance(data.get("c"), int):
        await in_session(end_sessions, data["c"], data.get("g", 0))


def current_user(request: Request) -> User | None:
    if not hasattr(request.state, "inbox_user"):
        request.state.inbox_user = load_user(session_data(request))
    return request.state.inbox_user


async def signed_in(request: Request) -> User | None:
    """``current_user`` for async code: the coordinator is loaded on the database thread."""
    if hasattr(request.state, "inbox_user"):
        return request.state.inbox_user
    return await run(current_user, request)


def allowed_origins(request: Request) -> set[str]:
    origins = {f"{request.url.scheme}://{request.url.netloc}"}
    public = urlsplit(request.app.state.settings.public_base_url)
    origins.add(f"{public.scheme}://{public.netloc}")
    return origins


def cross_site(request: Request) -> bool:
    """A request another site's page made (checked besides the CSRF token)."""
    origin = request.headers.get("origin")
    if origin is not None and origin not in allowed_origins(request):
        return True
    return request.headers.get("sec-fetch-site") == "cross-site"


def csrf_valid(request: Request, expected: str, given: str | None) -> bool:
    return bool(given) and same(expected, given) and not cross_site(request)


class PageError(Exception):
    """An error a page answers with an HTML page (the API answers JSON instead)."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status, self.message = status, message


class SignInRequired(Exception):
    """A page needs a signed-in coordinator; answered with a redirect to sign in."""

    def __init__(self, next_path: str) -> None:
        super().__init__(next_path)
        self.next_path = next_path


class SecondFactorRequired(SignInRequired):
    """An admin without the second sign-in step opened a page: answered with a redirect to set it up."""


# What a coordinator signed in with a one-time password may open: changing it.
PASSWORD_FIRST = frozenset(
    {"/api/me", "/api/me/password", "/inbox/account", "/inbox/account/password", "/inbox/events"}
)
# Who must have the second sign-in step, and what they may open before it is on: setting it up.
SECOND_FACTOR_ROLES = frozenset({"admin"})
SET_UP_SECOND_FACTOR = "/inbox/account/second-factor"
SECOND_FACTOR_FIRST = PASSWORD_FIRST - {"/inbox/events"} | {SET_UP_SECOND_FACTOR}


def api_user(request: Request) -> User:
    """The API's dependency: 401 without a session, 403 without the CSRF header on a change."""
    user = current_user(request)
    if user is None:
        raise HTTPException(401, "not signed in")
    if request.method not in SAFE_METHODS and not csrf_valid(request, user.csrf, request.headers.get(CSRF_HEADER)):
        raise HTTPException(403, f"missing or wrong CSRF token (send the page's token as {CSRF_HEADER})")
    if user.must_change_password and request.url.path not in PASSWORD_FIRST:
        raise HTTPException(403, "change your one-time password first (POST /api/me/password)")
    if user.second_factor_missing and request.url.path not in SECOND_FACTOR_FIRST:
        raise HTTPException(403, f"set up the second sign-in step first, at {SET_UP_SECOND_FACTOR}")
    return user


def api_admin(request: Request) -> User:
    user = api_user(request)
    if not user.is_admin:
        raise HTTPException(403, "only an admin may do this")
    return user


def page_user(request: Request) -> User:
    """The pages' dependency: a redirect to the sign-in page without a session."""
    user = current_user(request)
    if user is None:
        raise SignInRequired(request.url.path)
    if user.must_change_password and request.url.path not in PASSWORD_FIRST:
        raise PageError(
            403, "You signed in with a one-time password: choose your own on the Account page, /inbox/account, first."
        )
    if user.second_factor_missing and request.url.path not in SECOND_FACTOR_FIRST:
        raise SecondFactorRequired(request.url.path)
    return user


def page_admin(request: Request) -> User:
    user = page_user(request)
    if not user.is_admin:
        raise PageError(403, "Only an admin may see this page.")
    return user


async def checked_form(request: Request, user: User) -> dict[str, str]:
    """A posted form whose CSRF field matches the session's token (403 otherwise)."""
    form = {key: value for key, value in (await request.form()).multi_items() if isinstance(value, str)}
    if not csrf_valid(request, user.csrf, form.get(CSRF_FIELD)):
        raise PageError(403, "The form was out of date or came from another site. Reload the page and try again.")
    return form


class InboxRoute(APIRoute):
    """Every inbox and API request: the client's address as uvicorn's ProxyHeadersMiddleware
    reads it, believing X-Forwarded-For only from ``settings.trusted_proxies``; the security
    headers on the response; and no cookie for another site's POST (a cross-site sign-in
    form answered 403 would otherwise replace the session cookie: a forced sign-out)."""

    def get_route_handler(self):
        handler = super().get_route_handler()

        async def with_headers(request: Request) -> Response:
            await proxies.resolve(request.scope, request.app.state.settings.trusted_proxies)
            response = await handler(request)
            for name, value in SECURITY_HEADERS.items():
                response.headers.setdefault(name, value)
            if request.method not in SAFE_METHODS and cross_site(request):
                del response.headers["set-cookie"]
            return response

        return with_headers


# Parameter types for routes: ``user: ApiUser`` (401/403 as JSON) or ``user: PageUser`` (redirect to sign in).
ApiUser = Annotated[User, Depends(api_user)]
ApiAdmin = Annotated[User, Depends(api_admin)]
PageUser = Annotated[User, Depends(page_user)]
PageAdmin = Annotated[User, Depends(page_admin)]
