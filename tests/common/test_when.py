"""The handoff's promise in every language (common/when.py): on a weekday, in the evening, at the
weekend, on a closed day, with no hours; and dates written as the content review asks (Arabic with
both month names, Tigrinya and Persian/Dari with the date in digits too)."""

import re
from datetime import date, datetime

import pytest

from common.hours import TZ, Week, parse_closed, parse_week
from common.languages import LANGUAGES
from common.texts import text
from common.when import day, hours, languages, promise

WEEKDAYS_9_16 = parse_week("mon-fri 9-16")
CHRISTMAS = parse_closed("2026-12-24 - 2026-12-26")
SATURDAY = datetime(2026, 12, 19, 11, tzinfo=TZ)  # Monday is the 21st


def said(now: datetime, language: str, week: Week | None = WEEKDAYS_9_16) -> str:
    return " ".join(part for part in promise(week, CHRISTMAS, now, language) if part)


# The issue's own example, at the weekend, in every language: the hours, the day it is, the day to expect.
AT_THE_WEEKEND = {
    "sv": "Koordinatorn svarar måndag-fredag 9-16. Det är lördag nu, så räkna med svar måndag 21 december.",
    "en": "The coordinator answers Monday-Friday 9-16. It is Saturday now, so expect an answer on Monday 21 December.",
    "ar": "يرد المنسق الاثنين-الجمعة 9-16. اليوم السبت، لذا توقع الرد يوم الاثنين 21 كانون الأول/ديسمبر.",
    "so": "Isku-duwuhu wuxuu jawaabaa Isniin-Jimco 9-16. Hadda waa Sabti, markaa filo jawaab Isniin 21 Diseembar.",
    "fa": "هماهنگ‌کننده دوشنبه-جمعه 9-16 جواب می‌دهد. امروز شنبه است، پس دوشنبه 21 دسمبر (21/12) منتظر جواب باشید.",
    "ti": "ኣወሃሃዲ ሰኑይ-ዓርቢ 9-16 ይምልስ። ሎሚ ቀዳም እዩ፡ ስለዚ ብሰኑይ 21 ታሕሳስ (21/12) መልሲ ተጸበዩ።",
}


def test_every_language_has_the_weekend_example():
    assert set(AT_THE_WEEKEND) == set(LANGUAGES)


@pytest.mark.parametrize("language", LANGUAGES)
def test_at_the_weekend_the_answer_comes_on_monday(language):
    assert said(SATURDAY, language) == AT_THE_WEEKEND[language]


@pytest.mark.parametrize("language", LANGUAGES)
def test_on_a_weekday_while_open_the_answer_comes_today(language):
    now = datetime(2026, 12, 15, 10, tzinfo=TZ)
    assert promise(WEEKDAYS_9_16, CHRISTMAS, now, language)[1] == text("handoff_expect_now", language)


@pytest.mark.parametrize("language", LANGUAGES)
def test_early_in_the_morning_the_answer_comes_when_it_opens(language):
    now = datetime(2026, 12, 15, 7, 30, tzinfo=TZ)
    expect = promise(parse_week("mon-fri 9.30-16"), (), now, language)[1]
    assert expect == text("handoff_expect_today", language).format(time="9:30") and "9:30" in expect


@pytest.mark.parametrize("language", LANGUAGES)
def test_in_the_evening_the_answer_comes_the_next_weekday(language):
    now = datetime(2026, 12, 15, 18, tzinfo=TZ)  # Tuesday
    assert promise(WEEKDAYS_9_16, CHRISTMAS, now, language)[1] == text("handoff_expect_day", language).format(
        weekday=("tisdag", "Tuesday", "الثلاثاء", "Talaado", "سه\u200cشنبه", "ሰሉስ")[list(LANGUAGES).index(language)],
        day=day(date(2026, 12, 16), language),
    )


@pytest.mark.parametrize("language", LANGUAGES)
def test_on_a_closed_day_the_answer_comes_after_the_closed_days(language):
    for now in (datetime(2026, 12, 24, 10, tzinfo=TZ), datetime(2026, 12, 23, 18, tzinfo=TZ)):
        assert promise(WEEKDAYS_9_16, CHRISTMAS, now, language)[1] == text("handoff_expect_closed", language).format(
            day=day(date(2026, 12, 28), language)
        )


@pytest.mark.parametrize("language", LANGUAGES)
def test_without_hours_it_says_honestly_that_it_is_not_known(language):
    for week in (None, Week()):
        assert promise(week, (), SATURDAY, language) == ("", text("handoff_hours_unknown", language))
    closed_for_months = parse_closed("2026-12-01 - 2027-12-31")
    assert promise(WEEKDAYS_9_16, closed_for_months, SATURDAY, language)[1] == text("handoff_expect_unknown", language)


@pytest.mark.parametrize(
    "language, written",
    [
        ("sv", "måndag 6 juli"),
        ("en", "Monday 6 July"),
        ("so", "Isniin 6 Luulyo"),
        ("ar", "الاثنين 6 تموز/يوليو"),  # the review: "1 تموز/يوليو"
        ("ti", "ሰኑይ 6 ሓምለ (6/7)"),  # the review: "1 ሓምለ (1/7)"
        ("fa", "دوشنبه 6 جولای (6/7)"),
    ],
)
def test_a_date_is_written_so_each_audience_reads_the_same_day(language, written):
    assert day(date(2026, 7, 6), language) == written


def test_hours_group_equal_days_and_use_each_languages_punctuation():
    week = parse_week("mon-thu 9-12, 13-16.30; fri 9-12; sun 12-14")
    assert hours(week, "sv") == "måndag-torsdag 9-12, 13-16:30; fredag 9-12; söndag 12-14"
    assert hours(week, "ar") == "الاثنين-الخميس 9-12، 13-16:30؛ الجمعة 9-12؛ الأحد 12-14"
    assert hours(week, "ti") == "ሰኑይ-ሓሙስ 9-12፣ 13-16:30፤ ዓርቢ 9-12፤ ሰንበት 12-14"
    assert hours(parse_week("mon 9-12; wed 9-12"), "en") == "Monday 9-12; Wednesday 9-12"  # not consecutive


def test_languages_are_named_and_listed_in_the_residents_language():
    assert languages(["ar", "so", "sv"], "sv") == "arabiska, somaliska och svenska"
    assert languages(["ar", "so"], "en") == "Arabic and Somali"
    assert languages(["ar"], "ar") == "العربية"


@pytest.mark.parametrize("language", LANGUAGES)
def test_times_use_latin_digits_and_a_plain_hyphen(language):
    # Persian digits or an en dash would break the README's rule (Latin digits) or push an SMS into UCS-2.
    body = said(SATURDAY, language)
    assert "9-16" in body and "\u2013" not in body and not re.search("[\u0660-\u0669\u06f0-\u06f9]", body)
