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
"""
from __future__ import annotations

import csv
import io
import json
import statistics
from collections import Counter, defaultdict
from datetime import datetime, timedelta
from functools import lru_cache
from pathlib import Path
from zoneinfo import ZoneInfo

from sqlalchemy import create_engine, select, text
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from common.languages import language_name
from common.topics import QUESTIONS, topic_of
from gateway import db
from gateway.handoff import OUTCOMES, visible_to
from gateway.inbox.security import User, aware
from gateway.inbox.service import OUTCOME_LABELS
from gateway.models import Handoff, Hub, Message, utcnow
from gateway.settings import get_settings

TZ = ZoneInfo("Europe/Stockholm")
DEFAULT_WEEKS = 12
MAX_WEEKS = 260
NOT_QUESTIONS = ("keyword", "opted_out")
CSV_COLUMNS = ("metric", "week", "hub", "topic", "language", "outcome", "value")
QUESTIONS_NOTE = ("Questions are the messages residents wrote (SMS keywords such as STOP and web-chat button "
                  "presses not counted), over all hubs. Topics come from the bot's understanding of each "
                  "message it answered (Rasa's tracker store): greetings, thanks and the like are not "
                  "counted there, nor messages written to a coordinator.")


def iso_week(moment: datetime) -> str:
    year, week, _ = aware(moment).astimezone(TZ).isocalendar()
    return f"{year}-W{week:02d}"


def period_start(now: datetime, weeks: int) -> datetime:
    """Monday 00:00 Swedish time, ``weeks - 1`` weeks before this week's Monday, in UTC."""
    local = now.astimezone(TZ)
    monday = (local - timedelta(days=local.weekday())).date() - timedelta(weeks=weeks - 1)
    return datetime(monday.year, monday.month, monday.day, tzinfo=TZ).astimezone(aware(now).tzinfo)


def _bars(counter: Counter, labels: dict | None = None, order: list | None = None) -> list[dict]:
    keys = order if order is not None else sorted(counter, key=lambda k: (-counter[k], str(k)))
    return [{"key": k, "label": (labels or {}).get(k, k if k is not None else "none"), "count": counter.get(k, 0)}
            for k in keys]


@lru_cache
def _tracker_store(url: str):
    return create_engine(url)


def question_topics(since: datetime, url: str | None = None) -> Counter | None:
    """Questions the bot answered per (week, topic, language), from the intents
    in Rasa's tracker store (its SQL ``events`` table); None when the store
    cannot be read (another kind of store, or Rasa never ran)."""
    url = url or get_settings().tracker_store_sqlalchemy_url
    if url.startswith("sqlite:///") and not Path(url.split("///", 1)[1]).exists():
        return None
    try:
        with _tracker_store(url).connect() as conn:
            rows = conn.execute(text(
                "SELECT timestamp, intent_name, data FROM events WHERE type_name = 'user' AND timestamp >= :since"),
                {"since": since.timestamp()}).all()
    except (SQLAlchemyError, ImportError):  # e.g. a psycopg2 URL for Rasa's environment, not installed here
        return None
    cells: Counter = Counter()
    for timestamp, intent, data in rows:
        if intent not in QUESTIONS:
            continue
        try:
            language = (json.loads(data).get("metadata") or {}).get("language") or "unknown"
        except (TypeError, ValueError, AttributeError):
            language = "unknown"
        cells[(iso_week(datetime.fromtimestamp(timestamp, TZ)), topic_of(intent), language)] += 1
    return cells


def _minutes(values: list[float]) -> float | None:
    return round(statistics.median(values), 1) if values else None


def compute(session: Session, user: User, weeks: int = DEFAULT_WEEKS, now: datetime | None = None) -> dict:
    weeks = max(1, min(int(weeks), MAX_WEEKS))
    now = now or utcnow()
    since = period_start(now, weeks)
    first_monday = since.astimezone(TZ).date()
    week_labels = [iso_week(datetime(d.year, d.month, d.day, 12, tzinfo=TZ))
                   for d in (first_monday + timedelta(weeks=k) for k in range(weeks))]
    handoffs = session.execute(
        select(Handoff.created_at, Handoff.first_reply_at, Handoff.status, Handoff.outcome, Handoff.topic,
               Handoff.language, Hub.slug, Hub.name)
        .join(Hub, Handoff.hub_id == Hub.id)
        .where(visible_to(user), Handoff.created_at >= since)).all()
    questions = session.execute(
        select(Message.created_at, Message.language)
        .where(Message.direction == "in", Message.sender == "resident", Message.status.not_in(NOT_QUESTIONS),
               Message.created_at >= since, Message.body.not_like("/%"))).all()

    hub_names = {slug: name for *_, slug, name in handoffs}
    by_hub, by_topic, by_language, by_week = Counter(), Counter(), Counter(), Counter()
    outcomes, waits_by_hub, waits_by_week = Counter(), defaultdict(list), defaultdict(list)
    cells, outcome_cells = Counter(), Counter()
    waits, unanswered, still_open = [], 0, 0
    for created, first_reply, status, outcome, topic, language, slug, _name in handoffs:
        week = iso_week(created)
        by_hub[slug] += 1
        by_topic[topic or "none"] += 1
        by_language[language] += 1
        by_week[week] += 1
        cells[(week, slug, topic or "none", language)] += 1
        if first_reply is not None:
            minutes = (aware(first_reply) - aware(created)).total_seconds() / 60
            waits.append(minutes)
            waits_by_hub[slug].append(minutes)
            waits_by_week[week].append(minutes)
        else:
            unanswered += 1
        if status == "closed":
            outcomes[outcome] += 1
            outcome_cells[(week, slug, outcome)] += 1
        else:
            still_open += 1
    topic_cells = question_topics(since) or Counter()
    q_topic = Counter()
    for (_week, topic, _language), n in topic_cells.items():
        q_topic[topic] += n
    q_language, q_week, q_cells = Counter(), Counter(), Counter()
    for created, language in questions:
        week, language = iso_week(created), language or "unknown"
        q_language[language] += 1
        q_week[week] += 1
        q_cells[(week, language)] += 1

    language_labels = {code: language_name(code) for code in set(by_language) | set(q_language)}
    return {
        "period": {"weeks": week_labels, "from": since.astimezone(TZ).date().isoformat(),
                   "to": now.astimezone(TZ).date().isoformat()},
        "scope": {"handoffs": "all hubs" if user.is_admin else (user.hub_name or "your hub"),
                  "questions": "all hubs"},
        "handoffs": {
            "total": len(handoffs),
            "by_hub": _bars(by_hub, hub_names),
            "by_topic": _bars(by_topic),
            "by_language": _bars(by_language, language_labels),
            "by_week": _bars(by_week, order=week_labels),
        },
        "questions": {
            "total": len(questions),
            "by_language": _bars(q_language, language_labels),
            "by_week": _bars(q_week, order=week_labels),
            "by_topic": _bars(q_topic),
            "by_language_and_week": [
                {"week": week, "language": language, "language_name": language_labels[language], "count": n}
                for (week, language), n in sorted(q_cells.items())],
            "note": QUESTIONS_NOTE,
        },
        "first_reply": {
            "median_minutes": _minutes(waits),
            "answered": len(waits),
            "unanswered": unanswered,
            "by_hub": [{"key": slug, "label": hub_names[slug], "median_minutes": _minutes(values),
                        "count": len(values)} for slug, values in sorted(waits_by_hub.items())],
            "by_week": [{"key": week, "label": week, "median_minutes": _minutes(waits_by_week.get(week, [])),
                         "count": len(waits_by_week.get(week, []))} for week in week_labels],
        },
        "outcomes": {
            "closed": sum(outcomes.values()),
            "still_open": still_open,
            "by_outcome": _bars(outcomes, OUTCOME_LABELS, order=list(OUTCOMES)),
        },
        "_cells": {"handoffs": cells, "outcomes": outcome_cells, "questions": q_cells, "question_topics": topic_cells,
                   "hub_names": hub_names,
                   "languages": language_labels, "waits_by_week_hub": _waits_by_week_hub(handoffs)},
    }


async def gather(user: User, weeks: int = DEFAULT_WEEKS) -> dict:
    """``compute`` in its own session on the database thread: the tracker-store
    read grows with traffic and must not hold the event loop (SMS acks wait there)."""
    return await db.in_session(compute, user, weeks)


def _waits_by_week_hub(handoffs) -> dict[tuple[str, str], list[float]]:
    result: defaultdict[tuple[str, str], list[float]] = defaultdict(list)
    for created, first_reply, *_rest, slug, _name in handoffs:
        if first_reply is not None:
            result[(iso_week(created), slug)].append((aware(first_reply) - aware(created)).total_seconds() / 60)
    return result


def public(stats: dict) -> dict:
    """The statistics without the internal cells the CSV is built from."""
    return {key: value for key, value in stats.items() if not key.startswith("_")}


def _cell(value) -> str:
    """A CSV cell that a spreadsheet will not run as a formula."""
    text = "" if value is None else str(value)
    return "'" + text if text[:1] in ("=", "+", "-", "@") else text


def to_csv(stats: dict) -> str:
    """One row per figure (long format, for a pivot table): metric, week, hub,
    topic, language, outcome, value. Empty cells mean "all"."""
    cells = stats["_cells"]
    hubs, languages = cells["hub_names"], cells["languages"]
    rows = []
    for (week, slug, topic, language), n in sorted(cells["handoffs"].items()):
        rows.append(("handoffs", week, hubs[slug], topic, languages[language], "", n))
    for (week, slug, outcome), n in sorted(cells["outcomes"].items(), key=lambda item: tuple(map(str, item[0]))):
        rows.append(("outcome", week, hubs[slug], "", "", outcome, n))
    for (week, language), n in sorted(cells["questions"].items()):
        rows.append(("questions", week, "", "", languages[language], "", n))
    for (week, topic, language), n in sorted(cells["question_topics"].items()):
        rows.append(("questions_by_topic", week, "", topic, languages.get(language, language), "", n))
    for (week, slug), values in sorted(cells["waits_by_week_hub"].items()):
        rows.append(("median_minutes_to_first_reply", week, hubs[slug], "", "", "", _minutes(values)))
    if stats["first_reply"]["median_minutes"] is not None:
        rows.append(("median_minutes_to_first_reply", "", "", "", "", "", stats["first_reply"]["median_minutes"]))
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(CSV_COLUMNS)
    writer.writerows([_cell(v) for v in row] for row in rows)
    return out.getvalue()
