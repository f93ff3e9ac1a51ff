"""Where the gateway's time goes, after the load phases with the stack
stopped: the gateway's own SMS code (``gateway.channels.sms``,
``gateway.conversation``, ``gateway.outbox``, ``gateway.intake``) in this
process against a scratch SQLite database, Rasa stubbed, counting SQL
statements and commits and timing each step."""

from __future__ import annotations

import asyncio
import sqlite3
import statistics
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
    """Answers at once, the way Rasa answers a job question over SMS (two replies)."""

    async def send(self, conversation_id, text, metadata):
        from gateway.rasa_client import BotReply

        return [
            BotReply("Platsbanken på arbetsformedlingen.se listar lediga jobb."),
            BotReply("Vill du prata med en koordinator? Svara JA eller NEJ."),
        ]

    async def ready(self) -> bool:
        return True


async def profile_gateway_code(data: Path, rounds: int) -> dict:
    """The gateway's SMS path in this process, Rasa stubbed, against a scratch
    SQLite database in the same data directory: SQL statements, commits and
    time per step (webhook, turn, outbox)."""
    from fastapi import FastAPI
    from sqlalchemy import event

    from common import langid
    from gateway.channels import sms
    from gateway.conversation import Conversations
    from gateway.outbox import Outbox

    url = f"sqlite:///{data / 'profile.db'}"
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

    await asyncio.to_thread(langid.preload)
    outbox = Outbox({"sms": sms.SmsSender(settings)})
    outbox.wake = lambda: None  # the steps are driven one by one here
    conversations = Conversations(StubRasa(), outbox)
    submitted: list[tuple[int, int]] = []

    class Recorder:
        def submit(self, message_id, resident_id, chosen=None):
            submitted.append((message_id, resident_id))

    app = FastAPI()
    app.state.settings, app.state.conversations = settings, Recorder()
    app.state.intake = intake = Intake(engine)
    intake.start()
    app.include_router(sms.router)
    sign = Signer(settings)
    steps: dict[str, list[tuple[float, int, int]]] = defaultdict(list)

    async def step(name, awaitable):
        before = Counter(counts)
        started, cpu = time.perf_counter(), time.process_time()
        result = await awaitable
        steps[name].append((time.perf_counter() - started, counts - before, time.process_time() - cpu))
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
            await step("outbox: scan queued, send (dry-run), mark sent", outbox.deliver_due())
            await step("outbox: the loop's rescan after a batch", outbox.deliver_due())
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
            "p50_ms": rounded(pct([v[0] * 1000 for v in values], 50), 2),
            "cpu_ms_mean": rounded(statistics.mean(v[2] * 1000 for v in values), 2),
        }
        for key in ("statements", "SELECT", "INSERT", "UPDATE", "SAVEPOINT", "commits", "write commits"):
            table[name][key] = rounded(statistics.mean(v[1].get(key, 0) for v in values), 1)
    return {
        "steps": table,
        "store_burst_of_50": bursts,
        "langid_decide_p50_ms": rounded(pct(language_ms, 50), 3),
        "langid_decide_max_ms": rounded(max(language_ms), 3),
        "sqlite_commit": commit_ms,
    }
