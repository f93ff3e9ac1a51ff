"""The statistics as gateway/inbox/stats.py computed them before they were counted in SQL (commit
b85c2f6): every row loaded into Python, residents kept as lists of ids. Kept as the reference that
tests/gateway/inbox/test_stats_sql.py compares the SQL counting with, on generated data; only the
imports and this docstring differ from that version (and ``iso_week``, ``period_start`` and the
constants come from the module today)."""

from __future__ import annotations

import copy
import json
import statistics
from collections import defaultdict
from datetime import datetime, timedelta
from functools import lru_cache
from pathlib import Path

from sqlalchemy import bindparam, create_engine, select, text
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from common.languages import language_name
from common.topics import QUESTIONS, topic_of
from gateway.erasure import app_url
from gateway.handoff import OUTCOMES, visible_to
from gateway.inbox.security import User, aware
from gateway.inbox.service import OUTCOME_LABELS
from gateway.inbox.stats import DEFAULT_WEEKS, MAX_WEEKS, QUESTIONS_NOTE, TZ, iso_week, period_start
from gateway.inbox.stats_counts import NOT_QUESTIONS, THRESHOLD
from gateway.inbox.stats_suppress import SUPPRESSION_NOTE
from gateway.models import Handoff, Hub, Message, utcnow
from gateway.settings import get_settings


@lru_cache
def _tracker_store(url: str):
    # Rasa's URL names psycopg2 (its environment's driver); this environment reaches PostgreSQL
    # through psycopg 3, as erasure and retention do.
    return create_engine(app_url(url), hide_parameters=True)


def question_topics(since: datetime, url: str | None = None) -> dict[tuple, list[str]] | None:
    """Questions the bot answered per (week, topic, language), from the intents in Rasa's
    tracker store (its SQL ``events`` table), as the conversation (resident) of each; None
    when the store cannot be read (another kind of store, or Rasa never ran)."""
    url = url or get_settings().tracker_store_sqlalchemy_url
    if url.startswith("sqlite:///") and not Path(url.split("///", 1)[1]).exists():
        return None
    try:
        with _tracker_store(url).connect() as conn:
            rows = conn.execute(
                text(
                    "SELECT sender_id, timestamp, intent_name, data FROM events WHERE type_name = 'user' "
                    "AND timestamp >= :since AND intent_name IN :questions"
                ).bindparams(bindparam("questions", expanding=True)),
                {"since": since.timestamp(), "questions": sorted(QUESTIONS)},
            ).all()
    except (SQLAlchemyError, ImportError):  # e.g. a psycopg2 URL for Rasa's environment, not installed here
        return None
    cells: dict[tuple, list[str]] = defaultdict(list)
    for sender, timestamp, intent, data in rows:
        try:
            language = (json.loads(data).get("metadata") or {}).get("language") or "unknown"
        except (TypeError, ValueError, AttributeError):
            language = "unknown"
        cells[(iso_week(datetime.fromtimestamp(timestamp, TZ)), topic_of(intent), language)].append(sender)
    return dict(cells)


def _bars(cells: dict[object, list], labels: dict | None = None, order: list | None = None) -> list[dict]:
    keys = order if order is not None else sorted(cells, key=lambda k: (-len(cells[k]), str(k)))
    return [
        {"key": k, "label": (labels or {}).get(k, k if k is not None else "none"), "count": len(cells.get(k, ()))}
        for k in keys
    ]


def _minutes(values: list[float]) -> float | None:
    return round(statistics.median(values), 1) if values else None


def _median_bars(waits: dict[str, list[tuple[float, object]]], keys: list[str], labels: dict | None = None) -> list:
    return [
        {
            "key": k,
            "label": (labels or {}).get(k, k),
            "median_minutes": _minutes([m for m, _ in waits.get(k, [])]),
            "count": len(waits.get(k, [])),
        }
        for k in keys
    ]


def compute(session: Session, user: User, weeks: int = DEFAULT_WEEKS, now: datetime | None = None) -> dict:
    """The figures, exact (``gather`` gives them as they may be shown). ``_who`` holds, for each
    figure, the residents behind each count (one id per thing counted)."""
    weeks = max(1, min(int(weeks), MAX_WEEKS))
    now = now or utcnow()
    since = period_start(now, weeks)
    first_monday = since.astimezone(TZ).date()
    week_labels = [
        iso_week(datetime(d.year, d.month, d.day, 12, tzinfo=TZ))
        for d in (first_monday + timedelta(weeks=k) for k in range(weeks))
    ]
    handoffs = session.execute(
        select(
            Handoff.created_at,
            Handoff.first_reply_at,
            Handoff.status,
            Handoff.outcome,
            Handoff.topic,
            Handoff.language,
            Hub.slug,
            Hub.name,
            Handoff.resident_id,
        )
        .join(Hub, Handoff.hub_id == Hub.id)
        .where(visible_to(user), Handoff.created_at >= since)
    ).all()
    questions = session.execute(
        select(Message.created_at, Message.language, Message.resident_id).where(
            Message.direction == "in",
            Message.sender == "resident",
            Message.status.not_in(NOT_QUESTIONS),
            Message.created_at >= since,
            Message.body.not_like("/%"),
        )
    ).all()

    hub_names = {row.slug: row.name for row in handoffs}
    who: dict[str, dict] = defaultdict(lambda: defaultdict(list))
    waits: dict[str, dict] = defaultdict(lambda: defaultdict(list))  # (minutes, resident) per hub, week...
    for created, first_reply, status, outcome, topic, language, slug, _name, resident in handoffs:
        week, topic = iso_week(created), topic or "none"
        for figure, key in (
            ("total", "all"),
            ("by_hub", slug),
            ("by_topic", topic),
            ("by_language", language),
            ("by_week", week),
            ("cells", (week, slug, topic, language)),
        ):
            who[f"handoffs.{figure}"][key].append(resident)
        if first_reply is not None:
            minutes = (aware(first_reply) - aware(created)).total_seconds() / 60
            for figure, key in (("all", "all"), ("by_hub", slug), ("by_week", week), ("cells", (week, slug))):
                waits[figure][key].append((minutes, resident))
        who["first_reply.split"]["answered" if first_reply is not None else "unanswered"].append(resident)
        who["outcomes.split"]["closed" if status == "closed" else "still_open"].append(resident)
        if status == "closed":
            who["outcomes.by_outcome"][outcome].append(resident)
            who["outcomes.cells"][(week, slug, outcome)].append(resident)
    for key, senders in (question_topics(since) or {}).items():
        who["questions.by_topic"][key[1]] += senders
        who["questions.topic_cells"][key] = senders
    for created, language, resident in questions:
        week, language = iso_week(created), language or "unknown"
        for figure, key in (
            ("total", "all"),
            ("by_language", language),
            ("by_week", week),
            ("cells", (week, language)),
        ):
            who[f"questions.{figure}"][key].append(resident)

    def count(figure: str, key: str) -> int:
        return len(who[figure].get(key, ()))

    language_labels = {
        code: language_name(code) for code in set(who["handoffs.by_language"]) | set(who["questions.by_language"])
    }
    return {
        "period": {
            "weeks": week_labels,
            "from": since.astimezone(TZ).date().isoformat(),
            "to": now.astimezone(TZ).date().isoformat(),
        },
        "scope": {"handoffs": "all hubs" if user.is_admin else (user.hub_name or "your hub"), "questions": "all hubs"},
        "handoffs": {
            "total": count("handoffs.total", "all"),
            "by_hub": _bars(who["handoffs.by_hub"], hub_names),
            "by_topic": _bars(who["handoffs.by_topic"]),
            "by_language": _bars(who["handoffs.by_language"], language_labels),
            "by_week": _bars(who["handoffs.by_week"], order=week_labels),
        },
        "questions": {
            "total": count("questions.total", "all"),
            "by_language": _bars(who["questions.by_language"], language_labels),
            "by_week": _bars(who["questions.by_week"], order=week_labels),
            "by_topic": _bars(who["questions.by_topic"]),
            "by_language_and_week": [
                {"week": week, "language": language, "language_name": language_labels[language], "count": len(ids)}
                for (week, language), ids in sorted(who["questions.cells"].items())
            ],
            "note": QUESTIONS_NOTE,
        },
        "first_reply": {
            "median_minutes": _minutes([m for m, _ in waits["all"].get("all", [])]),
            "answered": count("first_reply.split", "answered"),
            "unanswered": count("first_reply.split", "unanswered"),
            "by_hub": _median_bars(waits["by_hub"], sorted(waits["by_hub"]), hub_names),
            "by_week": _median_bars(waits["by_week"], week_labels),
        },
        "outcomes": {
            "closed": count("outcomes.split", "closed"),
            "still_open": count("outcomes.split", "still_open"),
            "by_outcome": _bars(who["outcomes.by_outcome"], OUTCOME_LABELS, order=list(OUTCOMES)),
        },
        "suppression": {"threshold": THRESHOLD, "note": SUPPRESSION_NOTE},
        "_cells": {
            "handoffs": {k: len(v) for k, v in who["handoffs.cells"].items()},
            "outcomes": {k: len(v) for k, v in who["outcomes.cells"].items()},
            "questions": {k: len(v) for k, v in who["questions.cells"].items()},
            "question_topics": {k: len(v) for k, v in who["questions.topic_cells"].items()},
            "waits": {k: _minutes([m for m, _ in v]) for k, v in waits["cells"].items()},
            "hub_names": hub_names,
            "languages": language_labels,
        },
        "_who": {
            **who,
            **{f"waits.{figure}": {k: [r for _, r in v] for k, v in cells.items()} for figure, cells in waits.items()},
        },
    }


# --- suppressing small cells -------------------------------------------------------------------


def _few(ids) -> bool:
    return 0 < len(set(ids)) < THRESHOLD


def _protect(cells: dict[object, list], groups: list[list]) -> set:
    """The keys of ``cells`` (residents behind each count) to hide: those of fewer than ``THRESHOLD``
    residents; then, in each group of cells that add up to a figure shown elsewhere, the smallest
    others until the hidden ones are at least two and together ``THRESHOLD`` residents or more.
    (Hand-written: statistical offices' tools for this, such as tau-argus, are not Python libraries.)"""
    hidden = {key for key, ids in cells.items() if _few(ids)}
    changed = True
    while changed:
        changed = False
        for group in groups:
            gone = [key for key in group if key in hidden]
            if not gone or (len(gone) >= 2 and not _few([i for key in gone for i in cells[key]])):
                continue
            shown = sorted(
                (key for key in group if key not in hidden and cells.get(key)),
                key=lambda key: (len(set(cells[key])), len(cells[key]), str(key)),
            )
            if shown:
                hidden.add(shown[0])
                changed = True
    return hidden


def _by_dimension(keys) -> list[list]:
    """Groups of tuple keys sharing one part (a week, a hub...): each adds up to a figure of a chart."""
    groups: dict[tuple, list] = defaultdict(list)
    for key in keys:
        for i, part in enumerate(key):
            groups[(i, part)].append(key)
    return list(groups.values())


def suppress(figures: dict) -> dict:
    """The figures as they may be shown: a suppressed count or median is None (``suppressed``: True
    on a bar or row), and None in ``_cells`` (the CSV's)."""

    def who(name: str) -> dict:
        return figures["_who"].get(name, {})

    shown = copy.deepcopy({key: value for key, value in figures.items() if key != "_who"})
    for section in ("handoffs", "questions"):
        if _few(who(f"{section}.total").get("all", [])):
            shown[section]["total"] = None
    for section in ("first_reply", "outcomes"):  # answered + unanswered, closed + still open: the total
        for key in _protect(who(f"{section}.split"), [list(who(f"{section}.split"))]):
            shown[section][key] = None
    for name in (
        "handoffs.by_hub",
        "handoffs.by_topic",
        "handoffs.by_language",
        "handoffs.by_week",
        "questions.by_language",
        "questions.by_week",
        "questions.by_topic",
        "outcomes.by_outcome",
    ):
        section, chart = name.split(".")
        hidden = _protect(who(name), [list(who(name))])
        for bar in shown[section][chart]:
            bar["suppressed"] = bar["key"] in hidden
            bar["count"] = None if bar["suppressed"] else bar["count"]
    for name, chart in (("waits.by_hub", "by_hub"), ("waits.by_week", "by_week")):
        for bar in shown["first_reply"][chart]:
            bar["suppressed"] = _few(who(name).get(bar["key"], []))
            if bar["suppressed"]:
                bar["median_minutes"] = bar["count"] = None
    if _few(who("waits.all").get("all", [])):
        shown["first_reply"]["median_minutes"] = None
    cells = shown["_cells"]
    for name, figure in (
        ("handoffs", "handoffs.cells"),
        ("outcomes", "outcomes.cells"),
        ("questions", "questions.cells"),
        ("question_topics", "questions.topic_cells"),
    ):
        for key in _protect(who(figure), _by_dimension(who(figure))):
            cells[name][key] = None
    for row in shown["questions"]["by_language_and_week"]:
        row["suppressed"] = cells["questions"][(row["week"], row["language"])] is None
        row["count"] = None if row["suppressed"] else row["count"]
    for key, ids in who("waits.cells").items():
        if _few(ids):
            cells["waits"][key] = None
    return shown
