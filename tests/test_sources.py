"""The source registry (data/sources/*.yml): every URL, phone number and
amount a resident reads is an entry with its source, and every language
states the same facts as the Swedish source text."""

from __future__ import annotations

import datetime
import re

import pytest

from common import sources
from common.languages import LANGUAGES
from common.texts import TEXTS
from tests.test_rasa_project import DOMAIN, matches

# Arabic-Indic and Persian digits read as the same numbers.
DIGITS = str.maketrans("٠١٢٣٤٥٦٧٨٩۰۱۲۳۴۵۶۷۸۹", "01234567890123456789")
URL = re.compile(
    r"\b(?:https?://)?(?:www\.)?((?:[a-z0-9-]+\.)+(?:se|com|org|nu|eu|net)(?:/[\w./%-]*[\w/])?)", re.IGNORECASE
)
PHONE = re.compile(r"(?<![\d/])(?:0\d{1,3}-\d{2,3}(?: \d{2,3}){1,3}|0\d{1,3}-\d{5,8}|112|1177|90101|116 111)(?![\d/])")
AMOUNT = re.compile(r"\b\d[\d ]*\d ?(?:kr|kronor|SEK)\b")


REGISTRY = sources.load()
# Every spelling of a fact -> one canonical spelling, so languages compare.
CANONICAL = {}
for _fact in REGISTRY.values():
    for _spelling in (_fact.value, *_fact.also):
        CANONICAL.setdefault(_spelling.lower(), _fact.value.lower())


def facts(text: str) -> set[str]:
    """The URLs, phone numbers and amounts a text states, as written."""
    text = text.translate(DIGITS)
    found = {m.group(1).lower().rstrip("/") for m in URL.finditer(text) if "@" not in text[max(0, m.start() - 1)]}
    found |= {m.group(0) for m in PHONE.finditer(text)}
    found |= {m.group(0).lower() for m in AMOUNT.finditer(text)}
    return found


def texts_by_language():
    """(what, channel, language, text) for every response variant and gateway text."""
    for name, variants in DOMAIN["responses"].items():
        for language in LANGUAGES:
            for channel in ("sms", "web"):
                found = [v for v in variants if matches(v, {"language": language, "channel": channel})]
                if found:
                    yield name, channel, language, found[0]["text"]
    for key, variants in TEXTS.items():
        for language, body in variants.items():
            yield key, "-", language, body


ALL = list(texts_by_language())


@pytest.mark.parametrize("key", sorted(REGISTRY))
def test_every_registry_entry_has_its_source_date_and_quote(key):
    fact = REGISTRY[key]
    assert fact.value.strip(), f"{key}: no value"
    assert re.match(r"https?://\S+$", fact.source), f"{key}: the source is not an address"
    assert isinstance(fact.checked, datetime.date), f"{key}: checked is not a date (YYYY-MM-DD)"
    assert fact.checked <= datetime.date.today(), f"{key}: checked in the future"
    assert fact.quote.strip(), f"{key}: no quote"


def test_an_entry_not_checked_for_a_year_is_reported_stale():
    def fact(key, checked):
        return sources.Fact(key, "x", (), "https://x.se", checked, "q", "t.yml")

    facts = {"old": fact("old", datetime.date(2025, 12, 4)), "new": fact("new", datetime.date(2025, 12, 6))}
    assert [f.key for f in sources.stale(facts, today=datetime.date(2026, 12, 5))] == ["old"]
    assert sources.stale(facts, today=datetime.date(2026, 12, 4)) == []


def test_a_key_in_two_files_is_refused(tmp_path):
    for name in ("a.yml", "b.yml"):
        (tmp_path / name).write_text(
            "facts:\n  same: {value: x, source: 'https://x.se', checked: 2026-12-05, quote: q}\n", encoding="utf-8"
        )
    with pytest.raises(ValueError, match="same"):
        sources.load(tmp_path)


def test_a_quote_is_found_on_its_page_however_the_page_spaces_it():
    page = "<html><body><p>Du kan <b>ringa</b>  dygnet runt.</p><p>Tel 90101. Chatt</p></body></html>"
    assert sources.quote_found(page, "Du kan ringa dygnet runt ... Tel 90101")
    assert not sources.quote_found(page, "Du kan ringa vardagar")


def test_every_url_phone_number_and_amount_a_resident_reads_is_in_the_registry():
    missing = sorted({(fact, what) for what, _, _, body in ALL for fact in facts(body) if fact not in CANONICAL})
    assert not missing, f"not in data/sources/*.yml: {missing}"


def test_no_language_states_a_fact_the_swedish_text_does_not():
    """Translations may say less (SMS budgets), never another URL, number or amount."""
    swedish = {
        (what, channel): {CANONICAL.get(f, f) for f in facts(body)}
        for what, channel, language, body in ALL
        if language == "sv"
    }
    differs = []
    for what, channel, language, body in ALL:
        extra = {CANONICAL.get(f, f) for f in facts(body)} - swedish.get((what, channel), set())
        if language != "sv" and extra:
            differs.append((what, channel, language, sorted(extra)))
    assert not differs, differs


def test_the_fact_finder_finds_what_it_must():
    assert facts("ring 0771-416 416 eller ۱۱۲, läs på www.csn.se/bidrag. 200 000 kr") == {
        "0771-416 416",
        "112",
        "csn.se/bidrag",
        "200 000 kr",
    }
    assert facts("Kvinnofridslinjen 020-50 50 50, Bris 116 111, 1 ሓምለ (1/7)") == {"020-50 50 50", "116 111"}
