"""Signing in and out of the inbox, and the second sign-in step (``second_factor``): the code
page after the password, setting the step up from the Account page, new recovery codes,
turning it off, and the admins' page that resets it for someone who lost their phone.

Pages as in ``pages``: forms without JavaScript (post, then redirect), database work on the
database thread (``in_session``), hashing in ``security.hashing``'s threads."""

from __future__ import annotations

import time

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from gateway.db import in_session
from gateway.inbox import accounts, render, second_factor
from gateway.inbox.pages import account_page, html, safe_next, see
from gateway.inbox.second_factor import Pending, SecondFactorError
from gateway.inbox.security import (
    CSRF_FIELD,
    SET_UP_SECOND_FACTOR,
    InboxRoute,
    PageAdmin,
    PageError,
    PageUser,
    User,
    checked_form,
    clear_session,
    csrf_valid,
    new_session,
    session_data,
    set_session,
    sign_out,
    signed_in,
)
from gateway.inbox.throttles import minutes
from gateway.models import utcnow

router = APIRouter(prefix="/inbox", route_class=InboxRoute, include_in_schema=False)

STEP_TWO = "/inbox/login/code"
EXPIRED = "The sign-in took longer than 5 minutes, or was started in another window. Please sign in again."
WRONG_CODE = "That code is wrong, or was used already. Type the code the app shows now (it changes every 30 seconds)."
WRONG_RECOVERY = "That recovery code is wrong, or was used already."
TOO_MANY = "Too many wrong codes: try again in {minutes} minute(s), or ask an admin to reset your second sign-in step."
RESET = "Reset: their sessions ended; they set the second sign-in step up again at their next sign-in (admins must)."


class Expired(Exception):
    """The account changed (password, sign-out, deactivated, step reset) between the password and the code."""


# --- step one: the password ------------------------------------------------------------------


def _login_response(
    request: Request,
    next_path: str,
    email: str = "",
    error: str | None = None,
    notice: str | None = None,
    status: int = 200,
    fresh: bool = False,
) -> HTMLResponse:
    data = session_data(request)
    if fresh or not data or "c" in data:  # a new anonymous session guards the form
        data = new_session()
    response = html(
        render.page("login.html", None, csrf=data["t"], next_path=next_path, email=email, error=error, notice=notice),
        status,
    )
    set_session(response, request.app.state.settings, data)
    return response


@router.get("/login")
async def login_form(request: Request, next: str = "/inbox", signed_out: int = 0, expired: int = 0) -> Response:
    if await signed_in(request) is not None:
        return see(safe_next(next))
    notice = "You are signed out." if signed_out else None
    return _login_response(request, safe_next(next), notice=notice, error=EXPIRED if expired else None)


@router.post("/login")
async def login(request: Request) -> Response:
    """The password. With the second step on, no session yet: a half-signed-in value, and the code page."""
    form = {k: v for k, v in (await request.form()).multi_items() if isinstance(v, str)}
    next_path, email = safe_next(form.get("next")), form.get("email", "")[:200]
    data = session_data(request)
    if not data or "c" in data or not csrf_valid(request, data["t"], form.get(CSRF_FIELD)):
        return _login_response(
            request, next_path, email, "The sign-in form had expired. Please try again.", status=403, fresh=True
        )
    address = request.client.host if request.client else "unknown"
    result = await accounts.sign_in(email, form.get("password", ""), address, request.app.state.inbox_throttles)
    if result.error:
        return _login_response(request, next_path, email, result.error, status=result.status)
    settings = request.app.state.settings
    fresh, needs_code, must_set_up = await in_session(second_factor.account_after_password, result.coordinator_id)
    if needs_code:
        response = see(STEP_TWO)
        second_factor.start_pending(response, settings, fresh, next_path, data["t"])
        return response
    response = see(SET_UP_SECOND_FACTOR if must_set_up else next_path)
    set_session(response, settings, fresh)  # a new token after sign-in
    return response


@router.post("/logout")
async def logout(request: Request) -> Response:
    user = await signed_in(request)
    if user is not None:
        await checked_form(request, user)
        await sign_out(session_data(request))  # stored before the answer: every replica refuses it
    response = see("/inbox/login?signed_out=1")
    clear_session(response, request.app.state.settings)
    second_factor.clear_pending(response, request.app.state.settings)
    return response


# --- step two: the code ------------------------------------------------------------------------


def _form_token(request: Request) -> str | None:
    """The sign-in form's token: the anonymous session's (a signed-in one has no code to give)."""
    data = session_data(request)
    return data["t"] if data and "c" not in data else None


def _code_page(token: str, problem: str | None = None, field: str = "code", status: int = 200) -> HTMLResponse:
    return html(render.page("login_code.html", None, csrf=token, problem=problem, field=field), status)


def _restart(request: Request) -> Response:
    response = see("/inbox/login?expired=1")
    second_factor.clear_pending(response, request.app.state.settings)
    return response


@router.get("/login/code")
async def code_form(request: Request) -> Response:
    token = _form_token(request)
    if token is None or second_factor.read_pending(request, token) is None:
        return _restart(request)
    return _code_page(token)


def _with_code(session, pending: Pending, code: str, now: float) -> dict | None:
    """The account's new session if ``code`` is right and unused; None (and an audit line) if not."""
    coordinator = second_factor.pending_account(session, pending)
    if coordinator is None:
        raise Expired
    if second_factor.check_code(session, coordinator.id, code, now):
        return new_session(coordinator)
    second_factor.wrong_code(session, coordinator.id)
    return None


def _recovery_hash(session, pending: Pending, code: str) -> tuple[str, str] | None:
    if second_factor.pending_account(session, pending) is None:
        raise Expired
    return second_factor.recovery_hash(session, pending.coordinator_id, code)


def _with_recovery(session, pending: Pending, found: tuple[str, str] | None, good: bool, code: str) -> dict | None:
    """The new session if the recovery code was right and is struck off now; None (audited) if not."""
    coordinator = second_factor.pending_account(session, pending)
    if coordinator is None:
        raise Expired
    if found and good and second_factor.use_recovery_code(session, coordinator.id, found[0], code) is not None:
        return new_session(coordinator)
    second_factor.wrong_code(session, coordinator.id)
    return None


@router.post("/login/code")
async def code_step(request: Request) -> Response:
    form = {k: v for k, v in (await request.form()).multi_items() if isinstance(v, str)}
    token = _form_token(request)
    if token is None or not csrf_valid(request, token, form.get(CSRF_FIELD)):
        return _restart(request)
    pending = second_factor.read_pending(request, token)
    if pending is None:
        return _restart(request)
    recovery = "recovery" in form
    field = "recovery" if recovery else "code"
    # Every attempt counts before it is checked (as the password's), per account and per address.
    throttles = request.app.state.inbox_throttles
    throttle, by_address = throttles.wrong_codes, throttles.by_address
    address, account = request.client.host if request.client else "unknown", str(pending.coordinator_id)
    if not by_address.claim(address) or not throttle.claim(account):
        wait = max(throttle.retry_after(account), by_address.retry_after(address))
        return _code_page(token, TOO_MANY.format(minutes=minutes(wait)), field, 429)
    try:
        if recovery:
            code = form["recovery"][:100]
            found = await in_session(_recovery_hash, pending, code)
            good = bool(found) and await second_factor.check_recovery_hash(found[1] if found else "", code)
            fresh = await in_session(_with_recovery, pending, found, good, code)
        else:
            fresh = await in_session(_with_code, pending, form.get("code", "")[:100], time.time())
    except Expired:
        return _restart(request)
    if fresh is None:
        return _code_page(token, WRONG_RECOVERY if recovery else WRONG_CODE, field, 401)
    throttle.clear(account)
    # After a recovery code, the Account page: how many are left, and setting the step up again.
    response = see("/inbox/account?done=recovery" if recovery else pending.next_path)
    set_session(response, request.app.state.settings, fresh)
    second_factor.clear_pending(response, request.app.state.settings)
    return response


# --- setting it up, from the Account page ------------------------------------------------------------


async def _set_up_page(user: User, problem: str | None = None, status: int = 200) -> Response:
    try:
        secret, email = await in_session(second_factor.begin, user.id)
    except SecondFactorError:  # already on
        return see("/inbox/account")
    qr = second_factor.qr_svg(
        second_factor.provisioning_uri(secret, email),
        "QR code for your authenticator app; the same key is written out in the next step",
    )
    page = render.page(
        "second_factor.html", user, qr=qr, key=second_factor.spaced(secret), problem=problem, field="code"
    )
    return html(page, status)


@router.get("/account/second-factor")
async def set_up(user: PageUser) -> Response:
    return await _set_up_page(user)


def _codes_page(user: User, codes: list[str], notice: str) -> HTMLResponse:
    """The recovery codes, shown this once (the page is not cached: Cache-Control no-store)."""
    return html(render.page("recovery_codes.html", user, codes=codes, notice=notice))


@router.post("/account/second-factor")
async def confirm(request: Request, user: PageUser) -> Response:
    form = await checked_form(request, user)
    try:
        secret = await in_session(second_factor.confirm, user.id, form.get("code", "")[:100], time.time())
        codes = second_factor.new_recovery_codes()
        stored = await second_factor.hash_recovery_codes(codes)
        fresh = await in_session(second_factor.switch_on, user.id, secret, stored, utcnow())
    except SecondFactorError as exc:
        return await _set_up_page(user, str(exc), 422)
    response = _codes_page(user, codes, "The second sign-in step is on. Your other sessions are signed out.")
    set_session(response, request.app.state.settings, fresh)  # this session stays; the others end
    return response


async def _password_checked(request: Request, user: User, field: str) -> HTMLResponse | None:
    """The Account page with an error unless the form carries the account's password."""
    form = await checked_form(request, user)
    if await accounts.password_is(user.id, form.get("password", "")):
        return None
    return await account_page(user, 422, error="The password is wrong.", problem_field=field)


@router.post("/account/second-factor/recovery-codes")
async def replace_codes(request: Request, user: PageUser) -> Response:
    refused = await _password_checked(request, user, "codes-password")
    if refused is not None:
        return refused
    codes = second_factor.new_recovery_codes()
    stored = await second_factor.hash_recovery_codes(codes)
    try:
        await in_session(second_factor.replace_recovery_codes, user.id, stored)
    except SecondFactorError as exc:
        return await account_page(user, 409, error=str(exc))
    return _codes_page(user, codes, "New recovery codes: the old ones no longer work.")


def _switch_off_own(session, coordinator_id: int) -> dict:
    return new_session(second_factor.switch_off(session, coordinator_id, coordinator_id))


@router.post("/account/second-factor/off")
async def switch_off(request: Request, user: PageUser) -> Response:
    """Off, to move it to a new phone (admins are then sent to set it up again) or, for a coordinator, for good."""
    refused = await _password_checked(request, user, "off-password")
    if refused is not None:
        return refused
    fresh = await in_session(_switch_off_own, user.id)
    done = SET_UP_SECOND_FACTOR if second_factor.required(user.role) else "/inbox/account?done=second_factor_off"
    response = see(done)
    set_session(response, request.app.state.settings, fresh)  # this session stays; the others end
    return response


# --- admins: every account's second step ---------------------------------------------------------


@router.get("/admin/second-factor")
async def everyone(user: PageAdmin, done: str | None = None) -> Response:
    people = await in_session(second_factor.accounts)
    return html(render.page("second_factors.html", user, people=people, notice=RESET if done == "reset" else None))


@router.post("/admin/second-factor/{coordinator_id}/reset")
async def reset(coordinator_id: int, request: Request, user: PageAdmin) -> Response:
    """For someone who lost their phone and their recovery codes: the key and codes are forgotten
    and their sessions end (audited)."""
    await checked_form(request, user)
    if coordinator_id == user.id:
        raise PageError(422, "Your own second sign-in step is changed on your Account page.")
    try:
        await in_session(second_factor.switch_off, coordinator_id, user.id)
    except LookupError as exc:
        raise PageError(404, "There is no such account.") from exc
    return see("/inbox/admin/second-factor?done=reset")
