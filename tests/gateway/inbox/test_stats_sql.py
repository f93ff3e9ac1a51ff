"""The statistics counted in SQL (gateway/inbox/stats_counts.py) are the figures the rows loaded into
Python gave (tests/gateway/inbox/stats_reference.py, the earlier implementation), on generated data,
on SQLite and on PostgreSQL: exact figures, suppressed ones, and the CSV."""

from __future__ import annotations

import json
import random
from datetime import datetime, timedelta, timezone

from sqlalchemy import create_engine, insert, select

from bench.stats_load import EVENTS
from common.topics import QUESTIONS
from gateway.db import session_scope
from gateway.erasure import app_url
from gateway.handoff import OUTCOMES
from gateway.inbox import stats
from gateway.inbox.security import User
from gateway.models import Handoff, Hub, Message, Resident
from tests.gateway.inbox import stats_reference as reference

pytest_plugins = ["tests.gateway.inbox.stats_databases"]  # the ``database`` fixture

NOW = datetime(2026, 11, 4, 9, 30, tzinfo=timezone.utc)  # a Wednesday; summer time ended on 25 October
ADMIN = User(0, "Admin", "admin@hub.example", "admin", None, None, "t" * 43)
LANGUAGES = ["sv"] * 8 + ["ar"] * 4 + ["so"] * 2 + ["en"] * 2 + ["ti", "fa"]


def generate(settings, seed: int = 7) -> list[int]:
    """Residents' handoffs, messages and tracker events over the 14 weeks before ``NOW``, some on
    the very edge of a week (Monday 00:00 Swedish time, and a microsecond before), in skewed
    languages so that small cells and cells hidden beside them occur. Returns the hubs' ids."""
    rng = random.Random(seed)
    start = stats.period_start(NOW, 14)
    mondays = [start.astimezone(stats.TZ).date() + timedelta(weeks=k) for k in range(15)]
    edges = [datetime(d.year, d.month, d.day, tzinfo=stats.TZ).astimezone(timezone.utc) for d in mondays]

    def when() -> datetime:
        if rng.random() < 0.1:
            return rng.choice(edges[:-1]) - rng.choice([timedelta(0), timedelta(microseconds=1)])
        return start + (NOW - start) * rng.random()

    with session_scope() as session:
        hubs = session.scalars(select(Hub.id).order_by(Hub.id)).all()[:3]
        people = [
            Resident(channel=rng.choice(["sms", "web"]), address=f"+467010{n:05d}", language=rng.choice(LANGUAGES))
            for n in range(80)
        ]
        session.add_all(people)
        session.flush()
        for _ in range(500):
            who, created = rng.choice(people), when()
            status = rng.choice(["open", "claimed", "closed", "closed"])
            session.add(
                Handoff(
                    resident_id=who.id,
                    hub_id=rng.choice(hubs + [None]) if rng.random() < 0.05 else rng.choice(hubs[:1] * 4 + hubs),
                    status=status,
                    channel=who.channel,
                    language=who.language if rng.random() < 0.8 else rng.choice(LANGUAGES),
                    topic=rng.choice(["job_search"] * 6 + ["learn_swedish", "start_business", None, ""]),
                    created_at=created,
                    first_reply_at=created + timedelta(minutes=rng.randrange(1, 600)) if rng.random() < 0.7 else None,
                    outcome=rng.choice([*OUTCOMES, None]) if status == "closed" else None,
                )
            )
        for _ in range(2000):
            who = rng.choice(people)
            session.add(
                Message(
                    resident_id=who.id,
                    direction=rng.choice(["in", "in", "out"]),
                    channel=who.channel,
                    sender=rng.choice(["resident", "resident", "resident", "bot", "coordinator"]),
                    body=rng.choice(["jobb?", "/affirm", "STOPP", "sfi", ""]),
                    status=rng.choice(["answered", "answered", "keyword", "opted_out", "to_coordinator"]),
                    language=rng.choice([*LANGUAGES, None, ""]),
                    created_at=when(),
                )
            )
        senders = [who.pseudonym for who in people]
    intents = sorted(QUESTIONS)[:12] + ["greet", "thank", "affirm", None]
    events = []
    for _ in range(4000):
        kind = rng.choice(["user", "user", "bot", "action"])
        metadata = rng.choice([{"language": rng.choice(LANGUAGES)}] * 6 + [{}, None, {"language": ""}, "x"])
        data = {"event": kind, "text": "hej"} | ({"metadata": metadata} if metadata != "x" else {})
        events.append(
            {
                "sender_id": rng.choice(senders),
                "type_name": kind,
                "timestamp": when().timestamp(),
                "intent_name": rng.choice(intents) if kind == "user" else None,
                "action_name": None,
                "data": json.dumps(data),
            }
        )
    tracker = create_engine(app_url(settings.tracker_store_sqlalchemy_url))
    with tracker.begin() as conn:
        conn.execute(insert(EVENTS), events)
    tracker.dispose()
    return hubs


def without(figures: dict, name: str) -> dict:
    """The figures but ``name``, and what the reference did not have: which weeks were archived."""
    period = {key: value for key, value in figures["period"].items() if key not in ("archived_weeks", "archive_note")}
    return {key: value for key, value in figures.items() if key != name} | {"period": period}


def test_the_figures_counted_in_sql_are_those_of_the_rows(database):
    hubs = generate(database)
    users = [
        ADMIN,
        User(7, "Ana", "ana@hub.example", "coordinator", hubs[0], "Hjällbo", "t" * 43),
        User(8, "Bo", "bo@hub.example", "coordinator", hubs[2], "Hammarkullen", "t" * 43),
    ]
    suppressed = shown = 0
    for user in users:
        for weeks in (1, 3, 12, 14, 260):
            with session_scope() as session:
                old = reference.compute(session, user, weeks, now=NOW)
                new = stats.compute(session, user, weeks, now=NOW)
            assert without(new, "_tallies") == without(old, "_who"), (user.name, weeks)
            assert without(stats.suppress(new), "") == reference.suppress(old), (user.name, weeks)
            assert stats.to_csv(stats.suppress(new)) == stats.to_csv(reference.suppress(old))
            for cells in ("handoffs", "outcomes", "questions", "question_topics"):
                values = list(stats.suppress(new)["_cells"][cells].values())
                suppressed, shown = suppressed + values.count(None), shown + len(values) - values.count(None)
    assert suppressed and shown  # the data make both: the comparison is not of empty figures
    with session_scope() as session:
        figures = stats.compute(session, ADMIN, 14, now=NOW)
    assert figures["questions"]["by_topic"] and figures["first_reply"]["median_minutes"]
