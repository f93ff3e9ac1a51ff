"""The language table, read from ``data/languages.yml``: the one place a
language is added (README, "Adding a language").

One row per language holds its facts: code, names, direction, script, SMS
encoding, the words that choose it, its SMS keywords and its detection
settings (the file's comment says what each means). Everything else derives
from ``LANGUAGES``: the detector (``common.langid``), the SMS keywords
(``common.keywords``), the language menu, the web chat's picker.

A data file rather than Python, because the table is data the people who
write the content fill in (the words that choose a language, STOP in
Tigrinya), beside the other files they edit (``data/nlu/<code>/``,
``data/titles.yml``), with one comment saying what each field means.

``$LANGUAGES_FILE`` names another table (tests add a made-up language that
way); ``load(path)`` reads one without changing the process's.

Shared by both Python environments (the Rasa server's NLU component and the
application), so it imports only the standard library and PyYAML, which both
have.
"""

from __future__ import annotations

import os
import re
import unicodedata
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

import yaml

from common.paths import ROOT

TABLE = Path(os.environ.get("LANGUAGES_FILE") or ROOT / "data" / "languages.yml")


@dataclass(frozen=True)
class Language:
    """One row of the table; a fact the row leaves out is empty (the checklist
    in tests/common/test_language_table.py names it)."""

    code: str  # ISO 639-1, also the value of the Rasa ``language`` slot
    name: str = ""  # in English, for coordinators and logs
    endonym: str = ""  # in the language itself, for menus
    direction: str = "ltr"  # or "rtl"
    script: str = ""  # a key of the file's ``scripts``
    ranges: tuple[tuple[int, int], ...] = ()  # that script's Unicode blocks
    sms: str = ""  # GSM-7 or UCS-2
    choose: tuple[str, ...] = ()  # words that, alone or with ``please``, choose this language
    please: tuple[str, ...] = ()
    stop: tuple[str, ...] = ()  # SMS keywords (common.keywords)
    start: tuple[str, ...] = ()
    help: tuple[str, ...] = ()
    erase: tuple[str, ...] = ()  # asks to erase the resident's messages and number (gateway.erasure)
    lingua: str | None = None  # its code in lingua-language-detector, None where lingua lacks it
    langdetect: str | None = None  # likewise in langdetect
    letters: str = ""  # letters beyond a-z it writes in Latin script
    romanised: frozenset[str] = frozenset()  # chat words of it typed in Latin letters
    sample: str = ""  # a typical message the detector recognises

    @property
    def rtl(self) -> bool:
        return self.direction == "rtl"


_WORDS = ("choose", "please", "stop", "start", "help", "erase")  # lists of words; every other field is one text
_FIELDS = {f.name for f in fields(Language)} - {"ranges"}


def _row(row: dict, scripts: dict[str, tuple[tuple[int, int], ...]], path: Path) -> Language:
    if not isinstance(row.get("code"), str):
        raise ValueError(f"{path}: a row without a code: {row}")
    where = f"{path}, the row of {row['code']!r}"
    if set(row) - _FIELDS:
        raise ValueError(f"{where}: unknown fields {sorted(set(row) - _FIELDS)}")
    for key, value in row.items():
        # YAML reads some bare words as something else (no: false, on: true, 1e3: a number).
        text = (
            (isinstance(value, list) and all(isinstance(word, str) for word in value))
            if key in _WORDS
            else isinstance(value, str) or (value is None and key in ("lingua", "langdetect"))
        )
        if not text:
            raise ValueError(
                f"{where}: {key} is {value!r}; write it as text, in quotes"
                + (", as a list [...]" if key in _WORDS else "")
            )
    values: dict[str, Any] = {**row, **{key: tuple(row[key]) for key in _WORDS if key in row}}
    values["romanised"] = frozenset(row.get("romanised", "").split())
    return Language(**values, ranges=scripts.get(row.get("script", ""), ()))


def _block(block: str) -> tuple[int, int]:
    """A Unicode block written "0600-06FF"."""
    low, high = block.split("-")
    return int(low, 16), int(high, 16)


def load(path: Path) -> dict[str, Language]:
    """The language table in ``path``, by code, in the file's order."""
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    scripts = {name: tuple(_block(block) for block in blocks) for name, blocks in (data.get("scripts") or {}).items()}
    table: dict[str, Language] = {}
    for row in data["languages"]:
        language = _row(row, scripts, path)
        if language.code in table:
            raise ValueError(f"{path}: two rows for {language.code!r}")
        table[language.code] = language
    return table


# In the order of the language menu ("1 Svenska 2 English ...").
LANGUAGES: dict[str, Language] = load(TABLE)

DEFAULT_LANGUAGE = "sv"  # the texts' source and fallback


def language_name(code: str | None) -> str:
    """A language's English name for coordinators and logs (the code when unknown)."""
    language = LANGUAGES.get(code or "")
    return language.name if language else (code or "unknown")


def is_supported(code: str | None) -> bool:
    return code in LANGUAGES


# Arabic and Persian write some letters differently, and residents mix them.
SCRIPT_FOLD = str.maketrans(
    {
        "ي": "ی",
        "ى": "ی",
        "ك": "ک",
        "ة": "ه",
        "ۀ": "ه",  # heh with hamza above (Dari's ezafe, "بیمۀ"): NFKD would leave Kurdish's ە, not ه
        "أ": "ا",
        "إ": "ا",
        "آ": "ا",
        "ٱ": "ا",
        "ؤ": "و",
        "ئ": "ی",
        "\u200c": " ",
        "ـ": "",
    }
)


def fold(text: str) -> str:
    """Text as residents' spellings vary it, made alike: lower case, no
    diacritics (å->a, ö->o, Arabic vowel marks), Arabic and Persian letter forms
    folded together. Place names and intent features both match on this."""
    decomposed = unicodedata.normalize("NFKD", text.casefold().translate(SCRIPT_FOLD))
    return unicodedata.normalize("NFC", "".join(ch for ch in decomposed if not unicodedata.combining(ch)))


# A word's consonant skeleton: the consonants, by sound class, with vowels,
# alifs, hamzas and doubled letters left out, whether the word is written in
# Arabic or Persian letters or in Latin letters as residents type Arabic and
# Persian on a phone ("3" for ع, "7" for ح, "sh" for ش). "shughl" and "شغل"
# both read "cgl", "mat3am" and "مطعم" "mtem". Letters that residents and
# dialects mix up share a class (ت ط ث, س ص, ذ ز ظ, ق ک). The intent model
# reads skeletons beside the words (nlu.components.SkeletonFeaturizer), so an
# example in one script teaches the other.
SKELETON_ARABIC = str.maketrans(
    {
        **dict.fromkeys("بپ", "b"),
        **dict.fromkeys("تطث", "t"),
        **dict.fromkeys("سص", "s"),
        **dict.fromkeys("جژگ", "j"),
        **dict.fromkeys("شچ", "c"),
        **dict.fromkeys("حه", "h"),
        "خ": "x",
        **dict.fromkeys("دض", "d"),
        "ر": "r",
        **dict.fromkeys("زذظ", "z"),
        "ع": "e",
        "غ": "g",
        "ف": "f",
        **dict.fromkeys("قک", "k"),
        "ل": "l",
        "م": "m",
        "ن": "n",
    }
)
SKELETON_LATIN = {
    "sh": "c",
    "ch": "c",
    "kh": "x",
    "gh": "g",
    "th": "t",
    "dh": "z",
    "3": "e",
    "7": "h",
    "5": "x",
    "8": "g",
    "6": "t",
    "9": "s",
    "p": "b",
    "v": "f",
    "q": "k",
    "g": "j",
    "c": "k",
    **{letter: letter for letter in "bdfhjklmnrstxz"},
}
_LATIN_SOUNDS = re.compile("sh|ch|kh|gh|th|dh|.")
_ARABIC_LETTER = re.compile("[\u0600-\u06ff]")


def skeleton(word: str) -> str:
    """The consonant skeleton of one word (see SKELETON_ARABIC); empty for a
    number or a word of vowels only."""
    word = fold(word)
    if word.isdigit():
        return ""
    if _ARABIC_LETTER.search(word):
        consonants = word.removesuffix("ه").translate(SKELETON_ARABIC)
        consonants = "".join(ch for ch in consonants if ch.isascii())
    else:
        consonants = "".join(SKELETON_LATIN.get(sound, "") for sound in _LATIN_SOUNDS.findall(word.removesuffix("h")))
    return re.sub(r"(.)\1+", r"\1", consonants)


POLITE = frozenset(word.casefold() for lang in LANGUAGES.values() for word in lang.please)
_POLITE = "|".join(re.escape(word) for word in sorted(POLITE, key=len, reverse=True))
# A phrase without the polite words around it ("please, english tack" -> "english").
_AROUND = re.compile(rf"(?:(?:{_POLITE}) )*(.*?)(?: (?:{_POLITE}))*")
# Each choosing word, in lower case, and its language; reversed, so that the
# first row that lists a word keeps it.
_CHOICES = {word.casefold(): code for code, lang in reversed(LANGUAGES.items()) for word in lang.choose}


def explicit_choice(text: str) -> str | None:
    """The language a message explicitly asks for ("English please", "بالعربي"), if any."""
    words = (word.strip(".!?,؟") for word in text.casefold().replace("،", " ").split())
    phrase = _AROUND.fullmatch(" ".join(word for word in words if word))
    return _CHOICES.get(phrase.group(1)) if phrase else None
