"""Statistics over weeks retention deleted from: the figures are read from the weekly counts it kept
(gateway/retention.py, ``weekly_counts``) and added to the rows still there, each week once, and
small cells are suppressed after that. Shown: the same figures before a retention run and after it,
on SQLite and on PostgreSQL."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

from sqlalchemy import create_engine, func, insert, select

from bench.stats_load import EVENTS
from gateway.db import session_scope
from gateway.erasure import app_url, tracker_store
from gateway.inbox import stats
from gateway.inbox.security import User
from gateway.models import Handoff, Hub, Message, Resident
from gateway.retention import ARCHIVED, Periods, archived, run

pytest_plugins = ["tests.gateway.inbox.stats_databases"]  # the ``database`` fixture

NOW = datetime(2026, 12, 10, 12, 0, tzinfo=timezone.utc)  # a Thursday; retention's cut-off is a Friday
ADMIN = User(0, "Admin", "admin@hub.example", "admin", None, None, "t" * 43)


def days_ago(days: float) -> datetime:
    return NOW - timedelta(days=days)


class History:
    """Residents' questions, the bot's understanding of them (tracker events) and handoffs."""

    def __init__(self, settings) -> None:
        self.tracker = create_engine(app_url(settings.tracker_store_sqlalchemy_url))
        self.n = 0

    def resident(self, session, language: str = "sv") -> Resident:
        self.n += 1
        found = Resident(channel="sms", address=f"+4670300{self.n:04d}", language=language, last_seen_at=NOW)
        session.add(found)
        session.flush()
        return found

    def asks(self, session, who: Resident, days: float, language: str = "sv", intent: str | None = None) -> None:
        session.add(
            Message(
                resident_id=who.id,
                direction="in",
                channel="sms",
                sender="resident",
                body="en fråga",
                status="answered",
                language=language,
                created_at=days_ago(days),
            )
        )
        if intent:
            event = {"event": "user", "text": "en fråga", "metadata": {"language": language}}
            with self.tracker.begin() as conn:
                conn.execute(
                    insert(EVENTS),
                    [
                        {
                            "sender_id": who.pseudonym,
                            "type_name": "user",
                            "timestamp": days_ago(days).timestamp(),
                            "intent_name": intent,
                            "data": json.dumps(event),
                        }
                    ],
                )

    def hands_over(self, session, who: Resident, hub: str, days: float, reply: float | None = None, **fields):
        hub_id = session.scalar(select(Hub.id).where(Hub.slug == hub))
        created = days_ago(days)
        first_reply = created + timedelta(minutes=reply) if reply is not None else None
        values = {"topic": "job_search", "status": "open", **fields}
        session.add(
            Handoff(
                resident_id=who.id,
                hub_id=hub_id,
                channel="sms",
                language=who.language,
                created_at=created,
                first_reply_at=first_reply,
                **values,
            )
        )


def test_the_figures_are_the_same_after_retention_moved_weeks_to_the_weekly_counts(database):
    history = History(database)
    with session_scope() as session:
        # 100 days ago (a week retention archives, whose closed handoffs stay a year): six residents
        # handed to Hjällbo, answered in 10 minutes, closed; and one writing Tigrinya, whose handoff
        # is still open, so their messages stay too: rows left in an archived week.
        former = []
        for _ in range(6):
            who = history.resident(session)
            former.append(who)
            history.asks(session, who, 100, intent="job_search")
            history.hands_over(
                session, who, "hjallbo", 100, reply=10, status="closed", outcome="work", closed_at=days_ago(99)
            )
        waiting = history.resident(session, "ti")
        history.asks(session, waiting, 100, "ti", intent="learn_swedish")
        history.hands_over(session, waiting, "hjallbo", 100, topic="learn_swedish")
        # One resident asking in Persian once a week for five weeks: one resident, not five.
        persian = history.resident(session, "fa")
        for week in range(5):
            history.asks(session, persian, 98 + 7 * week, "fa")
        # The week of retention's cut-off (90 days): rows on both sides of it, the week archived whole.
        for days in (91, 91, 91, 89, 89, 89):
            history.asks(session, history.resident(session), days, intent="cv_help")
        # Yesterday: six waiting in Bergsjön, and two of those from 100 days ago back with a question.
        for who in [history.resident(session) for _ in range(6)]:
            history.asks(session, who, 1, intent="job_search")
            history.hands_over(session, who, "bergsjon", 1)
        for who in former[:2]:
            history.asks(session, who, 1)
        hjallbo = session.scalar(select(Hub.id).where(Hub.slug == "hjallbo"))
    coordinator = User(7, "Ana", "ana@hub.example", "coordinator", hjallbo, "Hjällbo", "t" * 43)

    archived_weeks = {}

    def figures(user: User) -> tuple[dict, dict]:
        with session_scope() as session:
            exact = stats.compute(session, user, weeks=20, now=NOW)
        archived_weeks[user.name] = exact["period"].pop("archived_weeks")
        return {key: value for key, value in exact.items() if key != "_tallies"}, stats.suppress(exact)

    before = {user.name: figures(user) for user in (ADMIN, coordinator)}
    assert archived_weeks == {"Admin": [], "Ana": []}
    with session_scope() as session:
        messages = session.scalar(select(func.count()).select_from(Message))
        run(session, Periods(), tracker_store(), NOW)
    with session_scope() as session:  # data are gone, and their weeks are counted
        assert session.scalar(select(func.count()).select_from(Message)) < messages
        weeks = before["Admin"][0]["period"]["weeks"]
        assert {stats.iso_week(days_ago(100)), stats.iso_week(days_ago(89))} <= {
            week for week, *_ in archived(session, weeks)[ARCHIVED]
        }
    after = {user.name: figures(user) for user in (ADMIN, coordinator)}
    assert stats.iso_week(days_ago(100)) in archived_weeks["Admin"] and archived_weeks["Ana"] == archived_weeks["Admin"]

    assert after == before
    exact, shown = after["Admin"]
    assert exact["questions"]["total"] == 26 and exact["handoffs"]["total"] == 13  # no week counted twice
    assert shown["handoffs"]["total"] == 13 and shown["first_reply"]["median_minutes"] == 10.0
    persian_questions = {bar["key"]: bar["count"] for bar in shown["questions"]["by_language"]}["fa"]
    assert persian_questions is None  # five questions, one resident: still too few after the weeks went
