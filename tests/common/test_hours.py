"""A hub's hours and closed days as typed in the inbox, and when an answer can be expected
(common/hours.py): on a weekday, in the evening, at the weekend, on a closed day, with no hours."""

from datetime import date, datetime, time

import pytest

from common.hours import (
    TZ,
    FactError,
    Week,
    closed_from_json,
    closed_text,
    closed_to_json,
    intervals_text,
    next_answer,
    parse_closed,
    parse_intervals,
    parse_week,
)

WEEKDAYS_9_16 = parse_week("mon-fri 9-16")
LUNCH = parse_week("mon-thu 9-12, 13-16; fri 9-12")
CHRISTMAS = parse_closed("2026-12-24 - 2026-12-26")


def at(day: int, hour: int, minute: int = 0, month: int = 12, year: int = 2026) -> datetime:
    """Local time in Göteborg; December 2026: Monday the 14th, Saturday the 19th, Thursday the 24th."""
    return datetime(year, month, day, hour, minute, tzinfo=TZ)


@pytest.mark.parametrize(
    "typed, intervals",
    [
        ("09:00-16:00", ((time(9), time(16)),)),
        ("9-16", ((time(9), time(16)),)),
        ("9.30 – 12, 13:00-16:30", ((time(9, 30), time(12)), (time(13), time(16, 30)))),
        ("13-16, 9-12", ((time(9), time(12)), (time(13), time(16)))),  # kept in order
        ("", ()),
        ("  ", ()),
    ],
)
def test_intervals_as_people_type_them(typed, intervals):
    assert parse_intervals(typed) == intervals


@pytest.mark.parametrize(
    "typed, error",
    [
        ("25:00-26:00", "“25:00” is not a time of day"),
        ("9:75-12", "“9:75” is not a time of day"),
        ("nine-five", "“nine” is not a time"),
        ("16-9", "16:00-09:00 ends before it starts"),
        ("9-9", "09:00-09:00 ends before it starts"),
        ("9", "“9” is not a time interval"),
        ("9-12-16", "is not a time interval"),
        ("9-12, 11-13", "09:00-12:00 overlaps the next interval"),
    ],
)
def test_a_time_that_is_not_one_is_refused_with_a_message_that_says_why(typed, error):
    with pytest.raises(FactError, match=error):
        parse_intervals(typed)


def test_a_week_goes_to_the_database_and_back():
    assert LUNCH.to_json()["mon"] == [["09:00", "12:00"], ["13:00", "16:00"]]
    assert "sat" not in LUNCH.to_json()
    assert Week.from_json(LUNCH.to_json()) == LUNCH
    assert intervals_text(LUNCH.days[0]) == "09:00-12:00, 13:00-16:00"
    assert Week.from_json(None).empty and not LUNCH.empty


def test_the_seed_file_form_names_weekdays_and_ranges():
    week = parse_week("mon-wed 9-16; thu 9-12; sat 10-13")
    assert [bool(day) for day in week.days] == [True, True, True, True, False, True, False]
    with pytest.raises(FactError, match="start with a weekday"):
        parse_week("monday 9-16")


def test_closed_days_are_dates_and_ranges_one_a_line():
    ranges = parse_closed("2026-12-24\n\n2026-12-27 - 2027-01-06\n2027-06-19 to 2027-06-19")
    assert ranges == (
        (date(2026, 12, 24), date(2026, 12, 24)),
        (date(2026, 12, 27), date(2027, 1, 6)),
        (date(2027, 6, 19), date(2027, 6, 19)),
    )
    assert closed_from_json(closed_to_json(ranges)) == ranges
    assert closed_text(ranges) == "2026-12-24\n2026-12-27 - 2027-01-06\n2027-06-19"
    for typed, error in [
        ("2026-13-01", "is not a date"),
        ("24/12", "is not a date"),
        ("2027-01-06 - 2026-12-27", "ends before"),
    ]:
        with pytest.raises(FactError, match=error):
            parse_closed(typed)


@pytest.mark.parametrize(
    "now, expected, why",
    [
        (at(15, 10), at(15, 10), "a weekday, open: now"),
        (at(15, 7, 30), at(15, 9), "a weekday morning: when it opens"),
        (at(15, 15, 45), at(16, 9), "less than half an hour left: the next day"),
        (at(15, 18), at(16, 9), "a weekday evening: the next morning"),
        (at(18, 17), at(21, 9), "a Friday evening: Monday"),
        (at(19, 11), at(21, 9), "a Saturday: Monday"),
        (at(20, 23, 59), at(21, 9), "a Sunday night: Monday"),
    ],
)
def test_the_next_answer_on_weekdays_evenings_and_weekends(now, expected, why):
    assert next_answer(WEEKDAYS_9_16, (), now) == expected, why


def test_a_lunch_break_and_a_short_friday():
    assert next_answer(LUNCH, (), at(15, 12, 10)) == at(15, 13)
    assert next_answer(LUNCH, (), at(18, 11, 45)) == at(21, 9)  # Friday closes at 12


def test_closed_days_are_skipped():
    assert next_answer(WEEKDAYS_9_16, CHRISTMAS, at(23, 18)) == at(28, 9)  # 24-26 closed, then the weekend
    assert next_answer(WEEKDAYS_9_16, CHRISTMAS, at(24, 10)) == at(28, 9)  # closed today, though a Thursday
    assert next_answer(WEEKDAYS_9_16, CHRISTMAS, at(23, 10)) == at(23, 10)


def test_no_answer_is_promised_without_hours_or_for_months_closed():
    assert next_answer(Week(), (), at(15, 10)) is None
    long_break = parse_closed("2026-12-01 - 2027-12-31")
    assert next_answer(WEEKDAYS_9_16, long_break, at(15, 10)) is None


def test_local_time_across_the_change_to_summer_time():
    # Sunday 28 March 2027 the clocks go forward: Monday 9:00 is 7:00 UTC, not 8:00.
    found = next_answer(WEEKDAYS_9_16, (), datetime(2027, 3, 28, 12, tzinfo=TZ))
    assert found == datetime(2027, 3, 29, 9, tzinfo=TZ)
    assert found.utcoffset().total_seconds() == 2 * 3600
