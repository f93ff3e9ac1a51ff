"""The content review's language faults (../shared/reviews/2026-12-content.md,
"Language faults"), each a test over every text a resident reads in that
language: the domain's responses, the gateway's texts and the "did you mean"
titles."""

import re

import pytest
import yaml

from common.paths import ROOT
from tests.test_sources import ALL

TITLES = yaml.safe_load((ROOT / "data" / "titles.yml").read_text(encoding="utf-8"))
GEEZ = "\u1200-\u137f"  # the Ethiopic block: a Tigrinya word's letters


FAULTS = [
    ("so", r"(?i)\bhubka\b", "hub means weapon in Somali: the hub is xarunta"),
    ("so", r"(?i)canshuurta ganacsiga", "F-skatt is a tax approval, not a business tax"),
    ("so", r"(?i)iska diiwaangelisay", "registered is 'ku diiwaangashan tahay'"),
    ("so", r"(?i)ruqsadda shaqada caafimaad", "legitimation is a professional licence, not a work permit"),
    ("fa", r"مجوز کار در مشاغل درمانی", "legitimation is a professional licence, not a work permit"),
    ("ti", r"ፍቓድ ስራሕ ጥዕና", "legitimation is a professional licence, not a work permit"),
    ("fa", r"هاب", "Dari readers know مرکز, not the loanword هاب"),
    ("fa", r"پیامک", "Dari readers write SMS"),
    ("fa", r"باشه", "colloquial Iranian"),
    ("fa", r"دبیرستان|دانشگاه(?!.*پوهنتون)", "Dari: لیسه, پوهنتون"),
    ("fa", r"[\u06f0-\u06f9\u0660-\u0669]", "one system of digits: Latin, as phone numbers and URLs are written"),
    ("fa", r"[يكة]", "Arabic letters in Persian read as Arabic"),
    ("ti", r"እንደገና", "Amharic; Tigrinya says ደጊም"),
    ("ti", r"(?i)\bhub\b", "the Latin word hub; Tigrinya says ማእከል"),
    # A whole word only: ሃብ is also part of words such as ይወሃብ (is given).
    ("ti", rf"(?<![{GEEZ}])ሃብ(?![{GEEZ}])", "the loanword hub in Ge'ez letters; Tigrinya says ማእከል"),
    ("ar", r"\b(?:ال)?(?:هب|هاب)\b", "the loanword hub; Arabic says مركز"),
    ("ti", r"ተማሂርካ|ትደሊ\b|ጸሓፍ[።\s]|ኣንብብ\b", "the masculine singular addresses every woman as a man"),
    ("ti", r"ንስደተኛታት", "means refugees, not immigrants"),
]


def texts(language: str) -> list[tuple[str, str]]:
    """Every response variant (both channels), gateway text and "did you mean" title in ``language``."""
    return [(what, body) for what, _, text_language, body in ALL if text_language == language] + [
        (f"title/{intent}", names[language]) for intent, names in TITLES.items() if language in names
    ]


def offending(language: str, pattern: str) -> list[str]:
    return [name for name, text in texts(language) if re.search(pattern, text)]


@pytest.mark.parametrize("language, pattern, why", FAULTS)
def test_a_language_fault_the_review_found_is_gone(language, pattern, why):
    assert not offending(language, pattern), f"{why}: {offending(language, pattern)}"


@pytest.mark.parametrize("language, title", [("fa", "هاب کجاست"), ("ar", "أين يقع الهب"), ("ti", "ሃብ ኣበይ ኣሎ")])
def test_a_fault_in_a_title_is_found(monkeypatch, language, title):
    """The find_hub titles as they were before the catalogues: each fails a fault test."""
    monkeypatch.setitem(TITLES, "find_hub", {**TITLES["find_hub"], language: title})
    assert any("title/find_hub" in offending(language, pattern) for code, pattern, _ in FAULTS if code == language)


def test_arabic_explains_npf_wherever_it_names_it():
    unexplained = [
        name
        for name, text in texts("ar")
        if "NPF" in text and "ADHD" not in text and "عصبي" not in text and "نمائي" not in text and "التوحد" not in text
    ]
    assert not unexplained, unexplained


@pytest.mark.parametrize("language, month", [("ar", "تموز/يوليو"), ("ti", "ሓምለ (1/7)")])
def test_july_is_written_so_every_reader_reads_the_same_month(language, month):
    named = [name for name, text in texts(language) if re.search(r"يوليو|تموز|ሓምለ", text)]
    assert named, f"no {language} text names July"
    assert all(
        month in text for name, text in texts(language) if name in named and re.search(r"يوليو|تموز|ሓምለ", text)
    ), named
