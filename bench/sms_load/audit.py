"""Lost, duplicated or out of order, counted at the end from the gateway's
database and Rasa's tracker store (read-only; SQLite or PostgreSQL, by URL)."""

from __future__ import annotations

import asyncio
import json
import time
from collections import Counter, defaultdict
from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import Connection, NullPool, bindparam, create_engine, text

from bench.sms_load.measure import read_only

USER_EVENTS = (
    "SELECT sender_id, count(*) FROM events WHERE type_name = 'user' AND sender_id IN :keys GROUP BY sender_id"
)


@contextmanager
def reading(url: str) -> Iterator[Connection]:
    engine = create_engine(read_only(url), poolclass=NullPool)
    try:
        with engine.connect() as conn:
            yield conn
    finally:
        engine.dispose()


def _rows(conn: Connection, query: str, keys: list[str]) -> Iterator:
    """``query``'s rows for ``keys`` (its ``IN :keys``), 500 keys at a time."""
    statement = text(query).bindparams(bindparam("keys", expanding=True))
    for start in range(0, len(keys), 500):
        yield from conn.execute(statement, {"keys": keys[start : start + 500]})


def _count_by(conn: Connection, query: str, keys: list[str]) -> Counter:
    return Counter({key: n for key, n in _rows(conn, query, keys)})


def _per_resident(conn: Connection, numbers: list[str]) -> tuple[dict[str, str], dict[str, list[tuple]]]:
    """Each resident's pseudonym, and their messages in the order stored:
    (direction, status, sender, provider_id, language, body)."""
    pseudonyms: dict[str, str] = {}
    messages: dict[str, list[tuple]] = defaultdict(list)
    for row in _rows(
        conn,
        "SELECT r.address, r.pseudonym, m.direction, m.status, m.sender, m.provider_id, m.language, m.body "
        "FROM messages m JOIN residents r ON r.id = m.resident_id "
        "WHERE r.channel = 'sms' AND r.address IN :keys ORDER BY r.address, m.id",
        numbers,
    ):
        pseudonyms[row[0]] = row[1]
        messages[row[0]].append(tuple(row[2:]))
    return pseudonyms, messages


def audit(
    database_url: str,
    tracker_url: str | None,
    sids: list[str],
    numbers: dict[str, str],
    notices: frozenset[str] = frozenset(),
) -> dict:
    """Lost and duplicated, from the gateway's database (and Rasa's tracker
    store): every MessageSid sent stored exactly once; every stored inbound
    message answered by the bot exactly once (per resident: as many bot
    answers as messages, and each answer before the resident's next message;
    the privacy notice sent as an SMS of its own, ``notices``, is not an
    answer); every message processed by Rasa exactly once (not counted
    without ``tracker_url``: a stand-in bot)."""
    with reading(database_url) as conn:
        stored = _count_by(
            conn,
            "SELECT provider_id, count(*) FROM messages WHERE channel = 'sms' "
            "AND direction = 'in' AND provider_id IN :keys GROUP BY provider_id",
            sids,
        )
        pseudonyms, per_resident = _per_resident(conn, list(numbers))
    known = set(sids)
    tally, answers, in_status, out_status = Counter(), Counter(), Counter(), Counter()
    inbound_per_resident: Counter = Counter()
    for address, messages in per_resident.items():
        n_in = n_bot = 0
        slots = []  # bot answers between one inbound message and the next
        for direction, status, sender, provider_id, language, body in messages:
            if direction == "out" and body in notices:
                tally["privacy_notices"] += 1
                continue
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
    twice = never = None
    if tracker_url:
        with reading(tracker_url) as tracker:
            turns = _count_by(tracker, USER_EVENTS, list(pseudonyms.values()))
        twice = sum(max(0, turns.get(pseudonyms[a], 0) - n) for a, n in inbound_per_resident.items())
        never = sum(max(0, n - turns.get(pseudonyms[a], 0)) for a, n in inbound_per_resident.items())
    result = {
        "sids_sent": len(sids),
        "stored": sum(1 for s in sids if stored.get(s, 0) >= 1),
        "lost_not_stored": sum(1 for s in sids if stored.get(s, 0) == 0),
        "stored_twice": sum(1 for s in sids if stored.get(s, 0) > 1),
        "inbound_unanswered": tally["unanswered"],
        "inbound_answered_twice": tally["answered_twice"],
        "answered_after_the_next_message": tally["answered_after_the_next_message"],
        "apologies": tally["apologies"],
        "privacy_notices_on_their_own": tally["privacy_notices"],
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


def audit_rest(tracker_url: str, senders: Counter) -> dict:
    """The baseline's turns in Rasa's tracker store: one user event per message posted."""
    with reading(tracker_url) as tracker:
        turns = _count_by(tracker, USER_EVENTS, list(senders))
    return {
        "posted": sum(senders.values()),
        "rasa_processed_twice": sum(max(0, turns.get(k, 0) - n) for k, n in senders.items()),
        "rasa_never_processed": sum(max(0, n - turns.get(k, 0)) for k, n in senders.items()),
    }


def _first_occurrences(items: list[str]) -> list[str]:
    return list(dict.fromkeys(items))


def order(
    database_url: str,
    sent: dict[str, list[str]],
    tracker_url: str | None = None,
    bot_seen: dict[str, list[str]] | None = None,
    answer_prefix: str | None = None,
) -> dict:
    """Residents whose messages (``sent``: number -> texts in the order sent,
    all different) were stored, seen by the bot (Rasa's tracker store, or
    ``bot_seen``: pseudonym -> texts, a stand-in's), or answered (bodies
    ``answer_prefix`` + text: a stand-in's echo) in another order. A message the
    bot saw twice counts where it first came. (Whether each answer came before the
    resident's next message is ``audit``'s ``answered_after_the_next_message``,
    for residents who wait for answers.)"""
    with reading(database_url) as conn:
        pseudonyms, per_resident = _per_resident(conn, list(sent))
    if tracker_url:
        bot_seen = defaultdict(list)
        with reading(tracker_url) as tracker:
            for sender_id, data in _rows(
                tracker,
                "SELECT sender_id, data FROM events WHERE type_name = 'user' AND sender_id IN :keys ORDER BY id",
                list(pseudonyms.values()),
            ):
                bot_seen[sender_id].append(json.loads(data).get("text", ""))
    counts = Counter()
    for number, texts in sent.items():
        messages = per_resident.get(number, [])
        stored = [m[5] for m in messages if m[0] == "in"]
        counts["stored"] += _first_occurrences(stored) != texts
        if bot_seen is not None:
            seen = [t for t in bot_seen.get(pseudonyms.get(number, ""), []) if t in texts]
            counts["bot"] += _first_occurrences(seen) != texts
        if answer_prefix is not None:  # an answer may carry more (the privacy notice, once)
            bodies = [m[5] for m in messages if m[0] == "out" and m[2] == "bot"]
            answered = [t for body in bodies for t in texts if answer_prefix + t in body]
            counts["answered"] += _first_occurrences(answered) != texts
    return {
        "residents": len(sent),
        "messages": sum(len(t) for t in sent.values()),
        "stored_out_of_order": counts["stored"],
        "seen_by_the_bot_out_of_order": counts["bot"] if bot_seen is not None else None,
        "answered_out_of_order": counts["answered"] if answer_prefix is not None else None,
    }


def unsettled(database_url: str) -> int:
    """Inbound messages still waiting for the bot, and outbound ones still queued."""
    with reading(database_url) as conn:
        return conn.execute(
            text(
                "SELECT (SELECT count(*) FROM messages WHERE direction = 'in' "
                "AND status IN ('received', 'bot_unavailable')) + (SELECT count(*) FROM messages "
                "WHERE direction = 'out' AND status = 'queued')"
            )
        ).scalar_one()


async def settled(database_url: str, timeout: float) -> None:
    """Wait 2 s for anything late (a duplicate answer, a retry), then until no
    message is in flight, at most ``timeout`` s. It polls: the gateway is
    another process and tells nobody when it is idle."""
    await asyncio.sleep(2)
    deadline = time.monotonic() + timeout
    while await asyncio.to_thread(unsettled, database_url) and time.monotonic() < deadline:
        await asyncio.sleep(0.5)
