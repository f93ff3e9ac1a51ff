"""The language table: the one place a language is added.

Shared by both Python environments (the Rasa server's NLU component and the
application), so it imports nothing outside the standard library.

Adding a language: one entry here, one folder ``data/nlu/<code>/``, one
variant per response in ``domain/``, and its tests.
"""
from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass


@dataclass(frozen=True)
class Language:
    code: str  # ISO 639-1, also the value of the Rasa ``language`` slot
    name: str  # in English, for coordinators and logs
    endonym: str  # in the language itself, for menus
    rtl: bool = False
    # Words that, alone or as "<word> please", choose this language explicitly.
    keywords: tuple[str, ...] = ()


# In the order of the language menu ("1 Svenska 2 English ...").
LANGUAGES: dict[str, Language] = {
    lang.code: lang
    for lang in (
        Language(
            "sv", "Swedish", "Svenska",
            keywords=("svenska", "på svenska", "pa svenska", "swedish", "in swedish"),
        ),
        Language(
            "en", "English", "English",
            keywords=("english", "in english", "engelska", "på engelska", "pa engelska"),
        ),
        Language(
            "ar", "Arabic", "العربية", rtl=True,
            keywords=("العربية", "عربي", "بالعربي", "بالعربية", "arabic", "arabiska", "på arabiska",
                      "arabi", "bel arabi", "carabi"),
        ),
        Language(
            "so", "Somali", "Soomaali",
            keywords=("soomaali", "af soomaali", "af-soomaali", "somali", "somaliska", "på somaliska"),
        ),
        Language(
            "fa", "Persian/Dari", "فارسی/دری", rtl=True,
            keywords=("فارسی", "دری", "به فارسی", "به دری", "farsi", "persian", "dari", "persiska",
                      "på persiska", "på dari"),
        ),
        Language(
            "ti", "Tigrinya", "ትግርኛ",
            keywords=("ትግርኛ", "ብትግርኛ", "tigrinya", "tigrinja", "på tigrinja", "tigrigna"),
        ),
    )
}

DEFAULT_LANGUAGE = "sv"


def language_name(code: str | None) -> str:
    """A language's English name for coordinators and logs (the code when unknown)."""
    language = LANGUAGES.get(code or "")
    return language.name if language else (code or "unknown")


def is_supported(code: str | None) -> bool:
    return code in LANGUAGES


POLITE = ("please", "tack", "snälla", "plz", "pls", "من فضلك", "لو سمحت", "fadlan", "لطفا", "لطفاً")


# Arabic and Persian write some letters differently, and residents mix them.
SCRIPT_FOLD = str.maketrans({"ي": "ی", "ى": "ی", "ك": "ک", "ة": "ه", "أ": "ا", "إ": "ا", "آ": "ا",
                             "ٱ": "ا", "ؤ": "و", "ئ": "ی", "\u200c": " ", "ـ": ""})


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
    {**dict.fromkeys("بپ", "b"), **dict.fromkeys("تطث", "t"), **dict.fromkeys("سص", "s"),
     **dict.fromkeys("جژگ", "j"), **dict.fromkeys("شچ", "c"), **dict.fromkeys("حه", "h"), "خ": "x",
     **dict.fromkeys("دض", "d"), "ر": "r", **dict.fromkeys("زذظ", "z"), "ع": "e", "غ": "g", "ف": "f",
     **dict.fromkeys("قک", "k"), "ل": "l", "م": "m", "ن": "n"})
SKELETON_LATIN = {"sh": "c", "ch": "c", "kh": "x", "gh": "g", "th": "t", "dh": "z", "3": "e", "7": "h", "5": "x",
                  "8": "g", "6": "t", "9": "s", "p": "b", "v": "f", "q": "k", "g": "j", "c": "k",
                  **{letter: letter for letter in "bdfhjklmnrstxz"}}
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
        consonants = "".join(SKELETON_LATIN.get(sound, "") for sound in
                             _LATIN_SOUNDS.findall(word.removesuffix("h")))
    return re.sub(r"(.)\1+", r"\1", consonants)


def explicit_choice(text: str) -> str | None:
    """The language a message explicitly asks for ("English please", "بالعربي"), if any."""
    words = text.casefold().replace("،", " ").strip(" .!?,؟").split()
    while words and words[-1].strip(".!?,") in POLITE:
        words.pop()
    while words and words[0].strip(".!?,") in POLITE:
        words.pop(0)
    normalised = " ".join(words)
    for lang in LANGUAGES.values():
        if normalised in lang.keywords:
            return lang.code
    return None
