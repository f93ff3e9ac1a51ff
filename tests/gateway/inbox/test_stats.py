"""Statistics for reporting: the right counts, and no personal data at all."""

from __future__ import annotations

import asyncio
import csv
import io
import json
import subprocess
from datetime import timedelta

import pytest

from common.paths import ROOT
from gateway.db import session_scope
from gateway.inbox import stats
from gateway.inbox.security import User
from gateway.models import Handoff, Message, Resident, WeeklyCount, utcnow
from gateway.retention import ARCHIVED
from tests.gateway.inbox.conftest import Browser, add_coordinator, add_handoff

PERSONAL = [
    "+46701110001",
    "+46701110002",
    "+46701110003",
    "701110001",
    "web-session-0123456789abcdef",
    "jag vill ha jobb i Hjällbo",
    "أريد عملا من فضلك",
    "shaqo ayaan rabaa",
    "hemlig anteckning",
    "ana@hjallbo.example",
    "Ana Coordinator",
    "Bergsjön centrum 4",
]
ADMIN = User(0, "Admin", "admin@hub.example", "admin", None, None, "t" * 43)


@pytest.fixture
def history(gateway):
    """Four handoffs over two weeks in two hubs, with replies, outcomes and questions."""
    add_coordinator("ana@hjallbo.example", hub="hjallbo", name="Ana Coordinator")
    now = utcnow()
    plan = [  # hub, address, language, topic, said, days ago, minutes to first reply, outcome
        ("hjallbo", "+46701110001", "sv", "job_search", "jag vill ha jobb i Hjällbo", 0, 10, None),
        ("hjallbo", "+46701110002", "ar", "start_business", "أريد عملا من فضلك", 0, 30, "business"),
        ("bergsjon", "+46701110003", "so", "job_search", "shaqo ayaan rabaa", 7, 20, "work"),
        ("bergsjon", "web-session-0123456789abcdef", "en", "learn_swedish", "Bergsjön centrum 4", 7, None, None),
    ]
    for hub, address, language, topic, said, days, minutes, outcome in plan:
        handoff_id = add_handoff(
            hub=hub,
            address=address,
            channel="web" if address.startswith("web") else "sms",
            language=language,
            topic=topic,
            said=(said,),
            area=said,
            note="hemlig anteckning",
        )
        with session_scope() as session:
            handoff = session.get(Handoff, handoff_id)
            created = now - timedelta(days=days, hours=1)
            handoff.created_at = created
            if minutes is not None:
                handoff.first_reply_at = created + timedelta(minutes=minutes)
            if outcome:
                handoff.status, handoff.outcome, handoff.closed_at = "closed", outcome, now
            for message in session.query(Message).filter(Message.resident_id == handoff.resident_id):
                message.created_at = created
    with session_scope() as session:  # what is not a question: a keyword and a button press
        resident = session.query(Resident).filter(Resident.address == "+46701110001").one()
        session.add(
            Message(
                resident_id=resident.id,
                direction="in",
                channel="sms",
                sender="resident",
                body="STOPP",
                status="keyword",
                language="sv",
            )
        )
        session.add(
            Message(
                resident_id=resident.id,
                direction="in",
                channel="sms",
                sender="resident",
                body="/affirm",
                status="answered",
                language="sv",
            )
        )
    return now


def counts(bars: list[dict]) -> dict:
    return {bar["key"]: bar["count"] for bar in bars}


def test_handoffs_are_counted_per_hub_topic_language_and_week(history):
    with session_scope() as session:
        figures = stats.compute(session, ADMIN, weeks=4)
    this_week, last_week = stats.iso_week(history - timedelta(hours=1)), stats.iso_week(history - timedelta(days=7))
    assert figures["handoffs"]["total"] == 4
    assert counts(figures["handoffs"]["by_hub"]) == {"hjallbo": 2, "bergsjon": 2}
    assert counts(figures["handoffs"]["by_topic"]) == {"job_search": 2, "start_business": 1, "learn_swedish": 1}
    assert {b["label"]: b["count"] for b in figures["handoffs"]["by_language"]} == {
        "Swedish": 1,
        "Arabic": 1,
        "Somali": 1,
        "English": 1,
    }
    by_week = counts(figures["handoffs"]["by_week"])
    assert len(by_week) == 4 and by_week[this_week] + by_week[last_week] == 4


def test_questions_are_counted_per_language_and_week_without_keywords_or_buttons(history):
    with session_scope() as session:
        figures = stats.compute(session, ADMIN, weeks=4)
    assert figures["questions"]["total"] == 4
    assert counts(figures["questions"]["by_language"]) == {"sv": 1, "ar": 1, "so": 1, "en": 1}
    assert figures["questions"]["by_topic"] == []  # Rasa never ran here: no tracker store to read


# Rasa's own SQLTrackerStore writes the store, in the Rasa environment: the
# statistics read the table Rasa really makes, not one imitated here.
WRITE_TRACKER = """
import asyncio, sys
from rasa.core.tracker_store import SQLTrackerStore
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import UserUttered
from rasa.shared.core.trackers import DialogueStateTracker

store = SQLTrackerStore(Domain.empty(), dialect="sqlite", db=sys.argv[1])
tracker = DialogueStateTracker("a1b2c3", [])
for text, intent, language in [("jobb", "job_search", "sv"), ("cv", "cv_help", "sv"), ("sfi", "learn_swedish", "ar"),
                               ("hej", "greet", "sv"), ("shaqo", "job_search", "so")]:
    tracker.update(UserUttered(text, {"name": intent, "confidence": 0.9}, metadata={"language": language}))
asyncio.run(store.save(tracker))
"""


def test_questions_per_topic_come_from_rasas_tracker_store(history, settings):
    store = settings.data_dir / "rasa_tracker.db"
    subprocess.run(
        [str(ROOT / ".venv" / "rasa" / "bin" / "python"), "-c", WRITE_TRACKER, str(store)], check=True, timeout=300
    )
    with session_scope() as session:
        figures = stats.compute(session, ADMIN, weeks=4)
    assert counts(figures["questions"]["by_topic"]) == {"work": 3, "studies": 1}  # a greeting is not a question
    rows = list(csv.DictReader(io.StringIO(stats.to_csv(figures))))
    by_topic = {(r["topic"], r["language"]): int(r["value"]) for r in rows if r["metric"] == "questions_by_topic"}
    assert by_topic == {("work", "Swedish"): 2, ("work", "Somali"): 1, ("studies", "Arabic"): 1}


def test_median_time_to_first_reply_and_outcomes(history):
    with session_scope() as session:
        figures = stats.compute(session, ADMIN, weeks=4)
    assert figures["first_reply"]["median_minutes"] == 20.0
    assert (figures["first_reply"]["answered"], figures["first_reply"]["unanswered"]) == (3, 1)
    assert {h["key"]: h["median_minutes"] for h in figures["first_reply"]["by_hub"]} == {
        "hjallbo": 20.0,
        "bergsjon": 20.0,
    }
    assert counts(figures["outcomes"]["by_outcome"]) == {
        "work": 1,
        "studies": 0,
        "business": 1,
        "other_service": 0,
        "no_contact": 0,
    }
    assert figures["outcomes"]["still_open"] == 2


def test_the_period_is_limited_to_the_weeks_asked_for(history):
    this_week = stats.iso_week(history) == stats.iso_week(history - timedelta(hours=1))
    with session_scope() as session:
        figures = stats.compute(session, ADMIN, weeks=1)
    assert figures["handoffs"]["total"] == (2 if this_week else 0)  # the two of this week, not last week's
    assert figures["period"]["weeks"] == [stats.iso_week(history)]


def test_no_personal_data_in_the_stats_api_page_or_csv(history, gateway):
    add_coordinator("admin@hub.example", role="admin", hub=None)
    admin = Browser(gateway, "admin@hub.example")
    outputs = [
        admin.get("/api/stats?weeks=4").text,
        admin.get("/inbox/stats?weeks=4").text,
        admin.get("/inbox/stats.csv?weeks=4").text,
    ]
    outputs[0] = json.dumps(json.loads(outputs[0]), ensure_ascii=False)
    for output in outputs:
        for personal in PERSONAL:
            assert personal not in output, personal
    assert "Framtidshubben Hjällbo" in outputs[2]  # hub names are public


def test_the_csv_has_one_figure_per_row_with_fixed_columns(crowd, gateway):
    add_coordinator("admin@hub.example", role="admin", hub=None)
    admin = Browser(gateway, "admin@hub.example")
    response = admin.get("/inbox/stats.csv?weeks=4")
    assert response.headers["content-type"] == "text/csv; charset=utf-8"
    assert response.headers["content-disposition"].startswith('attachment; filename="hubguide-stats-')
    assert response.content.startswith("\ufeff".encode())
    rows = list(csv.DictReader(io.StringIO(response.content.decode("utf-8-sig"))))
    assert list(rows[0].keys()) == ["metric", "week", "hub", "topic", "language", "outcome", "value"]
    assert {r["metric"] for r in rows} == {"handoffs", "questions", "median_minutes_to_first_reply"}
    handoffs = {(r["hub"], r["topic"], r["language"]): r["value"] for r in rows if r["metric"] == "handoffs"}
    assert handoffs == {
        ("Framtidshubben Hjällbo", "job_search", "Swedish"): "6",
        ("Framtidshubben Hjällbo", "job_search", "English"): stats.SUPPRESSED,
        ("Framtidshubben Hjällbo", "job_search", "Tigrinya"): stats.SUPPRESSED,
    }
    overall = [r for r in rows if r["metric"] == "median_minutes_to_first_reply" and not r["week"]]
    assert overall and float(overall[0]["value"]) == 10.0


def test_the_stats_page_draws_bars_without_script(crowd, gateway):
    add_coordinator("admin@hub.example", role="admin", hub=None)
    page = Browser(gateway, "admin@hub.example").get("/inbox/stats?weeks=4").text
    assert page.count("<svg") >= 6 and 'class="bar"' in page and "style=" not in page
    assert "Median" in page and "10 min" in page


# --- small cells ----------------------------------------------------------------------------------


@pytest.fixture
def crowd(gateway):
    """Twelve residents handed to Hjällbo an hour ago: six write Swedish, five English, one Tigrinya;
    each asked once, the one in Tigrinya twelve times."""
    created = utcnow() - timedelta(hours=1)
    for i, language in enumerate(["sv"] * 6 + ["en"] * 5 + ["ti"]):
        handoff_id = add_handoff(
            address=f"+4670200{i:04d}", language=language, said=("en fråga",) * (12 if language == "ti" else 1)
        )
        with session_scope() as session:
            handoff = session.get(Handoff, handoff_id)
            handoff.created_at, handoff.first_reply_at = created, created + timedelta(minutes=10)
            for message in session.query(Message).filter(Message.resident_id == handoff.resident_id):
                message.created_at = created
    return created


def published(user: User, weeks: int = 4) -> dict:
    return asyncio.run(stats.gather(user, weeks))


def test_a_cell_of_fewer_than_five_residents_is_suppressed_and_so_is_what_would_give_it_away(crowd):
    figures = stats.public(published(ADMIN))
    by_language = {b["key"]: (b["count"], b["suppressed"]) for b in figures["handoffs"]["by_language"]}
    # Tigrinya is one resident; with English hidden too, 12 - 6 cannot tell the Tigrinya count.
    assert by_language == {"sv": (6, False), "en": (None, True), "ti": (None, True)}
    assert figures["handoffs"]["total"] == 12 and counts(figures["handoffs"]["by_hub"]) == {"hjallbo": 12}
    questions = {b["key"]: b["count"] for b in figures["questions"]["by_language"]}
    assert questions == {"sv": 6, "en": None, "ti": None}  # twelve questions, but from one resident
    assert figures["questions"]["total"] == 23
    assert {
        r["language"]: r["count"]
        for r in figures["questions"]["by_language_and_week"]
        if r["week"] == stats.iso_week(crowd)
    } == {"sv": 6, "en": None, "ti": None}
    assert figures["first_reply"]["median_minutes"] == 10.0
    assert "fewer than 5 residents" in figures["suppression"]["note"]


def test_a_small_hub_shows_no_figure_that_could_identify_a_resident(history):
    figures = stats.public(published(ADMIN))
    assert figures["handoffs"]["total"] is None  # four residents in all
    for bars in (
        figures["handoffs"]["by_hub"],
        figures["handoffs"]["by_language"],
        figures["questions"]["by_week"],
        figures["outcomes"]["by_outcome"],
    ):
        assert all(b["count"] in (None, 0) for b in bars)
    assert figures["first_reply"]["median_minutes"] is None and figures["first_reply"]["answered"] is None
    rows = list(csv.DictReader(io.StringIO(stats.to_csv(published(ADMIN)))))
    assert rows and {r["value"] for r in rows} == {stats.SUPPRESSED}


def test_the_api_suppresses_small_cells_too(crowd, gateway):
    add_coordinator("ana@hjallbo.example", hub="hjallbo")
    figures = Browser(gateway, "ana@hjallbo.example").get("/api/stats?weeks=4").json()
    assert {b["key"]: b["count"] for b in figures["handoffs"]["by_language"]} == {"sv": 6, "en": None, "ti": None}


@pytest.mark.parametrize("start", ["=", "+", "-", "@", "\t", "\r"])  # OWASP's CSV injection list
def test_a_spreadsheet_formula_cannot_hide_in_a_cell(start):
    assert stats._cell(start + "HYPERLINK(1)") == "'" + start + "HYPERLINK(1)"
    assert stats._cell("Hjällbo") == "Hjällbo" and stats._cell(12) == "12"


def test_statistics_do_not_hold_up_the_database_thread_residents_turns_use(settings, monkeypatch):
    """Review L3: a long statistics run (held here, in the middle of its queries, until the turn is
    done) leaves ``db.run`` free, and on SQLite the gateway's one connection too."""
    import threading

    from sqlalchemy import func, select

    from gateway import db

    release, computing = threading.Event(), threading.Event()

    def slow_compute(session, user, weeks, now=None):
        session.scalar(select(func.count()).select_from(Handoff))  # its connection in use from here
        computing.set()
        assert release.wait(10), "the resident's turn never got the database"
        return {"_tallies": {}}

    def a_turn() -> None:
        with session_scope() as session:
            session.add(Resident(channel="sms", address="+46701110009"))
        release.set()

    monkeypatch.setattr(stats, "compute", slow_compute)
    monkeypatch.setattr(stats, "suppress", lambda figures: {"figures": True})

    async def both():
        running = asyncio.ensure_future(stats.gather(ADMIN, 260))
        await asyncio.get_running_loop().run_in_executor(None, computing.wait, 10)
        await asyncio.wait_for(db.run(a_turn), 5)  # a resident's turn meanwhile, which writes
        return await running

    assert asyncio.run(both()) == {"figures": True}


def test_the_figures_are_kept_a_minute_per_scope_and_period(settings, monkeypatch):
    computed = []

    def compute(session, user, weeks):
        computed.append((user.hub_id, weeks))
        return {}

    monkeypatch.setattr(stats, "compute", compute)
    monkeypatch.setattr(stats, "suppress", lambda figures: {"n": len(computed)})
    clock = [1000.0]
    monkeypatch.setattr(stats, "monotonic", lambda: clock[0])
    hub = User(7, "Ana", "ana@hub.example", "coordinator", 3, "Hjällbo", "t" * 43)

    assert published(ADMIN, 260) == {"n": 1}
    assert published(ADMIN, 260) == {"n": 1}  # the same figures, not computed again
    assert published(hub, 260) == {"n": 2}  # another hub's scope
    assert published(ADMIN, 12) == {"n": 3}  # another period
    clock[0] += stats.CACHE_SECONDS + 1
    assert published(ADMIN, 260) == {"n": 4}  # a minute later: computed afresh
    assert computed == [(None, 260), (3, 260), (None, 12), (None, 260)]


def test_a_postgresql_tracker_store_is_read_with_this_environments_driver():
    """Rasa writes its URL for psycopg2, which only its environment has: the statistics must not
    silently lose every topic on PostgreSQL."""
    from gateway.inbox import stats_counts

    engine = stats_counts.tracker_engine("postgresql://hub:secret@127.0.0.1:1/tracker")
    assert engine.url.drivername == "postgresql+psycopg"


def test_the_page_and_the_api_count_the_weeks_retention_archived(gateway):
    """Retention deleted a week's data after counting it into weekly_counts: the figures still show it."""
    add_coordinator("admin@hub.example", role="admin", hub=None)
    week = stats.iso_week(utcnow() - timedelta(weeks=20))
    with session_scope() as session:
        session.add_all(
            [
                WeeklyCount(week=week, figure=ARCHIVED),
                WeeklyCount(
                    week=week, figure="handoffs", hub="hjallbo", topic="job_search", language="sv", count=7, residents=6
                ),
                WeeklyCount(week=week, figure="questions", language="sv", count=9, residents=8),
            ]
        )
    admin = Browser(gateway, "admin@hub.example")
    figures = admin.get("/api/stats?weeks=26").json()
    assert figures["handoffs"]["total"] == 7 and figures["questions"]["total"] == 9
    assert figures["period"]["archived_weeks"] == [week]
    assert "counted from the weekly figures kept" in admin.get("/inbox/stats?weeks=26").text
    assert "counted from the weekly figures kept" not in admin.get("/inbox/stats?weeks=4").text
