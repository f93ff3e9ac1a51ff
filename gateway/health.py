"""Liveness and readiness, for the load balancer (and any orchestrator).

- ``/healthz``: the process answers (its event loop runs). Nothing else: restarting a replica
  because the database is down would not bring the database back.
- ``/readyz``: whether this replica should be sent traffic. Not ready (503) while it starts or
  stops, when it cannot reach the database, or when the database is not at this code's migration
  head: a resident's message must be stored before it is acknowledged, so a replica that cannot
  store (or would store into a schema it was not written for) should get no webhooks, and the load
  balancer sends them to one that can.

  The bot (Rasa and the action server) is reported but does not make a replica not ready: every
  message is stored before it is acknowledged, the resident is told once that the answer is
  delayed, and ``Conversations.retry_unanswered`` (every 10 s, gateway/services.py) hands the
  stored messages to the bot once it answers again. All replicas share one Rasa, so a Rasa outage
  would take every replica out of the load balancer at once, and Twilio's webhooks would then be
  refused and lost instead of kept and answered late.

``/health`` (gateway/app.py) stays as `make run` and the tests know it.
"""

from __future__ import annotations

import asyncio
import functools
import logging

from alembic.script import ScriptDirectory
from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from sqlalchemy import Engine, text
from sqlalchemy.exc import SQLAlchemyError

from gateway import db

log = logging.getLogger("hubguide.health")

router = APIRouter(tags=["ops"])

CHECK_SECONDS = 3.0  # a check slower than this counts as failed: the load balancer probes every few seconds


@functools.lru_cache(maxsize=1)
def migration_heads() -> frozenset[str]:
    """This code's migration head(s), read once from gateway/migrations."""
    return frozenset(ScriptDirectory.from_config(db.alembic_config("sqlite://")).get_heads())


def check_database(engine: Engine) -> dict[str, str]:
    """``database``: "ok" or "unreachable"; ``migrations``: "at head", or "not at head" (behind
    this code, or ahead of it: a newer release migrated the database)."""
    try:
        with engine.connect() as connection:
            connection.execute(text("SELECT 1"))
            # The table alembic keeps, read directly: its MigrationContext logs two lines at each probe.
            try:
                current = frozenset(connection.scalars(text("SELECT version_num FROM alembic_version")))
            except SQLAlchemyError:  # no such table: never migrated
                current = frozenset()
    except SQLAlchemyError as exc:
        log.warning("readiness: the database is unreachable (%s)", type(exc).__name__)
        return {"database": "unreachable", "migrations": "unknown"}
    return {"database": "ok", "migrations": "at head" if current == migration_heads() else "not at head"}


@router.get("/healthz")
async def healthz() -> dict:
    return {"status": "ok"}


@router.get("/readyz")
async def readyz(request: Request) -> JSONResponse:
    state = request.app.state
    checks: dict[str, str] = {"serving": "yes" if getattr(state, "serving", False) else "no"}
    # Both checks at once, each bounded by CHECK_SECONDS, so the answer comes within the load
    # balancer's check timeout (stack/haproxy.cfg) even when the database and Rasa are both slow:
    # one after the other they took up to twice as long, and every replica, sharing one Rasa, would
    # have failed its checks together.
    database, bot = await asyncio.gather(_database(), _bot(getattr(state, "rasa", None)))
    checks |= database
    ready = checks["serving"] == "yes" and checks["database"] == "ok" and checks["migrations"] == "at head"
    body = {"status": "ready" if ready else "not ready", **checks, "bot": "ready" if bot else "unavailable"}
    return JSONResponse(body, status_code=200 if ready else 503)


async def _database() -> dict[str, str]:
    try:  # its own thread, not the database queue's: readiness is about reaching the database
        return await asyncio.wait_for(asyncio.to_thread(check_database, db.engine()), CHECK_SECONDS)
    except asyncio.TimeoutError:
        return {"database": "too slow", "migrations": "unknown"}


async def _bot(rasa) -> bool:
    try:
        return rasa is not None and await asyncio.wait_for(rasa.ready(), CHECK_SECONDS)
    except asyncio.TimeoutError:
        return False
