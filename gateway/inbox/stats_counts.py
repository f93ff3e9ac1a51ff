"""Counting the statistics (``gateway.inbox.stats``) in the databases, not in Python (review L3).

Each figure is a GROUP BY (SQLAlchemy Core, the same on SQLite and PostgreSQL): per key, how many
things and how many distinct residents, and for the keys of fewer than ``THRESHOLD`` residents
which ones (at most four ids a key), so that suppression can tell whether hidden keys together
still count fewer. The figures of one kind of row come in one statement (``tallies``). No row
reaches Python but answered handoffs' two times: SQLite has no median.

A week retention counted into ``weekly_counts`` (gateway/retention.py) is read from there, wholly,
and not from rows, even where rows of it are left (a resident's messages kept while a handoff is
open, a week's days after retention's cut-off): no week is counted twice. Archived cells say how
many residents each is about, but not who: one resident may be behind several cells, so a figure
adding them up counts at least as many residents as its largest cell (``together``), and is
suppressed unless that, or its rows, show ``THRESHOLD`` or more. A median over archived weeks takes
each week and hub's median once for each reply it was taken over.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from pathlib import Path
from typing import Any

from sqlalchemy import (
    CTE,
    JSON,
    Connection,
    Float,
    Integer,
    String,
    Text,
    and_,
    case,
    cast,
    column,
    create_engine,
    false,
    func,
    literal,
    null,
    or_,
    select,
    table,
    type_coerce,
    union_all,
)
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import InstrumentedAttribute, Session
from sqlalchemy.sql.elements import ColumnElement

from common.topics import QUESTIONS, topic_of
from gateway.erasure import app_url
from gateway.inbox.security import aware
from gateway.models import Handoff, Hub, Message, WeeklyCount
from gateway.retention import ARCHIVED

THRESHOLD = 5  # residents: a figure counting fewer is suppressed (gateway.inbox.stats_suppress)
NOT_QUESTIONS = ("keyword", "opted_out")  # statuses of what residents write that is no question
# Rasa's SQL tracker store: the columns of its ``events`` table read here.
EVENTS = table(
    "events",
    column("sender_id", String),
    column("type_name", String),
    column("timestamp", Float),
    column("intent_name", String),
    column("data", Text),
)
# The figures counted from rows: each one's key (its columns; none: one key, "all") and which rows.
CLOSED, ANSWERED = ("state", "closed"), ("reply", "answered")
HANDOFF_FIGURES: dict[str, tuple[tuple[str, ...], tuple[str, str] | None]] = {
    "handoffs.total": ((), None),
    "handoffs.by_hub": (("hub",), None),
    "handoffs.by_topic": (("topic",), None),
    "handoffs.by_language": (("language",), None),
    "handoffs.by_week": (("week",), None),
    "handoffs.cells": (("week", "hub", "topic", "language"), None),
    "first_reply.split": (("reply",), None),
    "outcomes.split": (("state",), None),
    "outcomes.by_outcome": (("outcome",), CLOSED),
    "outcomes.cells": (("week", "hub", "outcome"), CLOSED),
    "waits.all": ((), ANSWERED),
    "waits.by_hub": (("hub",), ANSWERED),
    "waits.by_week": (("week",), ANSWERED),
    "waits.cells": (("week", "hub"), ANSWERED),
}
QUESTION_FIGURES: dict[str, tuple[tuple[str, ...], tuple[str, str] | None]] = {
    "questions.total": ((), None),
    "questions.by_language": (("language",), None),
    "questions.by_week": (("week",), None),
    "questions.cells": (("week", "language"), None),
}
TOPIC_FIGURES: dict[str, tuple[tuple[str, ...], tuple[str, str] | None]] = {
    "questions.by_topic": (("topic",), None),
    "questions.topic_cells": (("week", "topic", "language"), None),
}
# The figures of archived weeks: our figure -> the weekly_counts cells (gateway.retention.CELLS)
# added up, and the key's columns ("outcomes.by_week" only to work out the split of open ones).
ARCHIVED_FIGURES: dict[str, tuple[str, tuple[str, ...]]] = {
    **{name: ("handoffs", keys) for name, (keys, only) in HANDOFF_FIGURES.items() if name.startswith("handoffs.")},
    "outcomes.by_outcome": ("outcomes", ("outcome",)),
    "outcomes.cells": ("outcomes", ("week", "hub", "outcome")),
    "outcomes.by_week": ("outcomes", ("week",)),
    **{name: ("first_reply", keys) for name, (keys, only) in HANDOFF_FIGURES.items() if name.startswith("waits.")},
    **{name: ("questions", keys) for name, (keys, only) in QUESTION_FIGURES.items()},
    **{name: ("question_topics", keys) for name, (keys, only) in TOPIC_FIGURES.items()},
}
KEY_PARTS = 4  # the most columns a figure's key has
SEPARATOR = "\x1f"  # between the ids of a small key's residents (ASCII's unit separator)

Tallies = dict[str, dict[Any, "Tally"]]  # figure -> key -> tally
Moment = ColumnElement | InstrumentedAttribute  # a row's time: a datetime, or epoch seconds
Waits = list[tuple[str, str, float, int]]  # (week, hub, minutes, how many replies took them)


@dataclass(frozen=True)
class Tally:
    """A count and the residents behind it: ``residents`` distinct ones (exact from rows; at least
    that many where archived cells are in it), ``ids`` those known (from rows: all of them while
    fewer than ``THRESHOLD``)."""

    count: int
    residents: int
    ids: frozenset = frozenset()


def together(tallies: Iterable[Tally]) -> int:
    """At least how many distinct residents are behind ``tallies`` together; exact for rows' tallies
    (one of ``THRESHOLD`` or more is enough to know there are as many; smaller ones bring their ids)."""
    parts = list(tallies)
    return max([len(frozenset().union(*(t.ids for t in parts)))] + [t.residents for t in parts])


def merged(parts: Iterable[Tally]) -> Tally:
    parts = list(parts)
    return Tally(sum(t.count for t in parts), together(parts), frozenset().union(*(t.ids for t in parts)))


@dataclass(frozen=True)
class Period:
    """The weeks shown: ISO week labels, oldest first; ``starts``, each one's Monday 00:00 Swedish
    time in UTC and the Monday after the last; ``archived``, those read from ``weekly_counts``."""

    weeks: list[str]
    starts: list[datetime]
    archived: frozenset[str] = frozenset()

    def bounds(self, epoch: bool) -> list:
        return [start.timestamp() for start in self.starts] if epoch else self.starts

    def week_of(self, moment: Moment, epoch: bool = False) -> ColumnElement[int]:
        """The week of a row of the period, as its index in ``weeks`` (integers group faster than
        texts), by a CASE that halves the weeks at each step: nine comparisons a row for 260 weeks.
        (SQLite knows no time zones to compute Swedish ISO weeks with.)"""
        bounds = self.bounds(epoch)

        def split(first: int, end: int) -> ColumnElement[int]:
            if end - first == 1:
                return literal(first, Integer)
            middle = (first + end) // 2
            return case((moment < bounds[middle], split(first, middle)), else_=split(middle, end))

        return split(0, len(self.weeks))

    def live(self, moment: Moment, epoch: bool = False) -> ColumnElement[bool]:
        """Rows of the weeks that are counted from rows (not archived), as time ranges."""
        bounds, ranges = self.bounds(epoch), list[list[int]]()
        for k, week in enumerate(self.weeks):
            if week in self.archived:
                continue
            if ranges and ranges[-1][1] == k:
                ranges[-1][1] = k + 1
            else:
                ranges.append([k, k + 1])
        return or_(false(), *(and_(moment >= bounds[a], moment < bounds[b]) for a, b in ranges))


def _key(columns: tuple[str, ...], values: list, weeks: list[str] | None = None) -> object:
    """A figure's key from its columns' values: one value, a tuple of them, or "all" for none; a
    week's index in ``weeks`` as its label."""
    named = zip(columns, values[: len(columns)], strict=True)
    found = [weeks[int(value)] if weeks and column == "week" else value for column, value in named]
    return "all" if not found else found[0] if len(found) == 1 else tuple(found)


def tallies(conn: Connection, rows: CTE, figures: dict, weeks: list[str]) -> Tallies:
    """The ``rows`` (a CTE with a ``resident`` column and a ``week`` index in ``weeks``) counted for
    each of ``figures``, in one statement, so that the rows are read and their week worked out once
    (a CTE read twice is computed once, in SQLite since 3.35 and PostgreSQL since 12): for each, the
    rows per key and resident, then per key how many rows and residents (no COUNT(DISTINCT), which
    PostgreSQL can only sort for), and the residents' ids, joined into one text, where fewer than
    ``THRESHOLD``; the figures' results one after the other (UNION ALL)."""
    parts = []
    for name, (keys, only) in figures.items():
        per_resident = select(*(rows.c[key] for key in keys), rows.c.resident, func.count().label("n"))
        per_resident = per_resident.where(rows.c[only[0]] == only[1]) if only else per_resident
        pairs = per_resident.group_by(*(rows.c[key] for key in keys), rows.c.resident).subquery()
        residents = func.count()
        known = case((residents < THRESHOLD, func.aggregate_strings(cast(pairs.c.resident, String), SEPARATOR)))
        columns = [cast(pairs.c[key], String) for key in keys] + [null()] * (KEY_PARTS - len(keys))
        counts = [func.sum(pairs.c.n), residents, known]
        parts.append(select(literal(name, String), *columns, *counts).group_by(*(pairs.c[key] for key in keys)))
    counted: Tallies = defaultdict(dict)
    for name, *key, count, people, ids in conn.execute(union_all(*parts)):
        if people:  # PostgreSQL sums to a Decimal
            who = frozenset(ids.split(SEPARATOR) if ids else ())
            counted[name][_key(figures[name][0], key, weeks)] = Tally(int(count), people, who)
    return counted


def count_rows(session: Session, period: Period, visible: ColumnElement[bool]) -> tuple[Tallies, Waits]:
    """Handoffs (those ``visible``) and residents' questions in the period's live weeks."""
    handoffs = (
        select(
            period.week_of(Handoff.created_at).label("week"),
            Hub.slug.label("hub"),
            func.coalesce(func.nullif(Handoff.topic, ""), "none").label("topic"),
            Handoff.language.label("language"),
            case((Handoff.status == "closed", "closed"), else_="still_open").label("state"),
            Handoff.outcome.label("outcome"),
            case((Handoff.first_reply_at.is_(None), "unanswered"), else_="answered").label("reply"),
            Handoff.created_at,
            Handoff.first_reply_at,
            Handoff.resident_id.label("resident"),
        )
        .join(Hub, Handoff.hub_id == Hub.id)
        .where(visible, period.live(Handoff.created_at))
        .cte("handoff_rows")
    )
    questions = (
        select(
            period.week_of(Message.created_at).label("week"),
            func.coalesce(func.nullif(Message.language, ""), "unknown").label("language"),
            Message.resident_id.label("resident"),
        )
        .where(
            Message.direction == "in",
            Message.sender == "resident",
            Message.status.not_in(NOT_QUESTIONS),
            Message.body.not_like("/%"),  # a web-chat button's payload
            period.live(Message.created_at),
        )
        .cte("question_rows")
    )
    conn = session.connection()  # Core statements: not through the ORM's statement handling
    counted = {
        **tallies(conn, handoffs, HANDOFF_FIGURES, period.weeks),
        **tallies(conn, questions, QUESTION_FIGURES, period.weeks),
    }
    answered = select(handoffs.c.week, handoffs.c.hub, handoffs.c.created_at, handoffs.c.first_reply_at)
    times = conn.execute(answered.where(handoffs.c.reply == "answered"))
    waits = [
        (period.weeks[week], hub, (aware(replied) - aware(created)).total_seconds() / 60, 1)
        for week, hub, created, replied in times
    ]
    return counted, waits


@lru_cache
def tracker_engine(url: str):
    # Rasa's URL names psycopg2 (its environment's driver); this environment reaches PostgreSQL
    # through psycopg 3, as erasure and retention do.
    return create_engine(app_url(url), hide_parameters=True)


def count_question_topics(url: str, period: Period) -> Tallies | None:
    """Questions the bot answered per topic (and week and language), from the intents in Rasa's
    tracker store (its SQL ``events`` table), the conversation (resident) of each; None when the
    store cannot be read (another kind of store, or Rasa never ran)."""
    if url.startswith("sqlite:///") and not Path(url.split("///", 1)[1]).exists():
        return None
    engine = tracker_engine(url)
    # ``data`` is JSON in a text column: PostgreSQL reads it as JSON once cast; SQLite's JSON
    # functions read text as it is (a CAST there would make it a number).
    as_json: Callable = cast if engine.dialect.name == "postgresql" else type_coerce
    language = as_json(EVENTS.c.data, JSON)[("metadata", "language")].as_string()
    questions = sorted(QUESTIONS)
    rows = (
        select(
            period.week_of(EVENTS.c.timestamp, epoch=True).label("week"),
            case({intent: topic_of(intent) for intent in questions}, value=EVENTS.c.intent_name).label("topic"),
            func.coalesce(func.nullif(language, ""), "unknown").label("language"),
            EVENTS.c.sender_id.label("resident"),
        )
        .where(
            EVENTS.c.type_name == "user",
            EVENTS.c.intent_name.in_(questions),
            period.live(EVENTS.c.timestamp, epoch=True),
        )
        .cte("event_rows")
    )
    try:
        with engine.connect() as conn:
            return tallies(conn, rows, TOPIC_FIGURES, period.weeks)
    except (SQLAlchemyError, ImportError):  # e.g. a psycopg2 URL for Rasa's environment, not installed here
        return None


def count_archived(session: Session, weeks: list[str], hub: str | None) -> tuple[frozenset[str], Tallies, Waits]:
    """The archived ones of ``weeks``, and their figures (``hub``, a slug or "": a coordinator's),
    added up from ``weekly_counts`` in one statement as ``tallies`` counts rows."""
    conn = session.connection()
    marked = select(WeeklyCount.week).where(WeeklyCount.figure == ARCHIVED, WeeklyCount.week.in_(weeks))
    done = frozenset(conn.scalars(marked))
    if not done:
        return done, {}, []
    scope = [WeeklyCount.week.in_(sorted(done))] + ([WeeklyCount.hub.in_(["", hub])] if hub is not None else [])
    parts = []
    for name, (figure, keys) in ARCHIVED_FIGURES.items():
        columns = [func.nullif(WeeklyCount.__table__.c[key], "") for key in keys] + [null()] * (KEY_PARTS - len(keys))
        counts = [func.sum(WeeklyCount.count), func.max(WeeklyCount.residents)]
        part = select(literal(name, String), *columns, *counts).where(WeeklyCount.figure == figure, *scope)
        parts.append(part.group_by(*(WeeklyCount.__table__.c[key] for key in keys)))
    counted: Tallies = defaultdict(dict)
    for name, *key, count, residents in conn.execute(union_all(*parts)):
        if count:
            counted[name][_key(ARCHIVED_FIGURES[name][1], key)] = Tally(int(count), residents)
    handed, answered, closed = (counted.get(f"{name}.by_week", {}) for name in ("handoffs", "waits", "outcomes"))

    def left(part: dict[object, Tally]) -> list[Tally]:  # not archived by themselves: at least one resident
        rest = [max(0, n.count - (part[week].count if week in part else 0)) for week, n in handed.items()]
        return [Tally(sum(rest), 1)] if sum(rest) else []

    splits = {
        "first_reply.split": {"answered": list(counted.get("waits.all", {}).values()), "unanswered": left(answered)},
        "outcomes.split": {"closed": list(closed.values()), "still_open": left(closed)},
    }
    for name, split in splits.items():
        counted[name] = {key: merged(found) for key, found in split.items() if found}
    counted.pop("outcomes.by_week", None)
    medians = select(WeeklyCount.week, WeeklyCount.hub, WeeklyCount.minutes, WeeklyCount.count).where(
        WeeklyCount.figure == "first_reply", WeeklyCount.minutes.is_not(None), *scope
    )
    return done, counted, [tuple(row) for row in conn.execute(medians)]
