"""The coordinator phrasebook (common/phrases.py): every phrase in every language
of the language table, with the Swedish {fields}, from the same catalogues as
every other text (common/translations.py); a phrase whose field is unknown is
not offered; the review's language faults stay out of the phrases too."""

from __future__ import annotations

import re
import string

import pytest
from babel.messages.catalog import Catalog

from common import phrases, translations, when
from common.hours import parse_week
from common.languages import DEFAULT_LANGUAGE, LANGUAGES

FIELDS = {"name": "Ana", "hub": "Framtidshubben Hjällbo", "hours": "mån–fre 10–16", "address": "Hjällbotorget 1"}


def fields(text: str) -> list[str]:
    return sorted(name for _, name, _, _ in string.Formatter().parse(text) if name)


@pytest.fixture(scope="module")
def merged() -> dict[str, Catalog]:
    source = translations.template()
    return {language: translations.merge(translations.load(language), source) for language in translations.targets()}


def test_about_thirty_phrases_in_the_groups_the_coordinators_asked_for():
    assert 25 <= len(phrases.SWEDISH) <= 40
    assert list(phrases.GROUPS) == [
        "Greeting",
        "When can you come?",
        "Opening hours",
        "Bring your ID and certificates",
        "I will call you",
        "Can we meet at the hub?",
        "Do you want an interpreter?",
        "Closing",
    ]


def test_every_phrase_is_a_catalogue_entry_marked_brace_format_where_it_has_fields(merged):
    for language, catalogue in merged.items():
        entries = {
            m.context.removeprefix(translations.PHRASE_PREFIX): m
            for m in catalogue
            if m.context and m.context.startswith(translations.PHRASE_PREFIX)
        }
        assert {key: m.id for key, m in entries.items()} == phrases.SWEDISH, language
        assert {key for key, m in entries.items() if "python-brace-format" in m.flags} == {
            key for key, swedish in phrases.SWEDISH.items() if fields(swedish)
        }


@pytest.mark.parametrize("language", [code for code in LANGUAGES if code != DEFAULT_LANGUAGE])
def test_every_phrase_is_translated_with_the_swedish_fields(language):
    for key, swedish in phrases.SWEDISH.items():
        translated = phrases.phrase(key, language, **{name: f"<{name}>" for name in FIELDS})
        assert translated != swedish.format(**{name: f"<{name}>" for name in FIELDS}), f"{language} {key}: Swedish"
        template = phrases._translations()[language][key]
        assert fields(template) == fields(swedish), f"{language} {key}: {template!r}"


def test_a_phrase_is_filled_in_and_falls_back_to_swedish():
    assert phrases.phrase("meet_hub", "en", hub="Framtidshubben Hjällbo") == "Can we meet at Framtidshubben Hjällbo?"
    assert phrases.phrase("call_you", "ar") == "سأتصل بك."
    assert phrases.phrase("call_you", "sv") == phrases.phrase("call_you", None) == "Jag ringer dig."
    assert phrases.phrase("call_you", "de") == "Jag ringer dig."  # a language without a catalogue yet
    with pytest.raises(KeyError):
        phrases.phrase("meet_hub", "en")


def test_the_phrasebook_offers_a_phrase_only_with_its_facts():
    full = phrases.phrasebook("ar", **FIELDS)
    assert sum(len(items) for _, items in full) == len(phrases.SWEDISH)
    hours = dict(full)["Opening hours"]
    assert hours[0] == {
        "key": "hours_open",
        "swedish": "Vi har öppet mån–fre 10–16.",
        "text": "مواعيد العمل لدينا: mån–fre 10–16.",
    }
    # Data/hubs.yml has no opening hours yet: no hours phrase, no empty group, nothing else lost.
    bare = phrases.phrasebook("ar", name="Ana", hub="Framtidshubben Hjällbo", hours=None, address="  ")
    keys = [item["key"] for _, items in bare for item in items]
    assert "Opening hours" not in dict(bare) and "meet_address" not in keys
    assert len(keys) == len(phrases.SWEDISH) - 3
    no_hub = [item["key"] for _, items in phrases.phrasebook("so", name="Ana") for item in items]
    assert not {"hello", "meet_hub"} & set(no_hub) and "call_you" in no_hub


def test_hours_written_per_language_show_in_swedish_and_go_out_in_the_residents_language():
    week = parse_week("mon-fri 10-16")
    hours = {"sv": when.hours(week, "sv"), "ar": when.hours(week, "ar")}
    assert hours["sv"] != hours["ar"]  # weekday names differ, so one string cannot serve both
    (item, *_) = dict(phrases.phrasebook("ar", hours=hours))["Opening hours"]
    assert item["swedish"] == f"Vi har öppet {hours['sv']}."
    assert item["text"] == phrases.phrase("hours_open", "ar", hours=hours["ar"])
    # Without the resident's language the phrase is not offered (never Swedish weekdays in Arabic).
    assert "Opening hours" not in dict(phrases.phrasebook("ar", hours={"sv": hours["sv"]}))


@pytest.mark.parametrize(
    "language, pattern, why",
    [
        ("so", r"(?i)\bhubka\b", "hub means weapon in Somali"),
        ("fa", r"هاب|پیامک|باشه", "Iranian words Dari readers stumble on"),
        ("fa", r"[\u06f0-\u06f9\u0660-\u0669]", "one system of digits"),
        ("fa", r"[يكة]", "Arabic letters in Persian"),
        ("ti", r"እንደገና|(?i:\bhub\b)", "Amharic or the Latin word hub"),
        ("ti", r"ተማሂርካ|ትደሊ\b|ጸሓፍ[።\s]|ኣንብብ\b|ክትመጽእ|ኣምጽእ[።\s]", "the masculine singular, not the respectful plural"),
    ],
)
def test_the_reviews_language_faults_are_not_in_the_phrases(language, pattern, why):
    filled = {key: phrases.phrase(key, language, **FIELDS) for key in phrases.SWEDISH}  # {hub} is no word
    found = {key: text for key, text in filled.items() if re.search(pattern, text)}
    assert not found, f"{why}: {found}"
