"""Statistics under load (review L3): a 260-week request over 300,000 tracker events, and how long
a resident's turn waits for the gateway's database thread meanwhile.

    PYTHONPATH=. .venv/app/bin/python -m bench.stats_load [--events 300000] [--messages 50000]

Seeds a throw-away SQLite database and tracker store, then times ``stats.gather`` (cold, then
again within the cache's lifetime) and, while the cold one runs, ``db.run`` calls as a resident's
turn makes them. Prints one JSON object.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import sqlite3
import tempfile
import time
from datetime import timedelta
from pathlib import Path

from common.topics import QUESTIONS

LANGUAGES = ("sv", "en", "ar", "so", "ti", "fa", "uk", "pl")


def seed_tracker(path: Path, events: int, start: float, span: float) -> None:
    """Rasa's SQL tracker store ``events`` table (the columns stats.question_topics reads)."""
    con = sqlite3.connect(path)
    con.execute(
        "CREATE TABLE events (id INTEGER PRIMARY KEY, sender_id VARCHAR(255), type_name VARCHAR(255), "
        "timestamp FLOAT, intent_name VARCHAR(255), action_name VARCHAR(255), data TEXT)"
    )
    intents = sorted(QUESTIONS) + ["greet", "thank", "affirm", "deny"]
    rng = random.Random(1)
    rows = []
    for i in range(events):
        kind = "user" if i % 3 == 0 else "bot" if i % 3 == 1 else "action"  # a turn: user, bot, action
        intent = rng.choice(intents) if kind == "user" else None
        data = {"event": kind, "text": "hej", "metadata": {"language": rng.choice(LANGUAGES)}}
        rows.append((f"r{rng.randrange(5000)}", kind, start + rng.random() * span, intent, None, json.dumps(data)))
    con.executemany(
        "INSERT INTO events (sender_id, type_name, timestamp, intent_name, action_name, data) VALUES (?,?,?,?,?,?)",
        rows,
    )
    con.commit()
    con.close()


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


async def measure(weeks: int) -> dict:
    from gateway import db
    from gateway.inbox import stats
    from gateway.inbox.security import User

    admin = User(1, "Admin", "admin@example.org", "admin", None, None, "x")
    turns: list[float] = []

    async def resident_turns(done: asyncio.Event) -> None:
        while not done.is_set():
            started = time.perf_counter()
            await db.run(lambda: None)  # what a resident's turn waits for before it is stored
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
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=300_000)
    parser.add_argument("--messages", type=int, default=50_000)
    parser.add_argument("--handoffs", type=int, default=5_000)
    parser.add_argument("--weeks", type=int, default=260)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        os.environ.update({"APP_ENV": "test", "DATA_DIR": tmp, "DATABASE_URL": f"sqlite:///{tmp}/hubguide.db"})
        from gateway import db, store
        from gateway.db import session_scope

        db.migrate()
        with session_scope() as session:
            store.sync_hubs(session)
        span = args.weeks * 7 * 86400 * 0.95
        seed_tracker(Path(tmp) / "rasa_tracker.db", args.events, time.time() - span, span)
        seed_gateway(args.messages, args.handoffs, int(span / 86400))
        result = asyncio.run(measure(args.weeks))
        db.engine().dispose()
    print(json.dumps({"events": args.events, "messages": args.messages, "handoffs": args.handoffs, **result}))


if __name__ == "__main__":
    main()
