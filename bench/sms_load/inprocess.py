"""Where the gateway's time goes, after the load phases with the stack
stopped: the gateway's own SMS code (``gateway.channels.sms`` behind
``gateway.middleware``, ``gateway.conversation``, ``gateway.outbox``,
``gateway.intake``) in this process against a scratch SQLite database, Rasa
stubbed, counting SQL statements and commits and timing each step.

On its own, ``python -m bench.sms_load.inprocess [--postgresql] [--rounds N]``
prints the steps' CPU per message, on SQLite or on a throw-away PostgreSQL
server (bench/postgres.py), with the gateway's log lines written (INFO, to
/dev/null) as a replica writes them. CPU is this process's, every thread's
(``time.process_time``): the intake and database threads' work included, and
in the webhook's step the in-process HTTP client's (httpx) too. For where inside
a step the time goes, run it under a sampling profiler (py-spy, not one of the
project's dependencies: ``py-spy record --gil -- python -m bench.sms_load.inprocess``)."""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import sqlite3
import statistics
import tempfile
import time
import uuid
from collections import Counter, defaultdict
from pathlib import Path

import httpx

from bench.common import Signer, use_database
from bench.sms_load.measure import dist, pct, rounded
from bench.sms_load.workload import LANGS, TEXTS
from gateway import db
from gateway.intake import Inbound, Intake
from gateway.settings import Settings


class StubRasa:
    """Answers at once, the way Rasa answers a job question over SMS (two replies); ``meanwhile``
    runs first, as the gateway's other tasks run while Rasa thinks."""

    def __init__(self, meanwhile=None) -> None:
        self.meanwhile = meanwhile

    async def send(self, conversation_id, text, metadata):
        from gateway.rasa_client import BotReply

        if self.meanwhile is not None:
            await self.meanwhile()

        return [
            BotReply("Platsbanken på arbetsformedlingen.se listar lediga jobb."),
            BotReply("Vill du prata med en koordinator? Svara JA eller NEJ."),
        ]

    async def ready(self) -> bool:
        return True


async def profile_gateway_code(data: Path, rounds: int, database_url: str | None = None) -> dict:
    """The gateway's SMS path in this process, Rasa stubbed, against a scratch
    SQLite database in the same data directory (or ``database_url``): SQL
    statements, commits and time per step (webhook, turn, outbox)."""
    from fastapi import FastAPI
    from sqlalchemy import event

    from common import langid
    from gateway.channels import sms
    from gateway.conversation import Conversations
    from gateway.middleware import RequestContext
    from gateway.outbox import Outbox

    url = database_url or f"sqlite:///{data / 'profile.db'}"
    use_database(url)
    db.migrate(url)
    settings = Settings(
        _env_file=None,
        app_env="test",
        data_dir=data,
        database_url=url,
        public_base_url="http://127.0.0.1:8000",
        twilio_account_sid="",
        log_level="WARNING",
    )
    counts: Counter = Counter()

    engine = db.engine()
    wrote = [False]

    def count(engine) -> None:
        """Statements and commits on ``engine`` (the shared one, and the intake's own)."""

        @event.listens_for(engine, "before_cursor_execute")
        def _statement(_conn, _cursor, statement, *_args):
            verb = statement.lstrip().split(None, 1)[0].upper()
            counts["statements"] += 1
            counts[verb] += 1
            wrote[0] = wrote[0] or verb in ("INSERT", "UPDATE", "DELETE")

        @event.listens_for(engine, "commit")
        def _commit(_conn):
            counts["commits"] += 1
            counts["write commits"] += wrote[0]
            wrote[0] = False

        # A connection tried before use (gateway.db._ping_when_idle) is a round trip of its own.
        tried = engine.dialect.do_ping

        def _ping(dbapi_connection):
            counts["pings"] += 1
            return tried(dbapi_connection)

        engine.dialect.do_ping = _ping  # type: ignore[method-assign]

    count(engine)

    await asyncio.to_thread(langid.preload)
    outbox = Outbox({"sms": sms.SmsSender(settings)})
    # The outbox's loop (Outbox.run), step by step: a wake-up is noted, and the loop's scans run
    # when the loop would run them: while the bot is asked, and after the turn.
    woken = [False]
    outbox.wake = lambda: woken.__setitem__(0, True)

    async def outbox_loop(name: str) -> None:
        """Once woken: a scan, and again at once while one asks for it (its batch had a next)."""
        if not woken[0]:
            return
        woken[0] = False
        wait = await step(name, outbox.deliver_due())
        while wait == 0.0:
            wait = await step("outbox: the loop's rescan after a batch", outbox.deliver_due())

    conversations = Conversations(
        StubRasa(lambda: outbox_loop("outbox: woken before the bot answers, a scan for nothing")), outbox
    )
    submitted: list[tuple[int, int]] = []

    class Recorder:
        def submit(self, message_id, resident_id, chosen=None):
            submitted.append((message_id, resident_id))

    app = FastAPI()
    app.state.settings, app.state.conversations = settings, Recorder()
    app.state.intake = intake = Intake(engine)
    if intake._engine is not engine:
        count(intake._engine)
    intake.start()
    app.include_router(sms.router)
    app.add_middleware(RequestContext)  # the request id, the webhook's metrics and log line
    sign = Signer(settings)
    steps: dict[str, list[tuple[float, Counter, float]]] = defaultdict(list)
    done = {"cpu": 0.0, "counts": Counter()}  # every finished step's own: a step inside another is its own

    async def step(name, awaitable):
        before, inner_cpu, inner_counts = Counter(counts), done["cpu"], Counter(done["counts"])
        started, cpu = time.perf_counter(), time.process_time()
        result = await awaitable
        own_cpu = time.process_time() - cpu - (done["cpu"] - inner_cpu)
        own_counts = (counts - before) - (done["counts"] - inner_counts)
        done["cpu"] += own_cpu
        done["counts"] += own_counts
        steps[name].append((time.perf_counter() - started, own_counts, own_cpu))
        return result

    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1:8000") as client:
        for i in range(rounds):
            language = LANGS[i % len(LANGS)]
            text = TEXTS[language][i % len(TEXTS[language])]
            number = f"+46705{i % 6:06d}"  # six residents: first contact, then returning
            form, headers = sign(number, text)
            kind = "first contact" if i < 6 else "returning"
            await step(
                f"webhook ({kind}): form, signature, store, TwiML",
                client.post("/sms/webhook", data=form, headers=headers),
            )
            message_id, resident_id = submitted[-1]
            await step(
                "turn: load, language, Rasa (stubbed), store replies",
                conversations._handle(message_id, resident_id, None),
            )
            await outbox_loop("outbox: scan queued, send (dry-run), mark sent")
    # The acknowledgement's storing under a burst: 50 concurrent webhooks' rows
    # through the intake thread (one transaction for the rows that arrive together).
    times = []
    for b in range(4):

        async def store(i: int, b=b) -> float:
            started = time.perf_counter()
            await intake.store(Inbound("sms", f"+46707{b}{i:04d}", "jag söker jobb", "SM" + uuid.uuid4().hex))
            return time.perf_counter() - started

        times += await asyncio.gather(*(store(i) for i in range(50)))
    bursts = {"intake thread, group commit (as the webhook)": dist(times)}
    intake.stop()
    language_ms = []
    for language in LANGS:
        for text in TEXTS[language]:
            started = time.perf_counter()
            langid.decide(text, language)
            language_ms.append((time.perf_counter() - started) * 1000)
    engine.dispose()

    # What one commit costs on this disk: SQLite WAL with synchronous FULL
    # (the gateway's setting: the default) against NORMAL.
    commit_ms = {}
    for mode in ("FULL", "NORMAL"):
        path = data / f"commit-{mode}.db"
        conn = sqlite3.connect(path, isolation_level=None)
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute(f"PRAGMA synchronous={mode}")
        conn.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, body TEXT)")
        times = []
        for i in range(200):
            started = time.perf_counter()
            conn.execute("BEGIN")
            conn.execute("INSERT INTO t (body) VALUES (?)", (f"message {i}",))
            conn.execute("COMMIT")
            times.append((time.perf_counter() - started) * 1000)
        conn.close()
        commit_ms[mode] = {"p50_ms": rounded(pct(times, 50), 3), "p99_ms": rounded(pct(times, 99), 3)}

    table = {}
    for name, values in steps.items():
        table[name] = {
            "n": len(values),
            "cpu_ms_per_message": rounded(sum(v[2] for v in values) * 1000 / rounds, 2),
            "p50_ms": rounded(pct([v[0] * 1000 for v in values], 50), 2),
            "cpu_ms_mean": rounded(statistics.mean(v[2] * 1000 for v in values), 2),
        }
        for key in ("statements", "SELECT", "INSERT", "UPDATE", "SAVEPOINT", "commits", "write commits", "pings"):
            table[name][key] = rounded(statistics.mean(v[1].get(key, 0) for v in values), 1)
    return {
        "steps": table,
        "store_burst_of_50": bursts,
        "langid_decide_p50_ms": rounded(pct(language_ms, 50), 3),
        "langid_decide_max_ms": rounded(max(language_ms), 3),
        "sqlite_commit": commit_ms,
    }


def main() -> None:
    """The steps on their own (no stack): CPU per message by step, on SQLite or PostgreSQL."""
    from bench.postgres import postgres

    parser = argparse.ArgumentParser(prog="python -m bench.sms_load.inprocess", description=main.__doc__)
    parser.add_argument("--postgresql", action="store_true", help="a throw-away PostgreSQL server, not SQLite")
    parser.add_argument("--rounds", type=int, default=240, help="messages (six residents, then returning)")
    parser.add_argument("--log-level", default="INFO", help="the gateway's loggers' level (INFO: a replica's)")
    args = parser.parse_args()
    handler = logging.StreamHandler(open(os.devnull, "w"))  # noqa: SIM115 - for the process's life
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    logging.getLogger().addHandler(handler)
    logging.getLogger("hubguide").setLevel(args.log_level)
    data = Path(tempfile.mkdtemp(prefix="hubguide-inprocess-"))
    if args.postgresql:
        with postgres("hubguide") as urls:
            result = asyncio.run(profile_gateway_code(data, args.rounds, urls["hubguide"]))
    else:
        result = asyncio.run(profile_gateway_code(data, args.rounds))
    steps = result["steps"]
    print(f"{'step':<62} {'n':>4} {'CPU ms/msg':>10} {'statements':>10} {'commits':>8} {'pings':>6}")
    for name, row in steps.items():
        print(
            f"{name:<62} {row['n']:>4} {row['cpu_ms_per_message']:>10} {row['statements']:>10} "
            f"{row['commits']:>8} {row['pings']:>6}"
        )
    total = sum(row["cpu_ms_per_message"] for row in steps.values())
    print(f"{'every step, per message':<62} {'':>4} {total:>10.2f}")
    print(json.dumps({k: v for k, v in result.items() if k != "steps"}))


if __name__ == "__main__":
    main()
