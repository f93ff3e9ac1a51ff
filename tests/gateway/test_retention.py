"""Retention (gateway/retention.py): each kind of data goes after its period, Rasa's tracker
events included; each week's statistics are kept, as counts, before anything of it goes; a run
is audited. The clock is passed in: ``NOW`` is a fixed moment and the data are made around it."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta, timezone

import pytest
from pydantic import ValidationError
from sqlalchemy import select

from common.paths import ROOT
from gateway.db import session_scope
from gateway.erasure import digest, tracker_store
from gateway.handoff import HandoffRequest
from gateway.handoff import create as create_handoff
from gateway.inbox import stats
from gateway.inbox.security import User
from gateway.models import Audit, Handoff, Message, OptOut, Resident, WeeklyCount, utcnow
from gateway.retention import ARCHIVED, RETENTION, Periods, archived, run
from gateway.services import _stop, build
from gateway.settings import Settings
from tests.conftest import CannedRasa, running
from tests.gateway.test_erasure import make_tracker, record_event, tracker_rows

NOW = datetime(2026, 12, 10, 12, 0, tzinfo=timezone.utc)
ADMIN = User(0, "Admin", "admin@hub.example", "admin", None, None, "")


def days_ago(days: float) -> datetime:
    return NOW - timedelta(days=days)


def resident(session, address: str, seen_days_ago: float, **fields) -> Resident:
    found = Resident(
        channel="sms",
        address=address,
        language="sv",
        created_at=days_ago(seen_days_ago),
        last_seen_at=days_ago(seen_days_ago),
        **fields,
    )
    session.add(found)
    session.flush()
    return found


def say(session, who: Resident, body: str, age_days: float, **fields) -> Message:
    message = Message(
        **{
            "resident_id": who.id,
            "direction": "in",
            "channel": "sms",
            "sender": "resident",
            "body": body,
            "status": "answered",
            "language": "sv",
            "created_at": days_ago(age_days),
            **fields,
        }
    )
    session.add(message)
    session.flush()
    return message


def hand_over(session, who: Resident, age_days: float, closed_days_ago: float | None = None) -> Handoff:
    handoff = create_handoff(session, who, HandoffRequest("hjallbo", "sv", "job_search", "Hjällbo"))
    handoff.created_at = days_ago(age_days)
    if closed_days_ago is not None:
        handoff.status, handoff.outcome, handoff.closed_at = "closed", "work", days_ago(closed_days_ago)
    handoff.summary = f"what {who.address} said"
    return handoff


@pytest.fixture
def tracker(settings):
    return make_tracker(settings)


def run_now(periods: Periods | None = None) -> dict:
    with session_scope() as session:
        return run(session, periods or Periods(), tracker_store(), NOW)


def bodies() -> set[str]:
    with session_scope() as session:
        return set(session.scalars(select(Message.body)))


def test_each_kind_goes_after_its_own_period(settings, tracker):
    _sync_hubs()
    with session_scope() as session:
        old, recent = resident(session, "+46700000001", 100), resident(session, "+46700000002", 1)
        say(session, old, "old question", 100)
        say(session, recent, "last season's question", 95)
        say(session, recent, "today's question", 1)
        waiting = resident(session, "+46700000003", 100)
        say(session, waiting, "asked long ago, still with a coordinator", 120)
        hand_over(session, waiting, 120)  # open: the conversation stays
        for number, closed in (("+46700000004", 100), ("+46700000005", 400), ("+46700000006", 10)):
            hand_over(session, resident(session, number, closed + 1), closed + 1, closed_days_ago=closed)
        delivered = say(session, recent, "delivered a while ago", 40, provider_id="SM1", error="21614")
        session.add_all(
            [
                Audit(action="read_conversation", at=days_ago(800)),
                Audit(action="read", at=days_ago(10)),
                WeeklyCount(week=stats.iso_week(days_ago(2000)), figure="questions", count=9, residents=9),
                WeeklyCount(week=stats.iso_week(days_ago(1000)), figure="questions", count=8, residents=8),
            ]
        )
        delivered_id = delivered.id
    record_event(tracker, "someone", "user", {"text": "old words"}, at=days_ago(91).timestamp())
    record_event(tracker, "someone", "user", {"text": "new words"}, at=days_ago(89).timestamp())

    counts = run_now()

    assert bodies() == {"today's question", "delivered a while ago", "asked long ago, still with a coordinator"}
    with session_scope() as session:
        handoffs = {h.resident.address: h for h in session.scalars(select(Handoff))}
        assert set(handoffs) == {"+46700000003", "+46700000004", "+46700000006"}  # closed 400 days ago: gone
        assert handoffs["+46700000004"].summary is None and handoffs["+46700000004"].area is None  # 100 > 90
        assert handoffs["+46700000006"].summary and handoffs["+46700000003"].summary  # recent, and open
        kept = session.get(Message, delivered_id)
        assert kept.provider_id is None and kept.error is None and kept.status == "answered"
        # The number goes with the last of its data: old's and the 400-day handoff's residents.
        assert {r.address for r in session.scalars(select(Resident))} == {
            "+46700000002",
            "+46700000003",
            "+46700000004",
            "+46700000006",
        }
        assert [a.action for a in session.scalars(select(Audit).order_by(Audit.id))] == ["read", RETENTION]
        assert session.scalars(select(Audit.count).where(Audit.action == RETENTION)).one() == sum(counts.values())
        kept_weeks = set(session.scalars(select(WeeklyCount.week).where(WeeklyCount.count > 7)))
        assert kept_weeks == {stats.iso_week(days_ago(1000))}  # the one 2000 days old is gone
    [event] = tracker_rows(tracker)
    assert "new words" in event[-1]
    assert counts == {
        "messages": 2,
        "delivery_records": 1,
        "handoffs": 1,
        "summaries": 1,
        "residents": 2,
        "tracker_events": 1,
        "audit": 1,
        "statistics": 1,
    }


def _sync_hubs():
    from gateway import store

    with session_scope() as session:
        store.sync_hubs(session)


def test_a_run_with_nothing_to_delete_leaves_the_audit_trail_alone(settings, tracker):
    assert set(run_now().values()) == {0}
    with session_scope() as session:
        assert session.query(Audit).count() == 0


def test_an_opted_out_number_is_forgotten_but_its_opt_out_is_kept(settings, tracker):
    with session_scope() as session:
        gone = resident(session, "+46700000009", 100, opted_out=True, opted_out_at=days_ago(100))
        say(session, gone, "STOPP", 100)
    run_now()
    with session_scope() as session:
        assert session.query(Resident).count() == 0
        assert session.scalars(select(OptOut.digest)).one() == digest("+46700000009")


def test_longer_periods_keep_more(settings, tracker):
    with session_scope() as session:
        say(session, resident(session, "+46700000001", 100), "old question", 100)
    run_now(Periods(messages=120))
    assert bodies() == {"old question"}
    run_now(Periods(messages=99))
    assert bodies() == set()


def test_nothing_is_deleted_while_the_tracker_store_cannot_be_read(settings, tracker, monkeypatch):
    with session_scope() as session:
        say(session, resident(session, "+46700000001", 100), "old question", 100)
    monkeypatch.setattr(type(tracker_store()), "present", lambda self: (_ for _ in ()).throw(OSError("down")))
    with pytest.raises(OSError):
        run_now()
    assert bodies() == {"old question"}  # tomorrow's run deletes it, after counting its week


# --- statistics that outlive the data -------------------------------------------------------------


def test_each_weeks_figures_are_kept_before_its_data_go(settings, tracker):
    _sync_hubs()
    week_ago_100 = days_ago(100)
    with session_scope() as session:
        for n in range(6):
            who = resident(session, f"+4670000001{n}", 100)
            say(session, who, f"question {n}", 100, language="ar" if n % 2 else "sv")
            handoff = hand_over(session, who, 100, closed_days_ago=99)
            handoff.first_reply_at = handoff.created_at + timedelta(minutes=10 + n)
            record_event(
                tracker,
                who.pseudonym,
                "user",
                {"text": "x", "metadata": {"language": "sv"}},
                at=week_ago_100.timestamp(),
                intent="job_search",
            )
    with session_scope() as session:  # the figures as the inbox shows them while the data are there
        before = stats.compute(session, ADMIN, weeks=20, now=NOW)
    week = stats.iso_week(week_ago_100)

    run_now()

    assert bodies() == set() and tracker_rows(tracker) == []
    with session_scope() as session:
        kept = archived(session, [week])
        assert week in {key[0] for key in kept[ARCHIVED]}
        for name, figure in (
            ("handoffs", "handoffs"),
            ("questions", "questions"),
            ("question_topics", "question_topics"),
            ("outcomes", "outcomes"),
        ):
            exact = {key: count for key, count in before["_cells"][name].items() if key[0] == week}
            assert exact and {key: row.count for key, row in kept[figure].items()} == exact, name
        assert {key: row.minutes for key, row in kept["first_reply"].items()} == {
            key: minutes for key, minutes in before["_cells"]["waits"].items() if key[0] == week
        }
        assert {row.residents for row in kept["handoffs"].values()} == {6}
        text = " ".join(
            f"{row.hub} {row.topic} {row.language} {row.outcome}" for row in session.scalars(select(WeeklyCount))
        )
        assert "+4670" not in text and "question" not in text  # counts and codes only
        assert set(archived(session, [week], hub="bergsjon")["handoffs"]) == set()  # another hub's coordinator
    with session_scope() as session:
        after = stats.compute(session, ADMIN, weeks=20, now=NOW)["_cells"]["questions"]
        assert after == before["_cells"]["questions"]  # the raw rows are gone; the figures read weekly_counts
    with session_scope() as session:
        counted = session.query(WeeklyCount).count()
    run_now()  # a week is counted once (twice, its rows would break their unique constraint)
    with session_scope() as session:
        assert session.query(WeeklyCount).count() == counted


def test_weeks_still_within_every_period_are_not_archived_yet(settings, tracker):
    with session_scope() as session:
        say(session, resident(session, "+46700000001", 30), "recent question", 30)
    run_now()
    with session_scope() as session:
        assert session.query(WeeklyCount).count() == 0


# --- settings and the job -------------------------------------------------------------------------


def test_the_defaults_are_the_documented_ones_and_too_short_periods_are_refused():
    documented = Periods(messages=90, tracker=90, summaries=90, handoffs=365, delivery=30, audit=730, statistics=1825)
    assert Periods.from_settings(Settings(_env_file=None, app_env="test")) == documented
    example = Settings(_env_file=ROOT / ".env.example", app_env="test")
    assert Periods.from_settings(example) == documented and example.controller_name == example.controller_contact == ""
    for name in ("messages", "tracker", "handoffs"):  # shorter than a week: deleted before its week is counted
        with pytest.raises(ValidationError):
            Settings(_env_file=None, app_env="test", **{f"retention_{name}_days": 6})


def test_the_gateway_runs_the_job_at_start(settings, tracker):
    with session_scope() as session:  # 400 days before the real clock, which the running job reads
        who = Resident(channel="sms", address="+46700000001", last_seen_at=utcnow() - timedelta(days=400))
        session.add(
            Message(
                resident=who,
                direction="in",
                channel="sms",
                sender="resident",
                status="answered",
                body="a question from last year",
                created_at=utcnow() - timedelta(days=400),
            )
        )
    services = build(settings, rasa=CannedRasa())
    with running(settings, services) as gateway:
        gateway.portal.call(services.retention.ran.wait)
    assert bodies() == set()
    with session_scope() as session:
        assert session.scalars(select(Audit.action)).all() == [RETENTION]


def test_stopping_the_gateways_tasks_survives_a_dropped_cancellation():
    """Python 3.10's asyncio.wait_for (the outbox's loop) can drop a cancellation; shutting down
    (gateway.services._stop) cancels again rather than wait for ever."""

    async def stubborn(dropped: list) -> None:
        while True:
            try:
                await asyncio.sleep(3600)
            except asyncio.CancelledError:
                if dropped:
                    raise
                dropped.append(True)  # as wait_for does when what it waited for is done at that moment

    async def main() -> list:
        dropped: list = []
        task = asyncio.create_task(stubborn(dropped))
        await asyncio.sleep(0)
        await asyncio.wait_for(_stop(task), timeout=10)
        return dropped

    assert asyncio.run(main()) == [True]
