"""The language table: the one place a language is added.

Shared by both Python environments (the Rasa server's NLU component and the
application), so it imports nothing outside the standard library.

Adding a language: one entry here, one folder ``data/nlu/<code>/``, one
variant per response in ``domain/``, and its tests.
"""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Language:
    code: str  # ISO 639-1, also the value of the Rasa ``language`` slot
    name: str  # in English, for coordinators and logs
    endonym: str  # in the language itself, for menus
    rtl: bool = False
    # Words that, alone or as "<word> please", choose this language explicitly.
    keywords: tuple[str, ...] = ()


LANGUAGES: dict[str, Language] = {
    lang.code: lang
    for lang in (
        Language(
            "sv", "Swedish", "Svenska",
            keywords=("svenska", "på svenska", "swedish", "in swedish", "swedish please"),
        ),
        Language(
            "en", "English", "English",
            keywords=("english", "in english", "english please", "engelska", "på engelska"),
        ),
    )
}

DEFAULT_LANGUAGE = "sv"


def is_supported(code: str | None) -> bool:
    return code in LANGUAGES


def explicit_choice(text: str) -> str | None:
    """The language a message explicitly asks for ("English please"), if any."""
    normalised = " ".join(text.casefold().strip(" .!?,").split())
    for lang in LANGUAGES.values():
        if normalised in lang.keywords:
            return lang.code
    return None
