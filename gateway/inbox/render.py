"""The inbox's HTML: Jinja2 templates in ``templates/`` (one a page, a base
layout and macros), autoescaped, so whatever a resident or a coordinator wrote
reaches the page as text, never as markup. What is left here is not markup:
the environment, and the filters that turn a handoff's data into words.

The pages carry no inline script or style (the Content-Security-Policy forbids
them): data for ``inbox.js`` travels in ``data-`` attributes."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape

from common.languages import DEFAULT_LANGUAGE, LANGUAGES
from common.phrases import phrasebook
from gateway.channels.gsm import MAX_BODY
from gateway.handoff import OUTCOMES
from gateway.inbox.accounts import ROLES
from gateway.inbox.security import CSRF_FIELD, MAX_FAILURES, MIN_PASSWORD, User, aware
from gateway.inbox.service import OUTCOME_LABELS

TZ = ZoneInfo("Europe/Stockholm")
NO_HUB = "not known yet: reassign it to a hub"
CRISIS_LABELS = {
    "suicide": "suicide or self-harm",
    "violence": "violence",
    "child": "a child in danger",
    "medical": "a medical emergency",
    "shelter": "nowhere to sleep",
}
DELIVERY = {
    "queued": "queued",
    "sent": "sent",
    "delivered": "delivered",
    "dry_run": "dry run (not sent)",
    "awaiting_connection": "waiting for the resident to open the chat again",
    "suppressed": "not sent: the resident opted out",
    "failed": "delivery failed",
    "undelivered": "not delivered",
    "to_coordinator": "to the coordinator",
}


def when(moment: datetime | None) -> str:
    moment = aware(moment)
    return moment.astimezone(TZ).strftime("%Y-%m-%d %H:%M") if moment else ""


def iso(moment: datetime | None) -> str:
    moment = aware(moment)
    return moment.isoformat() if moment else ""


def duration(seconds: int | float | None) -> str:
    if seconds is None:
        return ""
    minutes = max(0, int(seconds // 60))
    if minutes < 60:
        return f"{minutes} min"
    hours, minutes = divmod(minutes, 60)
    if hours < 24:
        return f"{hours} h {minutes} min"
    days, hours = divmod(hours, 24)
    return f"{days} d {hours} h"


def minutes_text(value: float | None) -> str:
    return "–" if value is None else duration(value * 60) if value >= 1 else f"{round(value * 60)} s"


def hub_name(h: dict) -> str:
    return h["hub"]["name"] if h["hub"] else NO_HUB


def delivery(m: dict) -> str:
    if m["direction"] == "in":
        return DELIVERY["to_coordinator"] if m["in_this_handoff"] else ""
    text = DELIVERY.get(m["status"], m["status"])
    return f"{text}: {m['error']}" if m["delivery_failed"] and m["error"] else text


def phrases(h: dict, user: User) -> dict:
    """The coordinator's phrasebook for a handoff: the resident's language (its code and direction)
    and the phrase groups in it, filled in with the coordinator's name and the hub's facts."""
    code = h["resident"]["language"]["code"] or h["language"]["code"]
    language = LANGUAGES.get(code or "") or LANGUAGES[DEFAULT_LANGUAGE]  # unknown: the Swedish
    return {
        "code": language.code,
        "name": language.name,
        "dir": language.direction,
        "groups": phrasebook(
            language.code, name=user.name, hub=h["hub"]["name"] if h["hub"] else None, **h["hub_facts"]
        ),
    }


def per_language_and_week(rows: list[dict]) -> dict[str, dict[str, int]]:
    """{language: {week: count}}, languages in alphabetical order, for the statistics table."""
    table: dict[str, dict[str, int]] = {}
    for row in sorted(rows, key=lambda row: row["language_name"]):
        table.setdefault(row["language_name"], {})[row["week"]] = row["count"]
    return table


# StrictUndefined: a name a template misspells fails the tests instead of leaving a blank. A value that is
# None (a suppressed or missing figure, an unset field) shows as nothing, not as "None".
ENV = Environment(
    loader=PackageLoader("gateway.inbox"),
    autoescape=select_autoescape(),
    undefined=StrictUndefined,
    finalize=lambda value: "" if value is None else value,
    trim_blocks=True,
    lstrip_blocks=True,
)
ENV.filters.update(
    when=when,
    iso=iso,
    duration=duration,
    minutes=minutes_text,
    hub_name=hub_name,
    delivery=delivery,
    per_language_and_week=per_language_and_week,
    crisis=lambda kind: CRISIS_LABELS.get(kind, kind),
    outcome=lambda outcome: OUTCOME_LABELS.get(outcome, outcome or ""),
)
ENV.globals.update(
    CSRF_FIELD=CSRF_FIELD,
    MAX_BODY=MAX_BODY,
    MAX_FAILURES=MAX_FAILURES,
    MIN_PASSWORD=MIN_PASSWORD,
    ROLES=ROLES,
    OUTCOMES=OUTCOMES,
    OUTCOME_LABELS=OUTCOME_LABELS,
    phrases=phrases,
)


def page(template: str, user: User | None, *, notice: str | None = None, error: str | None = None, **context) -> str:
    """``templates/<template>`` for ``user`` (None on the sign-in page), with a notice or an error above it."""
    return ENV.get_template(template).render(user=user, notice=notice, error=error, **context)
