"""The coordinator phrasebook: ready phrases a coordinator who does not speak
the resident's language picks on the handoff page (gateway/inbox), reads in
Swedish and sends in the resident's language.

Swedish is the source, written here, grouped as the page shows them (the
group titles are the inbox's, in English). The other languages come from the
translator catalogues (msgctxt ``phrase/<key>``) through ``locale/phrases.json``,
which ``python -m common.translations`` generates: edit a translation in its
catalogue, never here. ``{fields}`` (Babel's python-brace-format) are filled
in from the handoff: ``name`` the coordinator's, ``hub`` the hub's name,
``hours`` and ``address`` the hub's facts; a phrase whose field is unknown or
empty is not offered.
"""

from __future__ import annotations

import json
import string
from collections.abc import Mapping
from functools import cache

from common.languages import DEFAULT_LANGUAGE
from common.paths import ROOT

TRANSLATIONS_FILE = ROOT / "locale" / "phrases.json"

GROUPS: dict[str, dict[str, str]] = {
    "Greeting": {
        "hello": "Hej! Jag heter {name} och är koordinator på {hub}.",
        "thanks_message": "Tack för ditt meddelande.",
        "read_question": "Jag har läst din fråga och hjälper dig gärna.",
        "one_moment": "Ett ögonblick, jag tar reda på det.",
    },
    "When can you come?": {
        "when_come": "När kan du komma till oss?",
        "which_day": "Vilken dag passar dig bäst?",
        "morning_afternoon": "Passar förmiddag eller eftermiddag bäst?",
        "come_tomorrow": "Kan du komma i morgon?",
        "come_this_week": "Kan du komma den här veckan?",
    },
    "Opening hours": {
        "hours_open": "Vi har öppet {hours}.",
        "hours_welcome": "Du är välkommen till {hub} när vi har öppet: {hours}.",
    },
    "Bring your ID and certificates": {
        "bring_id": "Ta med en ID-handling, till exempel pass eller ID-kort.",
        "bring_certificates": "Ta med betyg och intyg från skola och jobb, om du har dem.",
        "bring_cv": "Har du ett CV? Ta gärna med det.",
        "bring_missing": "Det gör inget om du inte har alla papper. Kom ändå.",
    },
    "I will call you": {
        "call_you": "Jag ringer dig.",
        "call_today": "Jag ringer dig i dag.",
        "call_tomorrow": "Jag ringer dig i morgon.",
        "call_when": "När kan jag ringa dig?",
        "call_number": "Vilket telefonnummer kan jag ringa dig på?",
    },
    "Can we meet at the hub?": {
        "meet_hub": "Kan vi träffas på {hub}?",
        "meet_address": "Du hittar oss på {address}.",
        "meet_phone": "Vi kan också prata i telefon, om det passar dig bättre.",
    },
    "Do you want an interpreter?": {
        "interpreter_want": "Vill du ha en tolk?",
        "interpreter_book": "Jag kan boka en tolk till vårt möte.",
        "interpreter_language": "Vilket språk ska tolken tala?",
    },
    "Closing": {
        "close_questions": "Tack! Skriv till mig här om du har fler frågor.",
        "close_see_you": "Välkommen, vi ses!",
        "close_day": "Ha en fin dag!",
        "close_luck": "Lycka till!",
    },
}
SWEDISH: dict[str, str] = {key: swedish for group in GROUPS.values() for key, swedish in group.items()}
assert len(SWEDISH) == sum(map(len, GROUPS.values())), "a phrase key is in two groups"


@cache
def _translations() -> dict[str, dict[str, str]]:
    """language -> key -> text; a phrase a catalogue has not translated (or whose Swedish changed) is missing."""
    return json.loads(TRANSLATIONS_FILE.read_text(encoding="utf-8")) if TRANSLATIONS_FILE.exists() else {}


def fields(key: str) -> set[str]:
    """The {fields} a phrase's Swedish needs."""
    return {name for _, name, _, _ in string.Formatter().parse(SWEDISH[key]) if name}


def phrase(key: str, language: str | None, **values: str) -> str:
    """The phrase in ``language`` (Swedish where it is not translated), its fields filled in."""
    language = language or DEFAULT_LANGUAGE
    template = _translations().get(language, {}).get(key) if language != DEFAULT_LANGUAGE else None
    return (template or SWEDISH[key]).format(**values)


def phrasebook(
    language: str | None, **values: str | Mapping[str, str] | None
) -> list[tuple[str, list[dict[str, str]]]]:
    """The groups with their phrases as the handoff page offers them: each a key, its Swedish
    meaning and its text in ``language``, both filled in. A value written differently per language
    (the opening hours' weekdays) is a mapping {language: text} holding Swedish and ``language``.
    Phrases that need a value that is missing or empty (a hub without opening hours) are left out,
    and so is a group left empty."""
    language = language or DEFAULT_LANGUAGE
    swedish_values = _written_in(values, DEFAULT_LANGUAGE)
    known = _written_in(values, language)
    book = []
    for title, group in GROUPS.items():
        items = [
            {"key": key, "swedish": swedish.format(**swedish_values), "text": phrase(key, language, **known)}
            for key, swedish in group.items()
            if fields(key) <= known.keys() and fields(key) <= swedish_values.keys()
        ]
        if items:
            book.append((title, items))
    return book


def _written_in(values: Mapping[str, str | Mapping[str, str] | None], language: str) -> dict[str, str]:
    """The values as ``language`` writes them; empty ones left out."""
    written = {name: value.get(language) if isinstance(value, Mapping) else value for name, value in values.items()}
    return {name: value.strip() for name, value in written.items() if value and value.strip()}
