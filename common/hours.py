"""A hub's weekly hours and closed days, and when its coordinator can be expected to answer.

Hours are kept per weekday as intervals (the inbox form's "09:00-12:00, 13:00-16:00"); closed days
(holidays, a summer break) as date ranges. All times are local: Europe/Stockholm.

Hand-written rather than a library: opening-hours parsers (OpenStreetMap's ``opening_hours``
syntax, e.g. opening-hours-py) parse a whole grammar where the form has one list of intervals per
weekday, and the standard library's ``time``, ``date.fromisoformat`` and ``zoneinfo`` do the rest.
The words (weekday and month names per language) are Babel's: ``common.when``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

TZ = ZoneInfo("Europe/Stockholm")
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")  # date.weekday() order
DAY_NAMES = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")  # the inbox's
# An answer "today" is promised only while this much of an interval is left: at 15:55 with hours to
# 16:00 the resident is told the next opening instead.
MARGIN = timedelta(minutes=30)
# How far ahead the next opening is looked for; beyond it, the resident is told it is not known.
HORIZON_DAYS = 92

Interval = tuple[time, time]
ClosedRange = tuple[date, date]  # first and last closed day, inclusive

_TIME = re.compile(r"(\d{1,2})(?:[:.](\d{2}))?")
_DASH = re.compile(r"\s*[-\u2013\u2014]\s*")  # -, – and —: people type all three
_RANGE = re.compile(r"\s+(?:[-\u2013\u2014]|to|till)\s+|\s*[\u2013\u2014]\s*")


class FactError(ValueError):
    """A fact as typed that is not one (a time that is not a time...): the message says how to write it."""


@dataclass(frozen=True)
class Week:
    """The intervals of each weekday, Monday first; a day without intervals is closed."""

    days: tuple[tuple[Interval, ...], ...] = ((),) * 7

    @property
    def empty(self) -> bool:
        return not any(self.days)

    def to_json(self) -> dict[str, list[list[str]]]:
        """As the database keeps it: {"mon": [["09:00", "16:00"]], ...}, open days only."""
        return {
            key: [[clock(start, full=True), clock(end, full=True)] for start, end in day]
            for key, day in zip(WEEKDAYS, self.days, strict=True)
            if day
        }

    @classmethod
    def from_json(cls, data: dict | None) -> Week:
        data = data or {}
        return cls(
            tuple(
                tuple((time.fromisoformat(start), time.fromisoformat(end)) for start, end in data.get(key) or ())
                for key in WEEKDAYS
            )
        )


def clock(moment: time, full: bool = False) -> str:
    """9:00 as "9" (or "09:00" with ``full``), 9:30 as "9:30": 24-hour, Latin digits, every language."""
    if full:
        return moment.strftime("%H:%M")
    return str(moment.hour) if moment.minute == 0 else f"{moment.hour}:{moment.minute:02d}"


def parse_time(text: str) -> time:
    found = _TIME.fullmatch(text.strip())
    if not found:
        raise FactError(f"“{text.strip()}” is not a time: write hours and minutes, e.g. 09:00 or 9.30.")
    try:
        return time(int(found[1]), int(found[2] or 0))
    except ValueError:
        raise FactError(
            f"“{text.strip()}” is not a time of day: hours go from 0 to 23, minutes from 0 to 59."
        ) from None


def parse_intervals(text: str) -> tuple[Interval, ...]:
    """ "9-12, 13:00-16:30" -> ((09:00, 12:00), (13:00, 16:30)); empty text: closed that day."""
    intervals = []
    for part in (p.strip() for p in re.split(r"[,;]", text)):
        if not part:
            continue
        ends = _DASH.split(part)
        if len(ends) != 2 or not all(ends):
            raise FactError(f"“{part}” is not a time interval: write its start and end, e.g. 09:00-16:00.")
        start, end = parse_time(ends[0]), parse_time(ends[1])
        if end <= start:
            raise FactError(f"{clock(start, True)}-{clock(end, True)} ends before it starts.")
        intervals.append((start, end))
    intervals.sort()
    for (start, end), (later, _) in zip(intervals, intervals[1:], strict=False):
        if later < end:
            raise FactError(f"{clock(start, True)}-{clock(end, True)} overlaps the next interval.")
    return tuple(intervals)


def intervals_text(intervals: Iterable[Interval]) -> str:
    """The form's text for a day: "09:00-12:00, 13:00-16:00"."""
    return ", ".join(f"{clock(start, True)}-{clock(end, True)}" for start, end in intervals)


def parse_week(text: str | None) -> Week:
    """The compact form ``data/hubs.yml`` seeds hours with: "mon-fri 9-16; sat 10-13"
    (weekdays as in ``WEEKDAYS``; a later entry for a day replaces an earlier one)."""
    days: list[tuple[Interval, ...]] = [()] * 7
    for entry in (e.strip() for e in (text or "").split(";")):
        if not entry:
            continue
        which, _, hours = entry.partition(" ")
        first, _, last = which.lower().partition("-")
        if first not in WEEKDAYS or (last and last not in WEEKDAYS):
            raise FactError(f"“{entry}”: start with a weekday or a range of them, e.g. mon-fri 9-16.")
        low, high = WEEKDAYS.index(first), WEEKDAYS.index(last or first)
        for index in range(low, high + 1):
            days[index] = parse_intervals(hours)
    return Week(tuple(days))


def parse_closed(text: str) -> tuple[ClosedRange, ...]:
    """One closed day or range a line: "2026-12-24", "2026-12-27 - 2027-01-06"."""
    ranges = []
    for line in (raw.strip() for raw in text.splitlines()):
        if not line:
            continue
        ends = _RANGE.split(line)
        if len(ends) > 2:
            raise FactError(f"“{line}”: write one date or one range a line, e.g. 2026-12-27 - 2027-01-06.")
        first, last = (_date(ends[0]), _date(ends[-1]))
        if last < first:
            raise FactError(f"“{line}” ends before it starts.")
        ranges.append((first, last))
    return tuple(sorted(set(ranges)))


def _date(text: str) -> date:
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        raise FactError(f"“{text.strip()}” is not a date: write year-month-day, e.g. 2026-12-24.") from None


def closed_text(ranges: Iterable[ClosedRange]) -> str:
    return "\n".join(first.isoformat() if first == last else f"{first} - {last}" for first, last in ranges)


def closed_to_json(ranges: Iterable[ClosedRange]) -> list[list[str]]:
    return [[first.isoformat(), last.isoformat()] for first, last in ranges]


def closed_from_json(data: list | None) -> tuple[ClosedRange, ...]:
    return tuple((date.fromisoformat(first), date.fromisoformat(last)) for first, last in data or ())


def is_closed(day: date, closed: Iterable[ClosedRange]) -> bool:
    return any(first <= day <= last for first, last in closed)


def next_answer(
    week: Week, closed: Iterable[ClosedRange], now: datetime, margin: timedelta = MARGIN
) -> datetime | None:
    """When an answer can be expected, in local time: ``now`` itself while an interval is open (with
    ``margin`` of it left), else the start of the next interval on a day that is not closed; None
    when there is none within ``HORIZON_DAYS``."""
    local, closed = now.astimezone(TZ), tuple(closed)
    for offset in range(HORIZON_DAYS):
        day = local.date() + timedelta(days=offset)
        if is_closed(day, closed):
            continue
        for start, end in week.days[day.weekday()]:
            if datetime.combine(day, end, TZ) - margin > local:
                return max(datetime.combine(day, start, TZ), local)
    return None
