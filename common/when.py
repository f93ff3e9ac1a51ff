"""Hours, days and the handoff's promise ("expect an answer on Monday") in the resident's language.

Weekday and month names are Babel's (CLDR). Dates are written so each audience reads them right
(the content review, ../shared/reviews/2026-12-content.md):

- Arabic names the month twice, "15 كانون الأول/ديسمبر": the Levantine and Iraqi name, then the one
  Egyptian and Gulf readers use;
- Tigrinya adds the day and month in digits, "15 ታሕሳስ (15/12)", so no one reads the Ethiopian month;
- Persian/Dari takes the Afghan month names (Babel's fa_AF: جنوری... دسمبر, which Iranian readers
  also know) and, as Tigrinya, the digits, "15 دسمبر (15/12)".

Times are 24-hour with Latin digits in every language ("9-16", "13:30"), as phone numbers and
addresses are written (README, "Languages"), and with "-", which keeps a Swedish, English or
Somali SMS in GSM-7.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime, timedelta

from babel import Locale
from babel.dates import get_day_names, get_month_names
from babel.lists import format_list

from common.hours import TZ, ClosedRange, Interval, Week, clock, is_closed, next_answer
from common.languages import DEFAULT_LANGUAGE
from common.texts import text

LOCALES = {"sv": "sv", "en": "en_GB", "ar": "ar", "so": "so", "fa": "fa_AF", "ti": "ti"}
ARABIC_LEVANT = "ar_SY"  # كانون الأول, beside ar's ديسمبر
DIGITS_TOO = frozenset({"ti", "fa"})  # "15 ታሕሳስ (15/12)"
# Between the intervals of a day, and between groups of days: the language's own comma and semicolon.
SEPARATORS = {"ar": ("، ", "؛ "), "fa": ("، ", "؛ "), "ti": ("፣ ", "፤ ")}


def _locale(language: str | None) -> str:
    return LOCALES.get(language or DEFAULT_LANGUAGE, LOCALES[DEFAULT_LANGUAGE])


def weekday(index: int, language: str | None) -> str:
    """The weekday's name, Monday 0: "måndag", "Monday", "الاثنين"..."""
    return get_day_names("wide", locale=_locale(language))[index]


def day(moment: date, language: str | None) -> str:
    """A date with its weekday: "måndag 15 december", "الاثنين 15 كانون الأول/ديسمبر", "ሰኑይ 15 ታሕሳስ (15/12)"."""
    month = get_month_names("wide", locale=_locale(language))[moment.month]
    if language == "ar":
        month = f"{get_month_names('wide', locale=ARABIC_LEVANT)[moment.month]}/{month}"
    written = f"{weekday(moment.weekday(), language)} {moment.day} {month}"
    return f"{written} ({moment.day}/{moment.month})" if language in DIGITS_TOO else written


def interval(span: Interval) -> str:
    return f"{clock(span[0])}-{clock(span[1])}"


def hours(week: Week, language: str | None) -> str:
    """The week in few words: consecutive days with the same hours together, "måndag-torsdag 9-12,
    13-16; fredag 9-12"; closed days left out."""
    comma, semicolon = SEPARATORS.get(language or "", (", ", "; "))
    groups: list[tuple[int, int]] = []  # (first, last) weekday of each run of equal days
    for index, spans in enumerate(week.days):
        if spans and groups and groups[-1][1] == index - 1 and week.days[groups[-1][0]] == spans:
            groups[-1] = (groups[-1][0], index)
        elif spans:
            groups.append((index, index))
    parts = []
    for first, last in groups:
        days = weekday(first, language) if first == last else f"{weekday(first, language)}-{weekday(last, language)}"
        parts.append(f"{days} {comma.join(interval(span) for span in week.days[first])}")
    return semicolon.join(parts)


def promise(
    week: Week | None,
    closed: Iterable[ClosedRange],
    now: datetime,
    language: str | None,
    municipality: str | None = None,
) -> tuple[str, str]:
    """What a resident is told after a handoff about when the answer comes: (the hours, the
    expectation), the first empty when no hours are known (the second then says so). In the words
    of the hub's ``municipality`` (``common.texts.text``: in Borås, Borås Stad's staff answer)."""
    if week is None or week.empty:
        return "", text("handoff_hours_unknown", language, municipality)
    local, closed = now.astimezone(TZ), tuple(closed)
    start = next_answer(week, closed, local)
    if start is None:
        expect = text("handoff_expect_unknown", language, municipality)
    elif start <= local:
        expect = text("handoff_expect_now", language, municipality)
    elif start.date() == local.date():
        expect = text("handoff_expect_today", language, municipality).format(time=f"{start.hour}:{start.minute:02d}")
    elif _skips_closed(week, closed, local.date(), start.date()):
        expect = text("handoff_expect_closed", language, municipality).format(day=day(start.date(), language))
    else:
        expect = text("handoff_expect_day", language, municipality).format(
            weekday=weekday(local.weekday(), language), day=day(start.date(), language)
        )
    return text("handoff_hours", language, municipality).format(hours=hours(week, language)), expect


def _skips_closed(week: Week, closed: Iterable[ClosedRange], today: date, answer: date) -> bool:
    """Whether a day that has hours is closed between today and the answer's day: the reason to give."""
    between = (today + timedelta(days=n) for n in range((answer - today).days))
    return any(week.days[moment.weekday()] and is_closed(moment, closed) for moment in between)


def languages(codes: Iterable[str], language: str | None) -> str:
    """Languages by ISO code, named and listed in ``language``: "arabiska, somaliska och svenska"."""
    names = Locale.parse(_locale(language)).languages
    return format_list([names.get(code, code) for code in codes], locale=_locale(language))
