"""Retention: each kind of personal data is kept for its period (settings ``RETENTION_*_DAYS``,
README "Personal data: retention and erasure") and deleted after it, by ``run``: once when the
gateway starts and then daily (``Retention.daily``, a task of ``Services.running``).

- messages to and from residents, with their delivery records: from when written, but all of a
  resident's while a handoff of theirs is open (the coordinator reads the conversation);
  coordinators' alerts likewise;
- Rasa's tracker events (what the bot understood, the masked text it was given): from when written;
- a handoff's summary and area (the resident's own words): from the handoff's close;
- closed handoffs (hub, topic, language, times, outcome): from their close;
- delivery records (Twilio's message id and error text on a message): from when written;
- audit lines, and the weekly statistics below: by their age;
- a resident row (the phone number) once nothing of theirs is left; an opt-out stays as a digest
  (``gateway.erasure.keep_opt_out``).

Statistics outlive the data: before a run may delete from a week, ``archive`` counts the inbox's
figures for it (``gateway.inbox.stats.compute``) into ``weekly_counts``: counts and how many
residents each is about, no ids, numbers or words; the statistics add them up for the weeks whose
data are gone (gateway.inbox.stats_counts), and ``archived`` reads them back. Each run that deletes
anything writes one audit line (action ``retention``, its count); every run logs what it did.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, fields
from datetime import datetime, timedelta

from sqlalchemy import delete, exists, func, or_, select, update
from sqlalchemy.orm import Session

from gateway import db
from gateway.erasure import TrackerStore, affected, keep_opt_out, tracker_store
from gateway.models import Audit, Handoff, Message, Resident, WeeklyCount, utcnow
from gateway.settings import Settings

log = logging.getLogger("hubguide.retention")

RETENTION = "retention"  # the audit action of a run
DAY = 24 * 3600.0
ARCHIVED = "archived"  # the weekly_counts figure marking a week as counted
# gateway.inbox.stats' cells (its ``_tallies`` figures) -> our figure and the names of a key's parts.
CELLS = {
    "handoffs.cells": ("handoffs", ("week", "hub", "topic", "language")),
    "outcomes.cells": ("outcomes", ("week", "hub", "outcome")),
    "questions.cells": ("questions", ("week", "language")),
    "questions.topic_cells": ("question_topics", ("week", "topic", "language")),
    "waits.cells": ("first_reply", ("week", "hub")),
}


@dataclass(frozen=True)
class Periods:
    """Days each kind is kept (the settings ``retention_<kind>_days``)."""

    messages: int = 90
    tracker: int = 90
    summaries: int = 90
    handoffs: int = 365
    delivery: int = 30
    audit: int = 730
    statistics: int = 1825

    @classmethod
    def from_settings(cls, settings: Settings) -> Periods:
        return cls(**{f.name: getattr(settings, f"retention_{f.name}_days") for f in fields(cls)})

    @property
    def raw(self) -> int:
        """The shortest period of the data the statistics are counted from."""
        return min(self.messages, self.tracker, self.handoffs)


def run(session: Session, periods: Periods, tracker: TrackerStore | None, now: datetime | None = None) -> dict:
    """One run, as of ``now``: archive the statistics, then delete what is older than its period.
    Returns how many of each were deleted (or cleared)."""
    now = now or utcnow()

    def before(days: int) -> datetime:
        return now - timedelta(days=days)

    if tracker is not None:
        tracker.present()  # unreachable: nothing is deleted, as the weeks' topics could not be counted first
    weeks = archive(session, before(periods.raw), before(periods.statistics))
    open_residents = select(Handoff.resident_id).where(Handoff.status != "closed")
    closed_before = (Handoff.status == "closed") & (Handoff.closed_at < before(periods.summaries))
    counts = {
        "messages": affected(
            session,
            delete(Message).where(
                Message.created_at < before(periods.messages),
                or_(Message.resident_id.is_(None), Message.resident_id.not_in(open_residents)),
            ),
        ),
        "delivery_records": affected(
            session,
            update(Message)
            .where(
                Message.created_at < before(periods.delivery),
                or_(Message.provider_id.is_not(None), Message.error.is_not(None)),
            )
            .values(provider_id=None, error=None),
        ),
        "handoffs": affected(
            session, delete(Handoff).where(Handoff.status == "closed", Handoff.closed_at < before(periods.handoffs))
        ),
        "summaries": affected(
            session,
            update(Handoff)
            .where(closed_before, or_(Handoff.summary.is_not(None), Handoff.area.is_not(None)))
            .values(summary=None, area=None),
        ),
        "residents": _forget_residents(session, before(periods.messages)),
        "tracker_events": tracker.delete_before(before(periods.tracker)) if tracker is not None else 0,
        "audit": affected(session, delete(Audit).where(Audit.at < before(periods.audit))),
        "statistics": affected(
            session, delete(WeeklyCount).where(WeeklyCount.week < _week(before(periods.statistics)))
        ),
    }
    if any(counts.values()):
        session.add(Audit(action=RETENTION, at=now, count=sum(counts.values())))
    log.info(
        "retention run: %s; %d week(s) of statistics archived",
        ", ".join(f"{kind} {count}" for kind, count in counts.items()),
        weeks,
    )
    return counts


def _forget_residents(session: Session, before: datetime) -> int:
    """Residents with nothing left (no message, no handoff): their number goes, an opt-out stays."""
    stale = session.scalars(
        select(Resident).where(
            Resident.last_seen_at < before,
            ~exists().where(Message.resident_id == Resident.id),
            ~exists().where(Handoff.resident_id == Resident.id),
        )
    ).all()
    for resident in stale:
        keep_opt_out(session, resident)
    return affected(session, delete(Resident).where(Resident.id.in_([r.id for r in stale]))) if stale else 0


# --- statistics that outlive the data --------------------------------------------------------------


def _week(moment: datetime) -> str:
    from gateway.inbox.stats import iso_week

    return iso_week(moment)


def _monday(moment: datetime) -> datetime:
    """Noon on the Monday of ``moment``'s week (Swedish time, as the statistics count)."""
    from gateway.inbox.stats import TZ

    local = moment.astimezone(TZ)
    return (local - timedelta(days=local.weekday())).replace(hour=12, minute=0, second=0, microsecond=0)


def archive(session: Session, before: datetime, oldest: datetime) -> int:
    """Count each week that began before ``before`` (the first a run may delete from) and is not
    counted yet, from the first with data (none before ``oldest``). Returns how many weeks."""
    from gateway.inbox import stats
    from gateway.inbox.security import User

    last_done = session.scalar(select(func.max(WeeklyCount.week)).where(WeeklyCount.figure == ARCHIVED))
    data_from = min(
        (
            moment
            for moment in (
                session.scalar(select(func.min(Message.created_at))),
                session.scalar(select(func.min(Handoff.created_at))),
            )
            if moment
        ),
        default=None,
    )
    if data_from is None:
        return 0
    first = _monday(max(stats.aware(data_from), oldest))
    while last_done is not None and _week(first) <= last_done:
        first += timedelta(weeks=1)
    last = _monday(before)
    weeks = 0
    while first <= last:
        span = min(stats.MAX_WEEKS, (last - first).days // 7 + 1)
        end = first + timedelta(weeks=span - 1)
        labels = {_week(first + timedelta(weeks=k)) for k in range(span)}
        everyone = User(0, "retention", "", "admin", None, None, "")  # compute's figures for all hubs
        figures = stats.compute(session, everyone, weeks=span, now=end)
        session.add_all(_rows(figures, labels) + [WeeklyCount(week=label, figure=ARCHIVED) for label in labels])
        weeks += span
        first = end + timedelta(weeks=1)
    return weeks


def _rows(figures: dict, weeks: set[str]) -> list[WeeklyCount]:
    medians = figures["_cells"]["waits"]
    rows = []
    for name, (figure, parts) in CELLS.items():
        for key, tally in figures["_tallies"].get(name, {}).items():
            if key[0] in weeks:
                row = dict(zip(parts, ("" if part is None else part for part in key), strict=True))
                rows.append(
                    WeeklyCount(
                        figure=figure,
                        count=tally.count,
                        residents=tally.residents,
                        minutes=medians.get(key) if figure == "first_reply" else None,
                        **row,
                    )
                )
    return rows


def archived(session: Session, weeks: list[str], hub: str | None = None) -> dict[str, dict[tuple, WeeklyCount]]:
    """The archived cells of ``weeks`` (those counted: ``ARCHIVED`` in the result's keys), by figure,
    keyed as ``gateway.inbox.stats`` keys its cells ("" as None); ``hub`` (a slug): only its handoff
    figures, as a coordinator sees them."""
    found: dict[str, dict[tuple, WeeklyCount]] = {figure: {} for figure, _ in CELLS.values()}
    found[ARCHIVED] = {}
    for row in session.scalars(select(WeeklyCount).where(WeeklyCount.week.in_(weeks))):
        if hub is not None and row.hub not in ("", hub):
            continue
        parts = dict(CELLS.values()).get(row.figure, ("week",))
        found[row.figure][tuple(getattr(row, part) or None for part in parts)] = row
    return found


class Retention:
    """The job: ``daily`` runs ``run`` at once and then every day; ``ran`` is set after each run."""

    def __init__(self, settings: Settings) -> None:
        self.periods = Periods.from_settings(settings)
        self.tracker = tracker_store(settings.tracker_store_sqlalchemy_url)
        self.ran = asyncio.Event()

    async def run_once(self, now: datetime | None = None) -> dict:
        return await db.in_session(run, self.periods, self.tracker, now)

    async def daily(self) -> None:
        while True:
            try:
                await self.run_once()
            except Exception:  # the tracker store unreachable, say: tomorrow's run catches up
                log.exception("the retention run failed; the next one is in a day")
            self.ran.set()
            await asyncio.sleep(DAY)
