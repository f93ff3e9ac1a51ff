"""Lost or duplicated, counted at the end from the gateway's database and
Rasa's tracker store (both SQLite, read-only)."""

from __future__ import annotations

import asyncio
import sqlite3
import time
from collections import Counter, defaultdict
from pathlib import Path


def _count_by(conn, query: str, keys: list[str]) -> Counter:
    counts = Counter()
    for start in range(0, len(keys), 500):
        part = keys[start : start + 500]
        counts.update(dict(conn.execute(query.format(marks=",".join("?" * len(part))), part).fetchall()))
    return counts


def audit(data: Path, sids: list[str], numbers: dict[str, str]) -> dict:
    """Lost and duplicated, from the gateway's database (and Rasa's tracker
    store): every MessageSid sent stored exactly once; every stored inbound
    message answered by the bot exactly once (per resident: as many bot
    answers as messages, and each answer before the resident's next message);
    every message processed by Rasa exactly once."""
    conn = sqlite3.connect(f"file:{data / 'hubguide.db'}?mode=ro", uri=True, timeout=15)
    tracker = sqlite3.connect(f"file:{data / 'rasa_tracker.db'}?mode=ro", uri=True, timeout=15)
    try:
        stored = _count_by(
            conn,
            "SELECT provider_id, count(*) FROM messages WHERE channel = 'sms' "
            "AND direction = 'in' AND provider_id IN ({marks}) GROUP BY provider_id",
            sids,
        )
        addresses = list(numbers)
        known = set(sids)
        tally, answers, in_status, out_status = Counter(), Counter(), Counter(), Counter()
        pseudonyms: dict[str, str] = {}
        inbound_per_resident: Counter = Counter()
        for start in range(0, len(addresses), 500):
            part = addresses[start : start + 500]
            rows = conn.execute(
                "SELECT r.address, r.pseudonym, m.direction, m.status, m.sender, m.provider_id, "
                "m.language FROM messages m JOIN residents r ON r.id = m.resident_id "
                f"WHERE r.channel = 'sms' AND r.address IN ({','.join('?' * len(part))}) "
                "ORDER BY r.address, m.id",
                part,
            ).fetchall()
            per_resident: dict[str, list] = defaultdict(list)
            for row in rows:
                pseudonyms[row[0]] = row[1]
                per_resident[row[0]].append(row[2:])
            for address, messages in per_resident.items():
                n_in = n_bot = 0
                slots = []  # bot answers between one inbound message and the next
                for direction, status, sender, provider_id, language in messages:
                    if direction == "in":
                        n_in += 1
                        slots.append(0)
                        in_status[status] += 1
                        tally["inbound_not_sent_by_us"] += provider_id not in known
                        tally["language_not_the_residents"] += language != numbers[address]
                        continue
                    out_status[status] += 1
                    answers[sender] += 1
                    if sender != "bot":
                        tally["apologies"] += 1
                    elif not slots:
                        tally["answer_before_any_message"] += 1
                    else:
                        n_bot += 1
                        slots[-1] += 1
                inbound_per_resident[address] = n_in
                tally["unanswered"] += max(0, n_in - n_bot)
                tally["answered_twice"] += max(0, n_bot - n_in)
                if n_in == n_bot:
                    tally["answered_after_the_next_message"] += sum(1 for n in slots if n == 0)
        rasa_turns = _count_by(
            tracker,
            "SELECT sender_id, count(*) FROM events WHERE type_name = 'user' "
            "AND sender_id IN ({marks}) GROUP BY sender_id",
            list(pseudonyms.values()),
        )
        twice = sum(max(0, rasa_turns.get(pseudonyms[a], 0) - n) for a, n in inbound_per_resident.items())
        never = sum(max(0, n - rasa_turns.get(pseudonyms[a], 0)) for a, n in inbound_per_resident.items())
        result = {
            "sids_sent": len(sids),
            "stored": sum(1 for s in sids if stored.get(s, 0) >= 1),
            "lost_not_stored": sum(1 for s in sids if stored.get(s, 0) == 0),
            "stored_twice": sum(1 for s in sids if stored.get(s, 0) > 1),
            "inbound_unanswered": tally["unanswered"],
            "inbound_answered_twice": tally["answered_twice"],
            "answered_after_the_next_message": tally["answered_after_the_next_message"],
            "apologies": tally["apologies"],
            "inbound_not_sent_by_us": tally["inbound_not_sent_by_us"],
            "answer_before_any_message": tally["answer_before_any_message"],
            "inbound_language_not_the_residents": tally["language_not_the_residents"],
            "rasa_processed_twice": twice,
            "rasa_never_processed": never,
            "answers_by_sender": dict(answers),
            "inbound_status": dict(in_status),
            "outbound_status": dict(out_status),
        }
        result["lost_or_duplicated"] = (
            result["lost_not_stored"]
            + result["stored_twice"]
            + result["inbound_unanswered"]
            + result["inbound_answered_twice"]
            + result["inbound_not_sent_by_us"]
            + result["answer_before_any_message"]
        )
        return result
    finally:
        conn.close()
        tracker.close()


def audit_rest(data: Path, senders: Counter) -> dict:
    """The baseline's turns in Rasa's tracker store: one user event per message posted."""
    tracker = sqlite3.connect(f"file:{data / 'rasa_tracker.db'}?mode=ro", uri=True, timeout=15)
    try:
        turns = _count_by(
            tracker,
            "SELECT sender_id, count(*) FROM events WHERE type_name = 'user' "
            "AND sender_id IN ({marks}) GROUP BY sender_id",
            list(senders),
        )
    finally:
        tracker.close()
    return {
        "posted": sum(senders.values()),
        "rasa_processed_twice": sum(max(0, turns.get(k, 0) - n) for k, n in senders.items()),
        "rasa_never_processed": sum(max(0, n - turns.get(k, 0)) for k, n in senders.items()),
    }


def unsettled(db_path: Path) -> int:
    conn = sqlite3.connect(f"file:{db_path}?mode=ro", uri=True, timeout=15)
    try:
        return conn.execute(
            "SELECT (SELECT count(*) FROM messages WHERE direction = 'in' "
            "AND status IN ('received', 'bot_unavailable')) + (SELECT count(*) FROM messages "
            "WHERE direction = 'out' AND status = 'queued')"
        ).fetchone()[0]
    finally:
        conn.close()


async def settled(db_path: Path, timeout: float) -> None:
    """Wait 2 s for anything late (a duplicate answer, a retry), then until no
    message is in flight, at most ``timeout`` s. It polls: the gateway is
    another process and tells nobody when it is idle."""
    await asyncio.sleep(2)
    deadline = time.monotonic() + timeout
    while unsettled(db_path) and time.monotonic() < deadline:
        await asyncio.sleep(0.5)
