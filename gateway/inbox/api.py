"""The JSON API behind the inbox, under ``/api`` (and in the OpenAPI at /docs).

Same session as the pages. Changes (POST, PATCH) need the page's CSRF token in
the ``X-CSRF-Token`` header. 401: not signed in; 403: not allowed for the role
(or no CSRF token, or a one-time password still to be changed: ``POST /api/me/password``);
404: no such handoff in your hubs; 409: not in this state (closed; or a reply to a resident
who left: ended the web chat or sent STOP, see ``unreachable``); 422: a request that can never
work. Each handoff shown with its conversation is recorded in the audit trail, which admins read
at ``GET /api/audit``.

The database work runs on the database thread (``in_session``), off the event loop.
"""

from __future__ import annotations

from typing import Any, Literal, NoReturn

from fastapi import APIRouter, HTTPException, Query, Request, Response
from sqlalchemy.exc import SQLAlchemyError

from gateway import erasure
from gateway.db import in_session
from gateway.events import Event
from gateway.inbox import accounts, service, stats
from gateway.inbox.schemas import (
    AuditPage,
    CloseIn,
    CoordinatorChange,
    CoordinatorCreated,
    CoordinatorIn,
    CoordinatorOut,
    ErasedOut,
    EraseIn,
    HandoffDetail,
    HandoffSummary,
    HubOut,
    Me,
    MessageOut,
    PasswordChanged,
    PasswordIn,
    ReassignIn,
    ReplyIn,
)
from gateway.inbox.security import ApiAdmin, ApiUser, InboxRoute, User, new_session, set_session
from gateway.models import Handoff

router = APIRouter(prefix="/api", tags=["inbox"], route_class=InboxRoute)

ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"description": "Not signed in"},
    403: {"description": "Not allowed (role or CSRF token)"},
}
HANDOFF_ERRORS: dict[int | str, dict[str, Any]] = {
    **ERRORS,
    404: {"description": "No such handoff in your hubs"},
    409: {"description": "Not possible in the handoff's state"},
}


def _publish(request: Request, kind: str, hub_id: int | None, **ids: int) -> None:
    request.app.state.events.publish(Event(kind, hub_id, ids))


def _detail(session, user: User, handoff_id: int) -> dict:
    return service.detail_view(session, service.visible_handoff(session, user, handoff_id))


def _raise(exc: Exception) -> NoReturn:
    if isinstance(exc, service.NotVisible):
        raise HTTPException(404, "no such handoff") from exc
    if isinstance(exc, service.Conflict):
        raise HTTPException(409, str(exc)) from exc
    if isinstance(exc, service.Invalid):
        raise HTTPException(422, str(exc)) from exc
    raise exc


@router.get("/me", response_model=Me, responses=ERRORS, summary="Who is signed in")
async def me(user: ApiUser) -> dict:
    return {
        "id": user.id,
        "name": user.name,
        "email": user.email,
        "role": user.role,
        "hub_id": user.hub_id,
        "hub_name": user.hub_name,
        "must_change_password": user.must_change_password,
    }


@router.post(
    "/me/password",
    response_model=PasswordChanged,
    responses={**ERRORS, 422: {"description": "The current password is wrong, or the new one too weak"}},
    summary="Change your own password (a one-time one first of all); your other sessions end",
)
async def change_password(payload: PasswordIn, request: Request, response: Response, user: ApiUser) -> dict:
    try:
        coordinator = await accounts.change_own_password(user.id, payload.current, payload.new)
    except accounts.AccountError as exc:
        raise HTTPException(422, str(exc)) from exc
    data = new_session(coordinator)  # this session goes on under the new password
    set_session(response, request.app.state.settings, data)
    return {"csrf": data["t"]}


@router.get(
    "/handoffs", response_model=list[HandoffSummary], responses=ERRORS, summary="Handoffs in your hubs (admins: all)"
)
async def list_handoffs(
    user: ApiUser,
    status: Literal["active", "open", "claimed", "closed", "all"] = "active",
    limit: int = Query(200, ge=1, le=1000),
) -> list[dict]:
    return await in_session(service.list_handoffs, user, status, limit)


@router.get(
    "/handoffs/{handoff_id}",
    response_model=HandoffDetail,
    responses=HANDOFF_ERRORS,
    summary="One handoff with the conversation so far",
)
async def get_handoff(handoff_id: int, user: ApiUser) -> dict:
    try:
        return await in_session(_detail, user, handoff_id)
    except service.NotVisible as exc:
        _raise(exc)


@router.post(
    "/handoffs/{handoff_id}/claim",
    response_model=HandoffDetail,
    responses=HANDOFF_ERRORS,
    summary="Claim a handoff (take it over if someone else has it)",
)
async def claim(handoff_id: int, request: Request, user: ApiUser) -> dict:
    try:
        hub_id = (await in_session(service.claim, user, handoff_id)).hub_id
    except (service.NotVisible, service.Conflict) as exc:
        _raise(exc)
    _publish(request, "handoff_updated", hub_id, handoff=handoff_id)
    return await in_session(_detail, user, handoff_id)


@router.post(
    "/handoffs/{handoff_id}/reply",
    response_model=MessageOut,
    status_code=201,
    responses={
        **HANDOFF_ERRORS,
        409: {"description": "The handoff is closed, or the resident left (ended the chat, sent STOP)"},
        422: {"description": "Empty or too long"},
    },
    summary="Reply to the resident on their own channel",
)
async def reply(handoff_id: int, payload: ReplyIn, request: Request, user: ApiUser) -> dict:
    def work(session):
        message = service.reply(session, user, handoff_id, payload.body)
        return session.get(Handoff, handoff_id).hub_id, service.message_view(message, "", handoff_id)

    try:
        hub_id, view = await in_session(work)
    except (service.NotVisible, service.Conflict, service.Invalid) as exc:
        _raise(exc)
    request.app.state.outbox.wake()
    _publish(request, "message_out", hub_id, handoff=handoff_id, message=view["id"])
    return view


@router.post(
    "/handoffs/{handoff_id}/reassign",
    response_model=HandoffSummary,
    responses={**HANDOFF_ERRORS, 422: {"description": "No such hub"}},
    summary="Move a handoff to another hub (its on-duty coordinators get an SMS)",
)
async def reassign(handoff_id: int, payload: ReassignIn, request: Request, user: ApiUser) -> dict:
    settings = request.app.state.settings

    def work(session):
        handoff, old_hub = service.reassign(session, user, handoff_id, payload.hub, settings.public_base_url)
        return old_hub, service.summary_view(handoff, {})

    try:
        old_hub, view = await in_session(work)
    except (service.NotVisible, service.Conflict, service.Invalid) as exc:
        _raise(exc)
    request.app.state.outbox.wake()
    _publish(request, "handoff_updated", old_hub, handoff=handoff_id)
    _publish(request, "handoff_created", view["hub"]["id"], handoff=handoff_id)
    return view


@router.post(
    "/handoffs/{handoff_id}/close",
    response_model=HandoffDetail,
    responses=HANDOFF_ERRORS,
    summary="Close with an outcome; the resident gets a goodbye and the bot back (none if they left)",
)
async def close(handoff_id: int, payload: CloseIn, request: Request, user: ApiUser) -> dict:
    try:
        hub_id = (await in_session(service.close, user, handoff_id, payload.outcome)).hub_id
    except (service.NotVisible, service.Conflict, service.Invalid) as exc:
        _raise(exc)
    request.app.state.outbox.wake()
    _publish(request, "handoff_updated", hub_id, handoff=handoff_id)
    return await in_session(_detail, user, handoff_id)


@router.get("/hubs", response_model=list[HubOut], responses=ERRORS, summary="Active hubs (to reassign to)")
async def list_hubs(user: ApiUser) -> list[dict]:
    return await in_session(service.hubs)


@router.get("/stats", responses=ERRORS, summary="Counts for reporting (no personal data)")
async def get_stats(user: ApiUser, weeks: int = Query(stats.DEFAULT_WEEKS, ge=1, le=stats.MAX_WEEKS)) -> dict:
    return stats.public(await stats.gather(user, weeks))


@router.get("/coordinators", response_model=list[CoordinatorOut], responses=ERRORS, summary="Accounts (admin)")
async def list_coordinators(user: ApiAdmin) -> list[dict]:
    return await in_session(accounts.coordinators)


def _account(session, coordinator_id: int) -> dict:
    return next(p for p in accounts.coordinators(session) if p["id"] == coordinator_id)


@router.post(
    "/coordinators",
    response_model=CoordinatorCreated,
    status_code=201,
    responses={**ERRORS, 409: {"description": "The email is taken"}},
    summary="Create an account with a one-time password (admin)",
)
async def create_coordinator(payload: CoordinatorIn, user: ApiAdmin) -> dict:
    one_time = await accounts.prepare_password()

    def create(session):
        coordinator, password = accounts.create_coordinator(session, **payload.model_dump(), password=one_time)
        return {**_account(session, coordinator.id), "one_time_password": password}

    try:
        return await in_session(create)
    except accounts.AccountError as exc:
        raise HTTPException(409 if exc.conflict else 422, str(exc)) from exc


@router.patch(
    "/coordinators/{coordinator_id}",
    response_model=CoordinatorOut,
    responses={**ERRORS, 404: {"description": "No such account"}},
    summary="Change hub, phone, on duty, active or role (admin)",
)
async def update_coordinator(coordinator_id: int, payload: CoordinatorChange, user: ApiAdmin) -> dict:
    def update(session):
        accounts.update_coordinator(session, user.id, coordinator_id, payload.model_dump(exclude_unset=True))
        session.flush()
        return _account(session, coordinator_id)

    try:
        return await in_session(update)
    except LookupError as exc:
        raise HTTPException(404, "no such account") from exc
    except accounts.AccountError as exc:
        raise HTTPException(422, str(exc)) from exc


@router.post(
    "/coordinators/{coordinator_id}/password",
    responses={**ERRORS, 404: {"description": "No such account"}},
    summary="Set a new one-time password and unlock the account (admin)",
)
async def reset_password(coordinator_id: int, user: ApiAdmin) -> dict:
    try:
        return {
            "one_time_password": await in_session(
                accounts.reset_password, coordinator_id, await accounts.prepare_password()
            )
        }
    except LookupError as exc:
        raise HTTPException(404, "no such account") from exc


@router.get(
    "/audit",
    response_model=AuditPage,
    responses=ERRORS,
    summary="The audit trail, newest first: who read which conversation, and when (admin)",
)
async def audit(
    user: ApiAdmin,
    limit: int = Query(100, ge=1, le=500),
    before: int | None = Query(None, ge=1),
    actor: int | None = Query(None, description="Only this coordinator's lines"),
    handoff: int | None = Query(None, description="Only lines about this handoff"),
) -> dict:
    return await in_session(service.audit_page, limit, before, actor, handoff)


@router.post(
    "/handoffs/{handoff_id}/erase",
    response_model=ErasedOut,
    responses={**HANDOFF_ERRORS, 503: {"description": "A database did not answer: try again, it finishes"}},
    summary="Erase the handoff's resident: messages, handoffs, tracker events, number (admin; audited)",
)
async def erase(handoff_id: int, payload: EraseIn, request: Request, user: ApiAdmin) -> dict:
    try:
        resident = await in_session(lambda session: service.visible_handoff(session, user, handoff_id).resident_id)
        erased = await erasure.erase_now(
            request.app.state.conversations, resident, actor_id=user.id, handoff_id=handoff_id
        )
    except service.NotVisible as exc:
        _raise(exc)
    except (SQLAlchemyError, ImportError) as exc:  # Rasa's tracker store, most likely
        raise HTTPException(503, "the erasure could not finish (a database did not answer); try again") from exc
    if erased is None:
        raise HTTPException(404, "no such handoff")
    for erased_handoff, hub_id in erased.handoffs:
        _publish(request, "handoff_updated", hub_id, handoff=erased_handoff)
    return {"messages": erased.messages, "handoffs": len(erased.handoffs), "tracker_events": erased.tracker_events}
