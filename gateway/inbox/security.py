"""Signing coordinators in: argon2 password hashes, a signed session cookie,
CSRF tokens, and limits on sign-in attempts.

The session is a cookie signed by itsdangerous (HMAC-SHA256 under a key derived
from ``settings.secret_key``, with a timestamp it checks). It holds the
coordinator's id, the per-session CSRF token, when it was issued, and a
fingerprint of the password hash, so changing a password ends every other
session. Every request reloads the coordinator: deactivating an account ends
its sessions at once. Signing out revokes the session's token in this gateway
process (``Revoked``); a shared, stored session list is needed for several.
"""
from __future__ import annotations

import hashlib
import hmac
import secrets
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Annotated
from urllib.parse import urlsplit

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from fastapi import Depends, HTTPException, Request
from fastapi.routing import APIRoute
from itsdangerous import BadData, URLSafeTimedSerializer
from limits import RateLimitItemPerSecond
from limits.storage import MemoryStorage, Storage
from limits.strategies import MovingWindowRateLimiter
from starlette.responses import Response

from gateway.db import run, session_scope
from gateway.models import Coordinator
from gateway.settings import Settings

COOKIE = "hubguide_inbox"
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

MIN_PASSWORD = 12
MAX_FAILURES = 5  # consecutive failed sign-ins before an account is locked
LOCK_SECONDS = 15 * 60
IP_FAILURES = 20  # failed sign-ins from one address within IP_WINDOW
IP_WINDOW = 15 * 60

HASHER = PasswordHasher()  # argon2id with the library's defaults (64 MiB, t=3, p=4)


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


def password_problem(password: str) -> str | None:
    if len(password) < MIN_PASSWORD:
        return f"A password needs at least {MIN_PASSWORD} characters."
    if len(password) > 200:
        return "A password can have at most 200 characters."
    return None


def fingerprint(password_hash: str) -> str:
    return hashlib.sha256(password_hash.encode()).hexdigest()[:16]


def aware(moment: datetime | None) -> datetime | None:
    """SQLite gives datetimes back without a time zone; they are UTC."""
    if moment is not None and moment.tzinfo is None:
        return moment.replace(tzinfo=timezone.utc)
    return moment


# --- the signed session cookie ---------------------------------------------------------------

# Cookies signed before itsdangerous (a hand-made HMAC format, "v1") no longer decode: their
# coordinators sign in again once. A new salt would end every session the same way.
SESSION_SALT = "hubguide inbox session v2"


def _serializer(settings: Settings) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(settings.secret_key.get_secret_value(), salt=SESSION_SALT,
                                  signer_kwargs={"digest_method": hashlib.sha256})


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
        data.update(c=coordinator.id, p=fingerprint(coordinator.password_hash))
    return data


def is_https(settings: Settings) -> bool:
    return settings.public_base_url.lower().startswith("https://")


def set_session(response: Response, settings: Settings, data: dict) -> None:
    response.set_cookie(COOKIE, encode_session(settings, data), max_age=SESSION_SECONDS, path="/",
                        httponly=True, samesite="lax", secure=is_https(settings))


def clear_session(response: Response, settings: Settings) -> None:
    response.delete_cookie(COOKIE, path="/", httponly=True, samesite="lax", secure=is_https(settings))


def session_data(request: Request) -> dict | None:
    if not hasattr(request.state, "inbox_session"):
        value = request.cookies.get(COOKIE)
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

    @property
    def is_admin(self) -> bool:
        return self.role == "admin"


def load_user(data: dict | None) -> User | None:
    """The coordinator a session belongs to, if it is still good: the account
    is active and its password has not changed since the session began."""
    if not data or not isinstance(data.get("c"), int):
        return None
    with session_scope() as session:
        coordinator = session.get(Coordinator, data["c"])
        if coordinator is None or not coordinator.active \
                or not hmac.compare_digest(fingerprint(coordinator.password_hash), str(data.get("p"))):
            return None
        return User(coordinator.id, coordinator.name, coordinator.email, coordinator.role,
                    coordinator.hub_id, coordinator.hub.name if coordinator.hub else None, data["t"])


class Revoked:
    """Sessions signed out before they expired (their CSRF token names them).

    In memory, per gateway process: enough for one process; several processes
    need a stored session list (see the inbox notes in the README)."""

    def __init__(self) -> None:
        self._until: dict[str, float] = {}

    def add(self, data: dict | None) -> None:
        if data:
            now = time.time()
            self._until = {t: until for t, until in self._until.items() if until > now}
            self._until[data["t"]] = data["i"] + SESSION_SECONDS

    def __contains__(self, data: dict) -> bool:
        return data["t"] in self._until


def current_user(request: Request) -> User | None:
    if not hasattr(request.state, "inbox_user"):
        data = session_data(request)
        revoked = data is not None and data in request.app.state.inbox_revoked
        request.state.inbox_user = None if revoked else load_user(data)
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
    return bool(given) and hmac.compare_digest(expected, given) and not cross_site(request)


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


def api_user(request: Request) -> User:
    """The API's dependency: 401 without a session, 403 without the CSRF header on a change."""
    user = current_user(request)
    if user is None:
        raise HTTPException(401, "not signed in")
    if request.method not in SAFE_METHODS and not csrf_valid(request, user.csrf,
                                                             request.headers.get(CSRF_HEADER)):
        raise HTTPException(403, f"missing or wrong CSRF token (send the page's token as {CSRF_HEADER})")
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


# --- limits on sign-in attempts ----------------------------------------------------------------

class Throttle:
    """Failures per key (an address, or an unknown email) within a moving window:
    each failure counts for ``window`` seconds (``limits``' moving window).

    The storage is ``limits``' MemoryStorage by default, per gateway process; one
    of its shared storages (Redis) lets several processes count together. The
    per-account lock (``failed_logins``, ``locked_until``) is in the database."""

    def __init__(self, name: str, limit: int, window: int, storage: Storage | None = None) -> None:
        self.item = RateLimitItemPerSecond(limit, window, namespace=name)
        self.limiter = MovingWindowRateLimiter(storage if storage is not None else MemoryStorage())

    def retry_after(self, key: str) -> float:
        """Seconds until the key may try again; 0 when it may now."""
        stats = self.limiter.get_window_stats(self.item, key)
        return 0.0 if stats.remaining > 0 else stats.reset_time - time.time()

    def fail(self, key: str) -> None:
        self.limiter.hit(self.item, key)

    def clear(self, key: str) -> None:
        self.limiter.clear(self.item, key)


@dataclass
class Throttles:
    by_address: Throttle
    by_unknown_email: Throttle

    @classmethod
    def default(cls, storage: Storage | None = None) -> Throttles:
        """Both limits in one storage (a new MemoryStorage unless one is given)."""
        storage = storage if storage is not None else MemoryStorage()
        return cls(Throttle("inbox-sign-in-address", IP_FAILURES, IP_WINDOW, storage),
                   Throttle("inbox-sign-in-email", MAX_FAILURES, LOCK_SECONDS, storage))


def minutes(seconds: float) -> int:
    return max(1, int(-(-seconds // 60)))


class InboxRoute(APIRoute):
    """Adds the security headers to every inbox and API response."""

    def get_route_handler(self):
        handler = super().get_route_handler()

        async def with_headers(request: Request) -> Response:
            response = await handler(request)
            for name, value in SECURITY_HEADERS.items():
                response.headers.setdefault(name, value)
            return response

        return with_headers


# Parameter types for routes: ``user: ApiUser`` (401/403 as JSON) or ``user: PageUser`` (redirect to sign in).
ApiUser = Annotated[User, Depends(api_user)]
ApiAdmin = Annotated[User, Depends(api_admin)]
PageUser = Annotated[User, Depends(page_user)]
PageAdmin = Annotated[User, Depends(page_admin)]
