"""The hub facts page, ``/inbox/hub-facts``: a hub's coordinators (and the admins, for every hub)
keep its opening hours, drop-in times, address, phone, languages and closed days (issue 12 §5).

A fact as typed is checked before anything is stored: one that is not a time, a date or a phone
number gets its error beside the field and in a summary above the form, nothing is saved, and the
form keeps what was typed. A saved change is audited (``gateway.store.save_hub_facts``) and reaches
the next resident handed over to the hub (``gateway.promise``): the gateway reads the facts at
each handoff. A coordinator of another hub gets 403."""

from __future__ import annotations

import re
from typing import Any

from babel import Locale
from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from common import hours, when
from common.hours import DAY_NAMES, WEEKDAYS, FactError
from common.languages import LANGUAGES
from gateway.db import in_session
from gateway.inbox import render
from gateway.inbox.security import CSRF_FIELD, SECURITY_HEADERS, InboxRoute, PageError, PageUser, User, checked_form
from gateway.models import Coordinator, Hub, HubFactChange
from gateway.store import save_hub_facts

router = APIRouter(prefix="/inbox/hub-facts", route_class=InboxRoute, include_in_schema=False)

# Languages a hub may say it speaks: the assistant's own, then others common in the areas
# (../shared/facts.md, "Languages"); each named by Babel in every resident's language.
OTHER_LANGUAGES = ("bs", "ku", "ckb", "ps", "tr", "es", "am", "fr", "pl", "ru", "uk", "hr", "sr")
LANGUAGE_CHOICES = (*LANGUAGES, *OTHER_LANGUAGES)
ENGLISH = Locale("en").languages
HOURS_FIELDS = {f"{kind}_{day}": (kind, day) for kind in ("hours", "drop_in") for day in WEEKDAYS}
LABELS = {
    "address": "Street address",
    "phone": "Phone",
    **{
        field: f"{'Opening hours' if kind == 'hours' else 'Drop-in'}, {DAY_NAMES[WEEKDAYS.index(day)]}"
        for field, (kind, day) in HOURS_FIELDS.items()
    },
    "closed_days": "Closed days",
}
FACT_NAMES = {
    "address": "address",
    "phone": "phone",
    "hours": "opening hours",
    "drop_in": "drop-in",
    "languages": "languages",
    "closed_days": "closed days",
}
MAX_ADDRESS = 300
MAX_INTERVALS = 6  # a day's
MAX_CLOSED = 60  # closed days and ranges
CHANGES_SHOWN = 20
# Hand-written rather than the phonenumbers package (not a dependency of this project): a hub's
# public number as residents dial it, 7 to 15 digits, spaces, hyphens and brackets as people write them.
PHONE = re.compile(r"\+?[\d\s()-]+")


def html(content: str, status: int = 200) -> HTMLResponse:
    return HTMLResponse(content, status_code=status, headers=SECURITY_HEADERS)


# --- the form ------------------------------------------------------------------------------------


def form_of(hub: Hub) -> dict[str, str]:
    """The form's fields for the hub's facts as stored."""
    fields = {"address": hub.address or "", "phone": hub.phone or ""}
    for kind in ("hours", "drop_in"):
        week = hours.Week.from_json(getattr(hub, kind))
        for day, spans in zip(WEEKDAYS, week.days, strict=True):
            fields[f"{kind}_{day}"] = hours.intervals_text(spans)
    fields |= {f"lang_{code}": "on" for code in hub.languages or ()}
    fields["closed_days"] = hours.closed_text(hours.closed_from_json(hub.closed_days))
    return fields


def phone(text: str) -> str | None:
    text = " ".join(text.split())
    if not text:
        return None
    digits = sum(ch.isdigit() for ch in text)
    if not PHONE.fullmatch(text) or not 7 <= digits <= 15:
        raise FactError(
            f"“{text}” is not a phone number: write 7 to 15 digits, e.g. 031-123 45 67 or +46 31 123 45 67."
        )
    return text


def parse(form: dict[str, str]) -> tuple[dict[str, Any], dict[str, str]]:
    """The facts as the database keeps them, and the errors by field (none: it may be saved)."""
    values: dict[str, Any] = {}
    errors: dict[str, str] = {}
    address = " ".join(form.get("address", "").split())
    if len(address) > MAX_ADDRESS:
        errors["address"] = f"An address has at most {MAX_ADDRESS} characters (this one has {len(address)})."
    values["address"] = address or None
    try:
        values["phone"] = phone(form.get("phone", ""))
    except FactError as exc:
        errors["phone"] = str(exc)
    for kind in ("hours", "drop_in"):
        days: list[tuple[hours.Interval, ...]] = []
        for day in WEEKDAYS:
            try:
                spans = hours.parse_intervals(form.get(f"{kind}_{day}", ""))
                if len(spans) > MAX_INTERVALS:
                    raise FactError(f"At most {MAX_INTERVALS} intervals a day.")
                days.append(spans)
            except FactError as exc:
                errors[f"{kind}_{day}"] = str(exc)
                days.append(())
        week = hours.Week(tuple(days))
        values[kind] = None if week.empty else week.to_json()  # no hours at all: not known
    values["languages"] = [code for code in LANGUAGE_CHOICES if form.get(f"lang_{code}")] or None
    try:
        closed = hours.parse_closed(form.get("closed_days", ""))
        if len(closed) > MAX_CLOSED:
            raise FactError(f"At most {MAX_CLOSED} lines: write a long break as one range.")
        values["closed_days"] = hours.closed_to_json(closed) or None
    except FactError as exc:
        errors["closed_days"] = str(exc)
    in_page_order = ["address", "phone", *(f"{kind}_{day}" for day in WEEKDAYS for kind in ("hours", "drop_in"))]
    return values, {field: errors[field] for field in [*in_page_order, "closed_days"] if field in errors}


def shown(fact: str, value: Any) -> str:
    """A fact's stored value as the change list shows it."""
    if value in (None, "", [], {}):
        return "(none)"
    if fact in ("hours", "drop_in"):
        return when.hours(hours.Week.from_json(value), "en")
    if fact == "closed_days":
        return hours.closed_text(hours.closed_from_json(value)).replace("\n", "; ")
    if fact == "languages":
        return ", ".join(ENGLISH.get(code, code) for code in value)
    return str(value)


# --- reading and saving --------------------------------------------------------------------------


def editable(session: Session, user: User, slug: str) -> Hub:
    """The hub, if ``user`` may edit it: its own coordinators and every admin."""
    hub = session.scalars(select(Hub).where(Hub.slug == slug)).first()
    if hub is None:
        raise PageError(404, "There is no such hub.")
    if not user.is_admin and hub.id != user.hub_id:
        raise PageError(403, "You can change only your own hub's facts.")
    return hub


def changes(session: Session, hub: Hub) -> list[dict[str, str]]:
    rows = session.execute(
        select(HubFactChange, Coordinator.name)
        .outerjoin(Coordinator, Coordinator.id == HubFactChange.actor_id)
        .where(HubFactChange.hub_id == hub.id)
        .order_by(HubFactChange.id.desc())
        .limit(CHANGES_SHOWN)
    ).all()
    return [
        {
            "at": render.when(change.at),
            "who": name or f"account {change.actor_id}",
            "fact": FACT_NAMES.get(change.fact, change.fact),
            "before": shown(change.fact, change.before),
            "after": shown(change.fact, change.after),
        }
        for change, name in rows
    ]


def view(session: Session, user: User, slug: str, typed: dict[str, str] | None = None) -> dict:
    hub = editable(session, user, slug)
    return {
        "hub": {"slug": hub.slug, "name": hub.name},
        "form": typed if typed is not None else form_of(hub),
        "changes": changes(session, hub),
    }


def save(session: Session, user: User, slug: str, values: dict[str, Any]) -> list[str]:
    return save_hub_facts(session, editable(session, user, slug), user.id, values)


def page(user: User, context: dict, status: int = 200, **extra) -> HTMLResponse:
    return html(
        render.page(
            "hub_facts.html",
            user,
            **context,
            labels=LABELS,
            days=list(zip(WEEKDAYS, DAY_NAMES, strict=True)),
            languages=[
                (code, LANGUAGES[code].name if code in LANGUAGES else ENGLISH.get(code, code))
                for code in LANGUAGE_CHOICES
            ],
            **extra,
        ),
        status,
    )


# --- routes --------------------------------------------------------------------------------------


@router.get("")
async def hub_list(user: PageUser) -> Response:
    """A coordinator goes straight to their hub's facts; an admin chooses a hub."""
    if not user.is_admin:
        if user.hub_id is None:
            raise PageError(404, "Your account has no hub; an admin can give it one.")
        slug = await in_session(lambda session: session.get(Hub, user.hub_id).slug)
        return RedirectResponse(f"/inbox/hub-facts/{slug}", status_code=303, headers=SECURITY_HEADERS)
    hubs = await in_session(
        lambda session: [
            {"slug": h.slug, "name": h.name, "municipality": h.municipality}
            for h in session.scalars(select(Hub).order_by(Hub.municipality, Hub.name))
        ]
    )
    return html(render.page("hub_facts_hubs.html", user, hubs=hubs))


@router.get("/{slug}")
async def facts_form(slug: str, user: PageUser, done: str | None = None) -> Response:
    context = await in_session(view, user, slug)
    return page(
        user, context, errors={}, notice="Saved. The next resident handed over here gets them." if done else None
    )


@router.post("/{slug}")
async def save_facts(slug: str, request: Request, user: PageUser) -> Response:
    form = await checked_form(request, user)
    values, errors = parse(form)
    if errors:  # nothing is saved; the form shows what was typed
        typed = {name: value for name, value in form.items() if name != CSRF_FIELD}
        return page(user, await in_session(view, user, slug, typed), 422, errors=errors)
    await in_session(save, user, slug, values)
    return RedirectResponse(f"/inbox/hub-facts/{slug}?done=saved", status_code=303, headers=SECURITY_HEADERS)
