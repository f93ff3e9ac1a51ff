"""Intake: what residents send is stored here, on one thread, before anyone
acknowledges it.

Webhooks and web chat messages arrive in bursts. Each one waits for its own
row to be committed (nothing is acknowledged before it is stored), but the
rows that arrive together are committed together: one transaction, one disk
flush, for a whole burst. The thread is the gateway's only inbound writer, so
it never queues behind a bot turn in the shared thread pool, and it has a
database connection of its own (``gateway.db.own_engine``), so it never waits
for the one the turns hand around either.
"""

from __future__ import annotations

import asyncio
import json
import logging
import queue
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import Engine, insert, select, text, tuple_, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError

from gateway import db
from gateway.db import own_engine
from gateway.erasure import take_kept_opt_outs
from gateway.models import Message, Resident, aware, new_pseudonym, utcnow

log = logging.getLogger("hubguide.intake")

MAX_BATCH = 200
CONFLICT_TRIES = 3  # each conflict is another writer that committed: the next try sees its rows
# How fresh a resident's last_seen_at is kept: retention counts months and a web chat's idle
# time hours, and a conversation's messages a minute apart then cost no write to their row.
SEEN_EVERY = timedelta(minutes=1)


@dataclass(frozen=True)
class Inbound:
    channel: str
    address: str
    body: str
    provider_id: str | None = None  # Twilio's MessageSid: a second delivery is ignored
    extra: dict | None = None


@dataclass(frozen=True)
class Stored:
    message_id: int
    resident_id: int


class Intake:
    def __init__(self, engine: Engine) -> None:
        self._engine = own_engine(engine)
        self._own = self._engine is not engine
        self._queue: queue.SimpleQueue = queue.SimpleQueue()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="intake", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        if self._thread is not None:
            self._queue.put(None)
            self._thread.join()
            self._thread = None
            if self._own:
                self._engine.dispose()  # its connection closed; a start again opens another

    async def store(self, item: Inbound) -> Stored | None:
        """Store ``item``; None when its ``provider_id`` was stored already.
        Raises when it could not be stored (the caller must not acknowledge)."""
        if self._thread is None:
            raise RuntimeError("intake is not running")
        loop = asyncio.get_running_loop()
        future = loop.create_future()
        self._queue.put((item, future, loop))
        return await future

    def _run(self) -> None:
        while True:
            first = self._queue.get()
            if first is None:
                return
            batch = [first]
            while len(batch) < MAX_BATCH:
                try:
                    nxt = self._queue.get_nowait()
                except queue.Empty:
                    break
                if nxt is None:
                    self._queue.put(None)  # stop after this batch
                    break
                batch.append(nxt)
            items = [item for item, _, _ in batch]
            try:
                results = self._write_together(items)
            except Exception as exc:  # the whole batch failed: each caller hears why
                log.exception("storing %d inbound message(s) failed", len(items))
                results = [exc] * len(items)
            for (_, future, loop), result in zip(batch, results, strict=True):
                loop.call_soon_threadsafe(_settle, future, result)

    def _write_together(self, items: list[Inbound]) -> Sequence[Stored | None | Exception]:
        # The connection is not tried before each use (own_engine): when the server has closed it,
        # the batch is written again on a new one; a delivery stored by the first try is then a
        # duplicate, and None, as a retry of Twilio's would be.
        return db.again_if_closed(self._write_once, items)

    def _write_once(self, items: list[Inbound]) -> Sequence[Stored | None | Exception]:
        done = _store_known(self._engine, items) if self._engine.dialect.name == "postgresql" else {}
        results: list[Stored | None | Exception] = [done.get(i) for i in range(len(items))]
        rest = [i for i in range(len(items)) if i not in done]
        if rest:
            for index, result in zip(rest, self._write_rest([items[i] for i in rest]), strict=True):
                results[index] = result
        return results

    def _write_rest(self, items: list[Inbound]) -> Sequence[Stored | None | Exception]:
        try:
            with self._engine.begin() as conn:
                return _write(conn, items)
        except IntegrityError:
            # Another process stored one of them meanwhile: one by one, so only
            # that one is reported as the duplicate it is.
            results: list[Stored | None | Exception] = []
            for item in items:
                try:
                    results.append(store_now(self._engine, item))
                except Exception as exc:
                    results.append(exc)
            return results


def store_now(engine: Engine, item: Inbound) -> Stored | None:
    """Store one message on the calling thread, in its own transaction (tools, tests, and a
    batch that met another writer). The unique keys another replica may fill meanwhile, the
    message's provider id and the new resident's number, are met with ON CONFLICT DO NOTHING in
    ``_write``; any other conflict (a pseudonym drawn twice) means try again, never "a
    duplicate", which would acknowledge a message nobody stored."""
    for _ in range(CONFLICT_TRIES - 1):
        try:
            with engine.begin() as conn:
                return _write(conn, [item])[0]
        except IntegrityError:
            continue
    with engine.begin() as conn:
        return _write(conn, [item])[0]


# Known residents' messages on PostgreSQL, as one statement committed as it runs: one round trip
# where a transaction takes four (on two busy cores each is a wait for the server's process and
# the intake's thread to be scheduled). Written by hand, not built with SQLAlchemy: the same
# statement built each time (VALUES of the batch's rows) took longer to compile than the round
# trips it saves; this text is the same for every batch, so psycopg prepares it once.
KNOWN_RESIDENTS_MESSAGES = text("""
WITH given AS (
    SELECT * FROM unnest(
        CAST(:channels AS text[]), CAST(:addresses AS text[]), CAST(:bodies AS text[]),
        CAST(:provider_ids AS text[]), CAST(:extras AS json[])
    ) AS g (channel, address, body, provider_id, extra)
), stored AS (
    INSERT INTO messages (resident_id, direction, channel, sender, body, provider_id, status, extra,
                          language, attempts, created_at)
    SELECT r.id, 'in', g.channel, 'resident', g.body, g.provider_id, 'received', g.extra,
           r.language, 0, :now
    FROM given g JOIN residents r ON r.channel = g.channel AND r.address = g.address
    ON CONFLICT (channel, direction, provider_id) DO NOTHING
    RETURNING id, resident_id, channel, provider_id
), seen AS (
    UPDATE residents SET last_seen_at = :now WHERE id IN (
        SELECT id FROM residents
        WHERE id IN (SELECT resident_id FROM stored) AND last_seen_at < :stale
        FOR NO KEY UPDATE SKIP LOCKED
    )
)
SELECT id, resident_id, channel, provider_id FROM stored
""")


def _store_known(engine: Engine, items: list[Inbound]) -> dict[int, Stored | None]:
    """KNOWN_RESIDENTS_MESSAGES for ``items`` that have a provider id. Returns, by index, those
    stored and the second deliveries of those in the batch; the rest (new residents, deliveries
    stored before) are for ``_write``. The residents last seen over SEEN_EVERY ago are marked
    seen in the same statement (FOR NO KEY UPDATE SKIP LOCKED: why, in ``_write``)."""
    first = {
        (items[i].channel, items[i].provider_id): i
        for i in _first_deliveries(items)
        if items[i].provider_id is not None
    }
    if not first:
        return {}
    now = utcnow()
    rows = [items[i] for i in first.values()]
    parameters = {
        "channels": [i.channel for i in rows],
        "addresses": [i.address for i in rows],
        "bodies": [i.body for i in rows],
        "provider_ids": [i.provider_id for i in rows],
        "extras": [None if i.extra is None else json.dumps(i.extra) for i in rows],
        "now": now,
        "stale": now - SEEN_EVERY,
    }
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        found = {
            (r.channel, r.provider_id): Stored(r.id, r.resident_id)
            for r in conn.execute(KNOWN_RESIDENTS_MESSAGES, parameters)
        }
    done: dict[int, Stored | None] = {}
    for index, item in enumerate(items):
        if item.provider_id is not None and (key := (item.channel, item.provider_id)) in found:
            done[index] = found[key] if first[key] == index else None  # a second delivery in the batch
    return done


def _settle(future: asyncio.Future, result) -> None:
    if future.done():  # the webhook's client went away; the row is stored all the same
        return
    if isinstance(result, Exception):
        future.set_exception(result)
    else:
        future.set_result(result)


def _write(conn, items: list[Inbound]) -> list[Stored | None]:
    """Store ``items`` with a handful of statements, however many there are;
    None for each one whose provider id is stored already (or came twice)."""
    now = utcnow()
    fresh = _first_deliveries(items)
    addresses = {(items[i].channel, items[i].address) for i in fresh}
    # The residents known already, read without waiting for anyone: a turn of theirs under way
    # holds their row (their language, the privacy notice) until it commits, and a resident who
    # sends three messages in a row would have had the second acknowledged only after that.
    known = tuple_(Resident.channel, Resident.address).in_(addresses)
    found = conn.execute(
        select(Resident.id, Resident.channel, Resident.address, Resident.language, Resident.last_seen_at).where(known)
    ).all()
    residents = {(r.channel, r.address): (r.id, r.language) for r in found}
    # Marked seen unless a turn holds the row (PostgreSQL's SKIP LOCKED; SQLite has one writer):
    # that turn's own message was stored, and marked seen, a moment ago. FOR NO KEY UPDATE (
    # key_share), as the UPDATE itself would take: FOR UPDATE also shuts out the KEY SHARE lock
    # another replica's insert of a message of theirs takes on the row (its foreign key), and
    # with Twilio's second delivery of that message waiting on the unique key, they deadlocked.
    stale = [r.id for r in found if aware(r.last_seen_at) < now - SEEN_EVERY]
    if stale:
        free = select(Resident.id).where(Resident.id.in_(stale)).with_for_update(skip_locked=True, key_share=True)
        conn.execute(update(Resident).where(Resident.id.in_(free)).values(last_seen_at=now))
    new = sorted(addresses - residents.keys())
    dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
    if new:
        # A number that said STOP before its row was erased is still opted out. (Two replicas
        # making one number's row at once: the one that takes the kept opt-out holds it until it
        # commits, its row with it, and the other's take waits for that, then finds nothing.)
        kept = take_kept_opt_outs(conn, [address for channel, address in new if channel == "sms"])
        # A resident another replica made meanwhile (their messages came at once to both) meets
        # the unique key and is read below once that replica has committed: not an error that
        # would store the whole batch again one message at a time.
        statement = (
            dialect.insert(Resident)
            .on_conflict_do_nothing(index_elements=["channel", "address"])
            .returning(Resident.id, Resident.channel, Resident.address)
        )
        rows = [
            {
                "channel": channel,
                "address": address,
                "pseudonym": new_pseudonym(),
                "opted_out": channel == "sms" and address in kept,
                "opted_out_at": kept.get(address) if channel == "sms" else None,
                "created_at": now,
                "last_seen_at": now,
            }
            for channel, address in new
        ]
        residents.update({(r.channel, r.address): (r.id, None) for r in conn.execute(statement, rows)})
        meanwhile = [key for key in new if key not in residents]
        if meanwhile:
            theirs = select(Resident.id, Resident.channel, Resident.address, Resident.language).where(
                tuple_(Resident.channel, Resident.address).in_(meanwhile)
            )
            residents.update({(r.channel, r.address): (r.id, r.language) for r in conn.execute(theirs)})

    def row(i: Inbound) -> dict:
        resident_id, language = residents[(i.channel, i.address)]
        return {
            "resident_id": resident_id,
            "direction": "in",
            "channel": i.channel,
            "sender": "resident",
            "body": i.body,
            "provider_id": i.provider_id,
            "status": "received",
            "extra": i.extra,
            "language": language,
            "attempts": 0,
            "created_at": now,
        }

    results: list[Stored | None] = [None] * len(items)
    unkeyed = [i for i in fresh if items[i].provider_id is None]
    if unkeyed:
        ids = (
            conn.execute(
                insert(Message).returning(Message.id, sort_by_parameter_order=True), [row(items[i]) for i in unkeyed]
            )
            .scalars()
            .all()
        )
        for index, message_id in zip(unkeyed, ids, strict=True):
            results[index] = Stored(message_id, residents[(items[index].channel, items[index].address)][0])
    keyed = [i for i in fresh if items[i].provider_id is not None]
    if keyed:
        # A delivery stored before (Twilio's retry, perhaps to another replica) meets the unique
        # key (channel, direction, provider_id) and is left out: no id comes back for it. This
        # takes the place of a query for the stored ones first (one round trip fewer per batch).
        statement = (
            dialect.insert(Message)
            .on_conflict_do_nothing(index_elements=["channel", "direction", "provider_id"])
            .returning(Message.id, Message.channel, Message.provider_id)
        )
        stored = {(r.channel, r.provider_id): r.id for r in conn.execute(statement, [row(items[i]) for i in keyed])}
        for index in keyed:
            item = items[index]
            message_id = stored.get((item.channel, item.provider_id))
            if message_id is not None:
                results[index] = Stored(message_id, residents[(item.channel, item.address)][0])
    return results


def _first_deliveries(items: list[Inbound]) -> list[int]:
    """The indexes of ``items`` but the second (third ...) delivery of a provider id in them."""
    seen: set[tuple[str, str | None]] = set()
    first = []
    for index, item in enumerate(items):
        key = (item.channel, item.provider_id)
        if item.provider_id is None or key not in seen:
            first.append(index)
            seen.add(key)
    return first
