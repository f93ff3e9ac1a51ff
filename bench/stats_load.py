"""Statistics under load (review L3): a 260-week request over 300,000 tracker events, and how long
a resident's turn waits for the gateway's database meanwhile.

    PYTHONPATH=. .venv/app/bin/python -m bench.stats_load [--events 300000] [--messages 50000] [--postgres]
        [--retention]

Seeds a throw-away database and tracker store (SQLite files, or with ``--postgres`` two databases
on a throw-away PostgreSQL server, bench/postgres.py), then times ``stats.gather`` (cold, then
again within the cache's lifetime) and, while the cold one runs, a resident's turn's database
work: ``db.run`` with a read on the gateway's database, as a turn stores its message. With
``--retention``, a retention run with the default periods goes first, as it would have over the
years: the weeks older than 90 days are read from ``weekly_counts``. Prints one JSON object.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import tempfile
import time
from contextlib import ExitStack
from datetime import timedelta

from sqlalchemy import Column, Float, Integer, MetaData, String, Table, Text, create_engine

from common.topics import QUESTIONS

LANGUAGES = ("sv", "en", "ar", "so", "ti", "fa", "uk", "pl")
# Rasa's SQL tracker store ``events`` table (rasa.core.tracker_store.SQLTrackerStore.SQLEvent).
EVENTS = Table(
    "events",
    MetaData(),
    Column("id", Integer, primary_key=True),
    Column("sender_id", String(255), nullable=False, index=True),
    Column("type_name", String(255), nullable=False),
    Column("timestamp", Float),
    Column("intent_name", String(255)),
    Column("action_name", String(255)),
    Column("data", Text),
)


def seed_tracker(url: str, events: int, start: float, span: float) -> None:
    engine = create_engine(url)
    EVENTS.create(engine)
    intents = sorted(QUESTIONS) + ["greet", "thank", "affirm", "deny"]
    rng = random.Random(1)
    rows = []
    for i in range(events):
        kind = "user" if i % 3 == 0 else "bot" if i % 3 == 1 else "action"  # a turn: user, bot, action
        intent = rng.choice(intents) if kind == "user" else None
        data = {"event": kind, "text": "hej", "metadata": {"language": rng.choice(LANGUAGES)}}
        rows.append(
            {
                "sender_id": f"r{rng.randrange(5000)}",
                "type_name": kind,
                "timestamp": start + rng.random() * span,
                "intent_name": intent,
                "action_name": None,
                "data": json.dumps(data),
            }
        )
    with engine.begin() as conn:
        for chunk in range(0, len(rows), 20_000):
            conn.execute(EVENTS.insert(), rows[chunk : chunk + 20_000])
    engine.dispose()


def seed_gateway(messages: int, handoffs: int, span_days: int) -> None:
    from sqlalchemy import insert, select

    from gateway.db import session_scope
    from gateway.models import Handoff, Hub, Message, Resident, utcnow

    rng, now = random.Random(2), utcnow()
    with session_scope() as session:
        hubs = session.scalars(select(Hub.id)).all()
        session.execute(insert(Resident), [{"channel": "sms", "address": f"+4670{i:07d}"} for i in range(5000)])
        ids = session.scalars(select(Resident.id)).all()

        def when():
            return now - timedelta(days=rng.random() * span_days)

        message = dict(direction="in", channel="sms", sender="resident", body="hej", status="answered")
        session.execute(
            insert(Message),
            [
                {**message, "resident_id": rng.choice(ids), "language": rng.choice(LANGUAGES), "created_at": when()}
                for _ in range(messages)
            ],
        )
        handoff = dict(status="closed", channel="sms", topic="jobs", outcome="resolved")
        rows = [
            {**handoff, "resident_id": rng.choice(ids), "hub_id": rng.choice(hubs), "created_at": when()}
            for _ in range(handoffs)
        ]
        for row in rows:
            row["language"] = rng.choice(LANGUAGES)
            row["first_reply_at"] = row["created_at"] + timedelta(minutes=rng.randrange(5, 300))
        session.execute(insert(Handoff), rows)


def retention() -> dict:
    from gateway.db import session_scope
    from gateway.erasure import tracker_store
    from gateway.retention import Periods, run

    started = time.perf_counter()
    with session_scope() as session:
        deleted = run(session, Periods(), tracker_store())
    return {"retention_seconds": round(time.perf_counter() - started, 2), "deleted_by_retention": deleted}


def a_turns_database_work() -> None:
    """What a resident's turn does on the database thread before it is stored: a read of the
    gateway's database (on SQLite, its one connection)."""
    from sqlalchemy import func, select

    from gateway.db import session_scope
    from gateway.models import Resident

    with session_scope() as session:
        session.scalar(select(func.count()).select_from(Resident).where(Resident.id == 1))


async def measure(weeks: int) -> dict:
    from gateway import db
    from gateway.inbox import stats
    from gateway.inbox.security import User

    admin = User(1, "Admin", "admin@example.org", "admin", None, None, "x")
    turns: list[float] = []

    async def resident_turns(done: asyncio.Event) -> None:
        while not done.is_set():
            started = time.perf_counter()
            await db.run(a_turns_database_work)
            turns.append(time.perf_counter() - started)
            await asyncio.sleep(0.01)

    done = asyncio.Event()
    turner = asyncio.create_task(resident_turns(done))
    started = time.perf_counter()
    figures = await stats.gather(admin, weeks)
    cold = time.perf_counter() - started
    done.set()
    await turner
    started = time.perf_counter()
    await stats.gather(admin, weeks)
    warm = time.perf_counter() - started
    return {
        "weeks": weeks,
        "cold_seconds": round(cold, 2),
        "again_seconds": round(warm, 3),
        "resident_turn_wait_max_seconds": round(max(turns), 3),
        "questions_counted": figures["questions"]["total"],
        "question_topics_counted": sum(bar["count"] or 0 for bar in figures["questions"]["by_topic"]),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=300_000)
    parser.add_argument("--messages", type=int, default=50_000)
    parser.add_argument("--handoffs", type=int, default=5_000)
    parser.add_argument("--weeks", type=int, default=260)
    parser.add_argument("--postgres", action="store_true", help="a throw-away PostgreSQL server, not SQLite")
    parser.add_argument("--retention", action="store_true", help="a retention run first (weeks archived)")
    args = parser.parse_args()
    with ExitStack() as stack:
        tmp = stack.enter_context(tempfile.TemporaryDirectory())
        urls = {"hubguide": f"sqlite:///{tmp}/hubguide.db", "tracker": f"sqlite:///{tmp}/rasa_tracker.db"}
        if args.postgres:
            from bench.postgres import postgres

            urls = stack.enter_context(postgres("hubguide", "tracker"))
        os.environ.update(
            {"APP_ENV": "test", "DATA_DIR": tmp, "DATABASE_URL": urls["hubguide"], "TRACKER_STORE_URL": urls["tracker"]}
        )
        from gateway import db, store
        from gateway.db import session_scope

        db.migrate()
        with session_scope() as session:
            store.sync_hubs(session)
        span = args.weeks * 7 * 86400 * 0.95
        seed_tracker(urls["tracker"], args.events, time.time() - span, span)
        seed_gateway(args.messages, args.handoffs, int(span / 86400))
        archived = retention() if args.retention else {}
        result = {**archived, **asyncio.run(measure(args.weeks))}
        db.engine().dispose()
    database = "postgresql" if args.postgres else "sqlite"
    print(
        json.dumps(
            {
                "database": database,
                "events": args.events,
                "messages": args.messages,
                "handoffs": args.handoffs,
                **result,
            }
        )
    )


if __name__ == "__main__":
    main()
