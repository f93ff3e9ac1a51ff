"""The inbox pages under ``/inbox``: the list, one handoff, statistics, the
account, and the admin's accounts and hubs (signing in: ``sign_in_pages``).
Forms work without JavaScript (post, then redirect); ``static/inbox.js`` adds
live updates from ``/inbox/events``.

Handlers are ``async``: their database work goes to the database thread
(``in_session``), never on the event loop, where SMS acknowledgements wait."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import quote

from fastapi import APIRouter, Query, Request
from fastapi.responses import FileResponse, HTMLResponse, RedirectResponse, Response, StreamingResponse
from sqlalchemy.exc import SQLAlchemyError

from gateway import erasure
from gateway.db import in_session
from gateway.events import Event
from gateway.inbox import accounts, live, render, second_factor, service, stats
from gateway.inbox.security import (
    SECURITY_HEADERS,
    SET_UP_SECOND_FACTOR,
    ApiUser,
    InboxRoute,
    PageAdmin,
    PageError,
    PageUser,
    SecondFactorRequired,
    SignInRequired,
    User,
    checked_form,
    load_user,
    new_session,
    session_data,
    set_session,
    signed_in,
)
from gateway.models import Coordinator

STATIC = Path(__file__).parent / "static"
DONE = {
    "claimed": "You have claimed this handoff.",
    "replied": "Your reply is on its way to the resident.",
    "closed": "Closed. The resident got a goodbye and the bot answers them again.",
    "reassigned": "The handoff was moved to the other hub; its coordinators were told.",
    "saved": "Saved.",
    "password": "Your password is changed. Other sessions of yours are signed out.",
    "duty": "Saved.",
    "erased": "The resident's messages, handoffs and number are erased.",
    "second_factor_off": "The second sign-in step is off; your other sessions are signed out.",
    "recovery": "You signed in with a recovery code, which no longer works now. Lost your phone? Set the "
    "second sign-in step up again below.",
}


router = APIRouter(prefix="/inbox", route_class=InboxRoute, include_in_schema=False)


def html(content: str, status: int = 200) -> HTMLResponse:
    return HTMLResponse(content, status_code=status, headers=SECURITY_HEADERS)


def see(url: str) -> RedirectResponse:
    return RedirectResponse(url, status_code=303, headers=SECURITY_HEADERS)


def publish(request: Request, kind: str, hub_id: int | None, **ids: int) -> None:
    request.app.state.events.publish(Event(kind, hub_id, ids))


def safe_next(path: str | None) -> str:
    """Only a path inside the inbox (never another site) to go back to after signing in."""
    if (
        not path
        or not path.startswith("/inbox")
        or path.startswith("//")
        or "\\" in path
        or path.startswith(("/inbox/login", "/inbox/logout", "/inbox/events", "/inbox/static"))
    ):
        return "/inbox"
    return path


async def sign_in_required(request: Request, exc: SignInRequired) -> Response:
    if isinstance(exc, SecondFactorRequired):  # an admin who has not set up the second sign-in step yet
        return see(SET_UP_SECOND_FACTOR)
    return see(f"/inbox/login?next={quote(safe_next(exc.next_path))}")


async def page_error(request: Request, exc: PageError) -> Response:
    return html(render.page("error.html", await signed_in(request), status=exc.status, message=exc.message), exc.status)


# --- handoffs ------------------------------------------------------------------------------


@router.get("")
async def inbox(request: Request, user: PageUser, status: str = "active", done: str | None = None) -> Response:
    status = status if status in ("active", "closed") else "active"
    items = await in_session(service.list_handoffs, user, status)
    return html(render.page("list.html", user, items=items, status=status, notice=DONE.get(done or "")))


def _handoff_view(session, user: User, handoff_id: int) -> tuple[dict, list[dict]]:
    return service.detail_view(session, service.visible_handoff(session, user, handoff_id)), service.hubs(session)


async def _handoff_page(user: User, handoff_id: int, status: int = 200, **extra) -> HTMLResponse:
    try:
        view, hubs = await in_session(_handoff_view, user, handoff_id)
    except service.NotVisible as exc:
        raise PageError(404, "There is no such handoff in your hub.") from exc
    return html(render.page("handoff.html", user, h=view, hubs=hubs, **extra), status)


@router.get("/handoffs/{handoff_id}")
async def handoff(handoff_id: int, user: PageUser, done: str | None = None) -> Response:
    return await _handoff_page(user, handoff_id, notice=DONE.get(done or ""))


async def _act(request: Request, user: User, handoff_id: int, action) -> Response:
    """Run ``action(session, form)`` on a handoff; its page again with the error if it cannot be done."""
    form = await checked_form(request, user)
    try:
        redirect, events = await in_session(action, form)
    except service.NotVisible as exc:
        raise PageError(404, "There is no such handoff in your hub.") from exc
    except (service.Invalid, service.Conflict) as exc:
        return await _handoff_page(
            user,
            handoff_id,
            409 if isinstance(exc, service.Conflict) else 422,
            error=str(exc).capitalize() + ".",
            draft=form.get("body", ""),
        )
    request.app.state.outbox.wake()
    for kind, hub_id, ids in events:
        publish(request, kind, hub_id, **ids)
    return see(redirect)


@router.post("/handoffs/{handoff_id}/claim")
async def claim(handoff_id: int, request: Request, user: PageUser) -> Response:
    def action(session, form):
        hub_id = service.claim(session, user, handoff_id).hub_id
        return f"/inbox/handoffs/{handoff_id}?done=claimed", [("handoff_updated", hub_id, {"handoff": handoff_id})]

    return await _act(request, user, handoff_id, action)


@router.post("/handoffs/{handoff_id}/reply")
async def reply(handoff_id: int, request: Request, user: PageUser) -> Response:
    def action(session, form):
        message = service.reply(session, user, handoff_id, form.get("body", ""))
        hub_id = service.visible_handoff(session, user, handoff_id).hub_id
        return f"/inbox/handoffs/{handoff_id}?done=replied", [
            ("message_out", hub_id, {"handoff": handoff_id, "message": message.id})
        ]

    return await _act(request, user, handoff_id, action)


@router.post("/handoffs/{handoff_id}/reassign")
async def reassign(handoff_id: int, request: Request, user: PageUser) -> Response:
    base_url = request.app.state.settings.public_base_url

    def action(session, form):
        handoff, old_hub = service.reassign(session, user, handoff_id, form.get("hub", ""), base_url)
        return "/inbox?done=reassigned", [
            ("handoff_updated", old_hub, {"handoff": handoff_id}),
            ("handoff_created", handoff.hub_id, {"handoff": handoff_id}),
        ]

    return await _act(request, user, handoff_id, action)


@router.post("/handoffs/{handoff_id}/close")
async def close(handoff_id: int, request: Request, user: PageUser) -> Response:
    def action(session, form):
        hub_id = service.close(session, user, handoff_id, form.get("outcome", "")).hub_id
        return f"/inbox/handoffs/{handoff_id}?done=closed", [("handoff_updated", hub_id, {"handoff": handoff_id})]

    return await _act(request, user, handoff_id, action)


@router.post("/handoffs/{handoff_id}/erase")
async def erase(handoff_id: int, request: Request, user: PageAdmin) -> Response:
    """An admin erases the handoff's resident, who asked in person (the same as the API's route)."""
    form = await checked_form(request, user)
    if form.get("confirm") != "yes":
        return await _handoff_page(user, handoff_id, 422, error="Tick the box to confirm the resident asked for it.")
    try:
        resident = await in_session(lambda session: service.visible_handoff(session, user, handoff_id).resident_id)
        erased = await erasure.erase_now(
            request.app.state.conversations, resident, actor_id=user.id, handoff_id=handoff_id
        )
    except service.NotVisible as exc:
        raise PageError(404, "There is no such handoff in your hub.") from exc
    except SQLAlchemyError as exc:  # Rasa's tracker store, most likely; a retry finishes the job
        raise PageError(503, "The erasure could not finish (a database did not answer). Try again.") from exc
    for gone, hub_id in erased.handoffs if erased else ():
        publish(request, "handoff_updated", hub_id, handoff=gone)
    return see("/inbox?done=erased")


@router.get(
    "/events",
    include_in_schema=True,
    tags=["inbox"],
    summary="Live updates (server-sent events)",
    response_class=StreamingResponse,
    responses={
        200: {"content": {"text/event-stream": {}}, "description": "Events naming ids only"},
        401: {"description": "Not signed in"},
    },
)
async def events(request: Request, user: ApiUser) -> StreamingResponse:
    data = session_data(request)
    stream = live.event_stream(request.app.state.events, user, lambda: load_user(data))
    return StreamingResponse(
        stream, media_type="text/event-stream", headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"}
    )


# --- statistics ----------------------------------------------------------------------------


@router.get("/stats")
async def stats_page(user: PageUser, weeks: int = Query(stats.DEFAULT_WEEKS, ge=1, le=stats.MAX_WEEKS)) -> Response:
    figures = await stats.gather(user, weeks)
    return html(render.page("stats.html", user, s=figures, weeks=weeks))


@router.get("/stats.csv")
async def stats_csv(user: PageUser, weeks: int = Query(stats.DEFAULT_WEEKS, ge=1, le=stats.MAX_WEEKS)) -> Response:
    figures = await stats.gather(user, weeks)
    name = f"hubguide-stats-{figures['period']['weeks'][0]}-{figures['period']['weeks'][-1]}.csv"
    # A byte-order mark, so spreadsheet programs read å, ä and ö as UTF-8.
    return Response(
        "\ufeff" + stats.to_csv(figures),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


# --- the coordinator's own account ---------------------------------------------------------


def _duty_phone_and_second_factor(session, coordinator_id: int) -> tuple[bool, str | None, dict]:
    me = session.get(Coordinator, coordinator_id)
    return me.on_duty, me.phone, second_factor.status(session, coordinator_id)


async def account_page(user: User, status: int = 200, **extra) -> HTMLResponse:
    """The Account page (``sign_in_pages`` has the second sign-in step's routes)."""
    on_duty, phone, factor = await in_session(_duty_phone_and_second_factor, user.id)
    return html(render.page("account.html", user, on_duty=on_duty, phone=phone, factor=factor, **extra), status)


@router.get("/account")
async def account(user: PageUser, done: str | None = None) -> Response:
    return await account_page(user, notice=DONE.get(done or ""))


@router.post("/account/duty")
async def duty(request: Request, user: PageUser) -> Response:
    form = await checked_form(request, user)

    def save(session):
        session.get(Coordinator, user.id).on_duty = bool(form.get("on_duty"))

    await in_session(save)
    return see("/inbox/account?done=duty")


@router.post("/account/password")
async def change_password(request: Request, user: PageUser) -> Response:
    form = await checked_form(request, user)
    if form.get("new", "") != form.get("again", ""):
        return await account_page(user, 422, error="The two new passwords differ.")

    try:
        data = new_session(await accounts.change_own_password(user.id, form.get("current", ""), form.get("new", "")))
    except accounts.AccountError as exc:
        return await account_page(user, 422, error=str(exc))
    response = see("/inbox/account?done=password")
    set_session(response, request.app.state.settings, data)  # this session stays; the others end
    return response


# --- admin ---------------------------------------------------------------------------------


def _people_and_hubs(session) -> tuple[list[dict], list[dict]]:
    return accounts.coordinators(session), service.hubs(session)


async def _people_page(user: User, status: int = 200, **extra) -> HTMLResponse:
    people, hubs = await in_session(_people_and_hubs)
    return html(render.page("coordinators.html", user, people=people, hubs=hubs, **extra), status)


@router.get("/admin/coordinators")
async def people(user: PageAdmin, done: str | None = None) -> Response:
    return await _people_page(user, notice=DONE.get(done or ""))


@router.post("/admin/coordinators")
async def create_person(request: Request, user: PageAdmin) -> Response:
    form = await checked_form(request, user)
    one_time = await accounts.prepare_password()

    def create(session):
        coordinator, password = accounts.create_coordinator(
            session,
            name=form.get("name", ""),
            email=form.get("email", ""),
            role=form.get("role", "coordinator"),
            hub=form.get("hub") or None,
            phone=form.get("phone"),
            on_duty=bool(form.get("on_duty")),
            password=one_time,
        )
        return f"{coordinator.name} <{coordinator.email}>", password

    try:
        who, password = await in_session(create)
    except accounts.AccountError as exc:
        return await _people_page(user, 409 if exc.conflict else 422, error=str(exc), draft=form)
    return await _people_page(user, 201, secret=(who, password), notice="Account created.")


@router.post("/admin/coordinators/{coordinator_id}")
async def update_person(coordinator_id: int, request: Request, user: PageAdmin) -> Response:
    form = await checked_form(request, user)
    changes = {
        "role": form.get("role", "coordinator"),
        "hub": form.get("hub") or None,
        "phone": form.get("phone"),
        "on_duty": bool(form.get("on_duty")),
        "active": bool(form.get("active")),
    }
    try:
        await in_session(accounts.update_coordinator, user.id, coordinator_id, changes)
    except LookupError as exc:
        raise PageError(404, "There is no such account.") from exc
    except accounts.AccountError as exc:
        return await _people_page(user, 422, error=str(exc))
    return see("/inbox/admin/coordinators?done=saved")


@router.post("/admin/coordinators/{coordinator_id}/password")
async def reset_person(coordinator_id: int, request: Request, user: PageAdmin) -> Response:
    await checked_form(request, user)
    one_time = await accounts.prepare_password()

    def reset(session):
        password = accounts.reset_password(session, coordinator_id, one_time)
        person = session.get(Coordinator, coordinator_id)
        return f"{person.name} <{person.email}>", password

    try:
        who, password = await in_session(reset)
    except LookupError as exc:
        raise PageError(404, "There is no such account.") from exc
    return await _people_page(
        user, secret=(who, password), notice="New one-time password set; the account is unlocked."
    )


@router.get("/admin/hubs")
async def hubs(user: PageAdmin) -> Response:
    overview = await in_session(accounts.hubs_overview)
    return html(render.page("hubs.html", user, hubs=overview))


# --- static files --------------------------------------------------------------------------


@router.get("/static/{name}")
async def static(name: str) -> Response:
    types = {"inbox.js": "text/javascript", "inbox.css": "text/css"}
    if name not in types:
        raise PageError(404, "No such file.")
    return FileResponse(STATIC / name, media_type=types[name], headers={"Cache-Control": "no-cache"})
