"""Numbers for coordinators' reporting: counts and codes only, never a phone
number, a name or a resident's words.

- handoffs per hub, topic, language and ISO week (the week the handoff was created);
- residents' questions (inbound messages a resident wrote, not SMS keywords such as
  STOP or HELP and not web-chat button presses) per language and week; and the
  questions the bot answered per topic, language and week, read from Rasa's tracker
  store (the intent Rasa gave each message; the gateway never learns it per message);
- the median time from a handoff's creation to the coordinator's first reply;
- outcomes of closed handoffs.

Weeks are ISO weeks in Swedish time. A coordinator's handoff figures cover their
own hub; questions are counted over all residents (a question has no hub).

The databases count (gateway.inbox.stats_counts): rows of the weeks still there, and
the weekly counts retention kept of the weeks it deleted from, each week once. Small
cells are suppressed (gateway.inbox.stats_suppress) after the two are added up.
"""

from __future__ import annotations

import asyncio
import csv
import io
import statistics
from collections import defaultdict
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta, timezone
from functools import lru_cache
from time import monotonic
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from common.languages import language_name
from gateway import db
from gateway.handoff import OUTCOMES, visible_to
from gateway.inbox.security import User, aware
from gateway.inbox.service import OUTCOME_LABELS
from gateway.inbox.stats_counts import (
    THRESHOLD,
    Period,
    Tally,
    count_archived,
    count_question_topics,
    count_rows,
    merged,
)
from gateway.inbox.stats_suppress import SUPPRESSED, SUPPRESSION_NOTE
from gateway.inbox.stats_suppress import suppress as suppress
from gateway.models import Hub, utcnow
from gateway.settings import get_settings

TZ = ZoneInfo("Europe/Stockholm")
DEFAULT_WEEKS = 12
MAX_WEEKS = 260
CSV_COLUMNS = ("metric", "week", "hub", "topic", "language", "outcome", "value")
CACHE_SECONDS = 60  # figures computed for a hub and a period are shown again for this long
ARCHIVE_NOTE = (
    "Weeks older than the retention periods are counted from the weekly figures kept when their "
    "messages and handoffs were deleted. Over those weeks a median is worked out from each week and "
    "hub's median, and a small figure may be hidden that the messages would have shown: a resident "
    "who wrote in several weeks cannot be told from several residents."
)
QUESTIONS_NOTE = (
    "Questions are the messages residents wrote (SMS keywords such as STOP and web-chat button "
    "presses not counted), over all hubs. Topics come from the bot's understanding of each "
    "message it answered (Rasa's tracker store): greetings, thanks and the like are not "
    "counted there, nor messages written to a coordinator."
)


def iso_week(moment: datetime) -> str:
    year, week, _ = aware(moment).astimezone(TZ).isocalendar()
    return f"{year}-W{week:02d}"


def period_start(now: datetime, weeks: int) -> datetime:
    """Monday 00:00 Swedish time, ``weeks - 1`` weeks before this week's Monday, in UTC."""
    local = now.astimezone(TZ)
    monday = (local - timedelta(days=local.weekday())).date() - timedelta(weeks=weeks - 1)
    return datetime(monday.year, monday.month, monday.day, tzinfo=TZ).astimezone(aware(now).tzinfo)


def _bars(cells: dict[object, Tally], labels: dict | None = None, order: list | None = None) -> list[dict]:
    keys = order if order is not None else sorted(cells, key=lambda k: (-cells[k].count, str(k)))
    return [
        {
            "key": k,
            "label": (labels or {}).get(k, k if k is not None else "none"),
            "count": cells[k].count if k in cells else 0,
        }
        for k in keys
    ]


def _minutes(values: list[float]) -> float | None:
    return round(statistics.median(values), 1) if values else None


def _median_bars(waits: dict, tallies: dict[object, Tally], keys: list, labels: dict | None = None) -> list:
    return [
        {
            "key": k,
            "label": (labels or {}).get(k, k),
            "median_minutes": _minutes(waits.get(k, [])),
            "count": tallies[k].count if k in tallies else 0,
        }
        for k in keys
    ]


def compute(session: Session, user: User, weeks: int = DEFAULT_WEEKS, now: datetime | None = None) -> dict:
    """The figures, exact (``gather`` gives them as they may be shown). ``_tallies`` holds, for each
    figure, the count and the residents behind each key (``Tally``)."""
    weeks = max(1, min(int(weeks), MAX_WEEKS))
    now = now or utcnow()
    since = period_start(now, weeks)
    mondays = [since.astimezone(TZ).date() + timedelta(weeks=k) for k in range(weeks + 1)]
    week_labels = [iso_week(datetime(d.year, d.month, d.day, 12, tzinfo=TZ)) for d in mondays[:-1]]
    starts = [datetime(d.year, d.month, d.day, tzinfo=TZ).astimezone(timezone.utc) for d in mondays]
    hub = None if user.is_admin else session.scalar(select(Hub.slug).where(Hub.id == user.hub_id)) or ""
    done, tallies, waited = count_archived(session, week_labels, hub)
    period = Period(week_labels, starts, done)
    live, live_waits = count_rows(session, period, visible_to(user))
    topics = count_question_topics(get_settings().tracker_store_sqlalchemy_url, period) or {}
    for name, cells in {**live, **topics}.items():  # the weeks of rows and the archived ones: not the same
        kept = tallies.setdefault(name, {})
        for key, tally in cells.items():
            kept[key] = merged([tally, kept[key]]) if key in kept else tally
    tallies = {name: dict(sorted(cells.items(), key=lambda item: str(item[0]))) for name, cells in tallies.items()}
    waits: dict[str, dict[object, list[float]]] = defaultdict(lambda: defaultdict(list))
    for week, slug, minutes, times in waited + live_waits:
        for part, key in (("all", "all"), ("by_hub", slug), ("by_week", week), ("cells", (week, slug))):
            waits[part][key] += [minutes] * times

    def figure(name: str) -> dict[Any, Tally]:
        return tallies.get(name, {})

    def count(name: str, key: str) -> int:
        return figure(name)[key].count if key in figure(name) else 0

    slugs = sorted(figure("handoffs.by_hub"))
    names = dict(session.execute(select(Hub.slug, Hub.name).where(Hub.slug.in_(slugs))).tuples().all())
    hub_names = {slug: names.get(slug, slug) for slug in slugs}
    language_labels = {
        code: language_name(code) for code in set(figure("handoffs.by_language")) | set(figure("questions.by_language"))
    }
    return {
        "period": {
            "weeks": week_labels,
            "from": since.astimezone(TZ).date().isoformat(),
            "to": now.astimezone(TZ).date().isoformat(),
            "archived_weeks": sorted(done),
            "archive_note": ARCHIVE_NOTE,
        },
        "scope": {"handoffs": "all hubs" if user.is_admin else (user.hub_name or "your hub"), "questions": "all hubs"},
        "handoffs": {
            "total": count("handoffs.total", "all"),
            "by_hub": _bars(figure("handoffs.by_hub"), hub_names),
            "by_topic": _bars(figure("handoffs.by_topic")),
            "by_language": _bars(figure("handoffs.by_language"), language_labels),
            "by_week": _bars(figure("handoffs.by_week"), order=week_labels),
        },
        "questions": {
            "total": count("questions.total", "all"),
            "by_language": _bars(figure("questions.by_language"), language_labels),
            "by_week": _bars(figure("questions.by_week"), order=week_labels),
            "by_topic": _bars(figure("questions.by_topic")),
            "by_language_and_week": [
                {"week": week, "language": language, "language_name": language_labels[language], "count": n.count}
                for (week, language), n in sorted(figure("questions.cells").items())
            ],
            "note": QUESTIONS_NOTE,
        },
        "first_reply": {
            "median_minutes": _minutes(waits["all"].get("all", [])),
            "answered": count("first_reply.split", "answered"),
            "unanswered": count("first_reply.split", "unanswered"),
            "by_hub": _median_bars(waits["by_hub"], figure("waits.by_hub"), sorted(waits["by_hub"]), hub_names),
            "by_week": _median_bars(waits["by_week"], figure("waits.by_week"), week_labels),
        },
        "outcomes": {
            "closed": count("outcomes.split", "closed"),
            "still_open": count("outcomes.split", "still_open"),
            "by_outcome": _bars(figure("outcomes.by_outcome"), OUTCOME_LABELS, order=list(OUTCOMES)),
        },
        "suppression": {"threshold": THRESHOLD, "note": SUPPRESSION_NOTE},
        "_cells": {
            "handoffs": {k: n.count for k, n in figure("handoffs.cells").items()},
            "outcomes": {k: n.count for k, n in figure("outcomes.cells").items()},
            "questions": {k: n.count for k, n in figure("questions.cells").items()},
            "question_topics": {k: n.count for k, n in figure("questions.topic_cells").items()},
            "waits": {k: _minutes(v) for k, v in waits["cells"].items()},
            "hub_names": hub_names,
            "languages": language_labels,
        },
        "_tallies": tallies,
    }


# Hand-written: cachetools' TTLCache is not among the pinned packages, and this is a dict and a clock.
_cache: dict[tuple, tuple[float, dict]] = {}
# Statistics have a thread of their own: on the database thread (gateway.db.run), where residents'
# turns are stored, a 260-week run over 300,000 tracker events held every turn up (review L3). One
# thread, so that many requests at once do not compute in parallel; the cache answers the rest.
# Counting in SQL made a run shorter, not instant (bench/stats_load.py): both are still needed.
_worker = ThreadPoolExecutor(1, thread_name_prefix="stats")


@lru_cache
def _reader(url: str) -> Engine:
    """The statistics' own connection to the gateway's database: on SQLite the gateway has one
    connection (gateway.db), which a run would hold from its first query to its last while
    residents' turns wait for it; a second one only reads, which SQLite's WAL lets a writer go on
    beside."""
    return db.make_engine(url)


def _gathered(key: tuple, user: User, weeks: int) -> dict:
    kept = _cache.get(key)
    if kept is not None and monotonic() - kept[0] < CACHE_SECONDS:
        return kept[1]  # computed meanwhile for a request that waited in line
    reader = _reader(key[0])
    try:
        with Session(reader) as session:
            figures = suppress(compute(session, user, weeks))
    finally:
        reader.dispose()  # closed until the next run: at most one a minute per scope and period
    _cache[key] = (monotonic(), figures)
    for old in [k for k, (at, _) in _cache.items() if monotonic() - at >= CACHE_SECONDS]:
        del _cache[old]
    return figures


async def gather(user: User, weeks: int = DEFAULT_WEEKS) -> dict:
    """``compute`` suppressed for showing, on the statistics thread with its own connection (not
    the event loop, not the database thread), kept ``CACHE_SECONDS`` per database, scope and period
    (the same dict for each request meanwhile: callers only read it)."""
    weeks = max(1, min(int(weeks), MAX_WEEKS))
    key = (get_settings().sqlalchemy_url, None if user.is_admin else user.hub_id, weeks)
    kept = _cache.get(key)
    if kept is None or monotonic() - kept[0] >= CACHE_SECONDS:
        figures = await asyncio.get_running_loop().run_in_executor(_worker, _gathered, key, user, weeks)
    else:
        figures = kept[1]
    return figures  # shared with other requests for a minute: read it, do not change it


def public(stats: dict) -> dict:
    """The statistics without the internal cells the CSV is built from."""
    return {key: value for key, value in stats.items() if not key.startswith("_")}


FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def _cell(value) -> str:
    """A CSV cell that a spreadsheet will not run as a formula (OWASP's CSV injection list)."""
    text = "" if value is None else str(value)
    return "'" + text if text[:1] in FORMULA_STARTS else text


def _value(value) -> object:
    return SUPPRESSED if value is None else value


def to_csv(stats: dict) -> str:
    """One row per figure (long format, for a pivot table): metric, week, hub,
    topic, language, outcome, value. Empty cells mean "all"; "suppressed", too few residents."""
    cells = stats["_cells"]
    hubs, languages = cells["hub_names"], cells["languages"]
    rows = []
    for (week, slug, topic, language), n in sorted(cells["handoffs"].items()):
        rows.append(("handoffs", week, hubs[slug], topic, languages[language], "", _value(n)))
    for (week, slug, outcome), n in sorted(cells["outcomes"].items(), key=lambda item: tuple(map(str, item[0]))):
        rows.append(("outcome", week, hubs[slug], "", "", outcome, _value(n)))
    for (week, language), n in sorted(cells["questions"].items()):
        rows.append(("questions", week, "", "", languages[language], "", _value(n)))
    for (week, topic, language), n in sorted(cells["question_topics"].items()):
        rows.append(("questions_by_topic", week, "", topic, languages.get(language, language), "", _value(n)))
    for (week, slug), median in sorted(cells["waits"].items()):
        rows.append(("median_minutes_to_first_reply", week, hubs[slug], "", "", "", _value(median)))
    if cells["waits"]:
        overall = stats["first_reply"]["median_minutes"]
        rows.append(("median_minutes_to_first_reply", "", "", "", "", "", _value(overall)))
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(CSV_COLUMNS)
    writer.writerows([_cell(v) for v in row] for row in rows)
    return out.getvalue()
