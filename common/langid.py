"""Which language a resident writes in, decided in one place.

Shared by both Python environments (the Rasa server's NLU component and the
application), so it imports only the standard library, ``langdetect``,
``lingua`` and ``common.languages``, whose table (``data/languages.yml``) gives
each language's script, letters, lexicon and codes in the two libraries.

Residents write short SMS (often one to three words), with typos, sometimes
Arabic or Persian in Latin letters, often with Swedish words mixed in. The
default backend, ``hubguide``, therefore decides in this order:

1. **Script.** A script only one of our languages is written in names it:
   Ethiopic letters mean Tigrinya. Arabic-script letters are
   Arabic, Persian/Dari or a language we do not support: letters only Sorani
   Kurdish (ڕ ڵ ۆ ێ ە), Urdu or Pashto use make the message unsupported;
   otherwise letters only Persian has (پ چ ژ گ) weigh against letters only
   Arabic writing uses (ة ى أ إ) and Arabic vowel marks, together with lingua
   restricted to Arabic and Persian. Other non-Latin scripts (Cyrillic,
   Greek, Hebrew, CJK, ...) are unsupported.
2. **Latin letters foreign to Swedish, English and Somali** (ş ğ ı ñ ł ę ž ê
   î û ...) in a good share of the words make the message unsupported
   (Turkish, Kurmanji, Polish, Bosnian ...), and in any word keep a supported
   answer from being confident.
3. **Romanised Arabic or Persian**: a small lexicon of their most frequent
   chat words and Arabizi digits inside words (``3ndi``, ``7abibi``).
4. **Lingua restricted** to Swedish, English and Somali plus the Latin-script
   languages residents also write (Turkish, Spanish, Finnish, Polish,
   Bosnian/Croatian/Serbian, German, French, Albanian), so that those are
   recognised as unsupported instead of being forced into Swedish or Somali.
   Supported languages get a prior (``SUPPORTED_PRIOR``): they are what
   residents usually write.

Ethiopic script is taken for Tigrinya, the only Ethiopic-script language we
support (Amharic is rare among our residents and would read as Tigrinya).
Lingua detectors are built once per process, on first use or by
``preload()``; with their models loaded they take about 350 MB.

``detect`` returns the best supported language with its probability, or a
confident "unsupported" verdict; ``decide`` turns that into the resident's
language (see its docstring).
"""

from __future__ import annotations

import math
import os
import re
import threading
import unicodedata
from collections import Counter
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

from common.languages import DEFAULT_LANGUAGE, LANGUAGES, explicit_choice

if TYPE_CHECKING:  # lingua loads when first used (_lingua)
    from lingua import LanguageDetector

# A supported detection at or above this probability switches a resident's
# language; an unsupported one at or above it counts as "confidently not ours".
# On the development set, with and without typos, lowercasing or å/ä/ö, no
# supported message is confidently wrong from 0.85 up; below 0.90 Swedish
# typed without å/ä/ö starts to read as confidently German.
CONFIDENT = 0.90
# An unsupported verdict replaces a stored language only with this many words.
STRONG_WORDS = 3
# How much likelier, before reading a message, a resident writes one of our
# languages than one of the other languages the detector knows.
SUPPORTED_PRIOR = 2.0
# Lingua spreads its confidence thinly over many languages on short text
# (English worst); its values are raised to this power before the prior.
SHARPEN = 1.5

BACKENDS = ("hubguide", "langdetect", "lingua")
BACKEND = os.environ.get("LANGID_BACKEND", "hubguide")


@dataclass(frozen=True)
class Detection:
    language: str | None  # a supported code, or None when nothing fits
    confidence: float  # probability of ``language`` (of ``other`` when unsupported)
    unsupported: bool = False  # confidently a language we do not support
    other: str | None = None  # that language's ISO 639-1 code, where known
    script: str | None = None  # the message's script: one of the table's (latin, arabic...) or other

    @property
    def confident(self) -> bool:
        """Sure enough of a supported language to switch to it."""
        return self.language is not None and not self.unsupported and self.confidence >= CONFIDENT


NOTHING = Detection(None, 0.0)


# --- characters ----------------------------------------------------------------

# The script each supported language is written in (Arabic and Persian are
# also written in Latin letters, but Swedish never in Arabic ones), and the
# Unicode blocks of each script.
SCRIPTS = {code: lang.script for code, lang in LANGUAGES.items()}
RANGES = {lang.script: lang.ranges for lang in LANGUAGES.values() if lang.ranges}
# Latin and Arabic script have readers of their own below; a script that only
# one of our languages is written in (Ethiopic: Tigrinya) names its language.
READ = ("latin", "arabic")
WRITTEN_IN = {script: [code for code in SCRIPTS if SCRIPTS[code] == script] for script in RANGES}
BY_SCRIPT = {script: codes[0] for script, codes in WRITTEN_IN.items() if len(codes) == 1 and script not in READ}


def _script(ch: str) -> str:
    """The script of a letter (a key of ``RANGES``), or ``other``."""
    o = ord(ch)
    return next((script for script, ranges in RANGES.items() if any(low <= o <= high for low, high in ranges)), "other")


# Arabic script: letters of languages we do not support.
SORANI = frozenset("ڕڵۆێە")
URDU_PASHTO = frozenset("ٹڈڑںےۓټډړږښګڼېۍ")
# Letters Persian writing has and Arabic lacks, and the other way round, with
# their weight in log-odds. The yeh and kaf forms (ی ک against ي ك) weigh
# little: a phone keyboard for the other language types them too. Fatha,
# damma, shadda and sukun are written in Arabic far more than in Persian.
PERSIAN_LETTERS, ARABIC_LETTERS, LETTER_WEIGHT = frozenset("پچژگ"), frozenset("ةىأإ"), 3.0
PERSIAN_FORMS, ARABIC_FORMS, FORM_WEIGHT = frozenset("یک"), frozenset("يك"), 0.5
ARABIC_MARKS, MARK_WEIGHT = frozenset("\u064e\u064f\u0651\u0652"), 1.0
LINGUA_LIMIT = 4.0  # lingua's own log-odds count at most this much (it is overconfident on a word)

# Latin letters Swedish, English and Somali use; any other Latin letter
# (ş ğ ı ñ ł ę ž ê î û ...) points to a language we do not support.
OUR_LATIN = frozenset(
    "abcdefghijklmnopqrstuvwxyz" + "".join(lang.letters for lang in LANGUAGES.values() if lang.script == "latin")
)
CIRCUMFLEX = frozenset("êîû")  # Kurmanji's vowels; lingua knows no Kurdish

# Romanised Arabic and Persian: frequent chat words of theirs (the table's
# ``romanised``) that are not common Swedish, English or Somali words.
ROMANISED = {code: lang.romanised for code, lang in LANGUAGES.items() if lang.romanised}
# Arabizi: a digit for a letter Latin lacks (3 ع, 7 ح, 2 ء, 9 ق) inside a word,
# or 3/7 opening one ("3ndi", "7abibi"); not "2st" or "3ggr".
ARABIZI = re.compile(r"[a-z][2379][a-z]|^[37][aeiouny]")

# Latin-script languages residents write that we do not support; lingua tells
# them from Swedish, English and Somali. Lingua has no Kurdish or Tigrinya,
# and its Serbian is Cyrillic only (Latin Serbian reads as Bosnian/Croatian).
# Each language costs about 25 MB of models and a little time per message.
LATIN_SUPPORTED = tuple(code for code, lang in LANGUAGES.items() if lang.script == "latin" and lang.lingua)
LATIN_OTHERS = tuple(code for code in ("tr", "es", "fi", "pl", "bs", "hr", "de", "fr", "sq") if code not in LANGUAGES)
# The languages each lingua detector weighs, by lingua's codes (the table's ``lingua``).
LINGUA: dict[str, list[str]] = {
    "latin": [lingua for code in LATIN_SUPPORTED if (lingua := LANGUAGES[code].lingua)] + list(LATIN_OTHERS),
    "arabic": [lingua for code in WRITTEN_IN.get("arabic", ()) if (lingua := LANGUAGES[code].lingua)],
    "restricted": [lang.lingua for lang in LANGUAGES.values() if lang.lingua],
}
FROM_LINGUA = {lang.lingua: code for code, lang in LANGUAGES.items() if lang.lingua}
FROM_LANGDETECT = {lang.langdetect: code for code, lang in LANGUAGES.items() if lang.langdetect}


def _letter_words(text: str) -> list[str]:
    return [w for w in text.split() if any(ch.isalpha() for ch in w)]


def letter_word_count(text: str) -> int:
    """Words as the benchmark counts them: whitespace tokens holding a letter."""
    return len(_letter_words(text))


# --- lingua, built once ----------------------------------------------------------

_lock = threading.Lock()
_detectors: dict[str, LanguageDetector] = {}


def _lingua(name: str) -> LanguageDetector:
    """A lingua detector, built on first use; its models load on its first call."""
    detector = _detectors.get(name)
    if detector is None:
        with _lock:
            detector = _detectors.get(name)
            if detector is None:
                from lingua import IsoCode639_1, LanguageDetectorBuilder

                iso = [getattr(IsoCode639_1, code.upper()) for code in LINGUA[name]]
                detector = LanguageDetectorBuilder.from_iso_codes_639_1(*iso).build()
                _detectors[name] = detector
    return detector


def _lingua_values(name: str, text: str) -> dict[str, float]:
    """Lingua's confidence per language, by our code where the language is ours."""
    return {
        FROM_LINGUA.get(code := v.language.iso_code_639_1.name.lower(), code): v.value
        for v in _lingua(name).compute_language_confidence_values(text)
    }


# --- the hubguide backend ----------------------------------------------------------


def _sigmoid(x: float) -> float:
    return 1.0 / (1.0 + math.exp(-x))


def _logit(p: float) -> float:
    p = min(max(p, 1e-6), 1.0 - 1e-6)
    return math.log(p / (1.0 - p))


def _arabic_script(text: str) -> Detection:
    letters = [ch for ch in text if _script(ch) == "arabic"]  # with the vowel marks
    if any(ch in SORANI for ch in letters):
        return Detection(None, 0.99, unsupported=True, other="ku")
    if any(ch in URDU_PASHTO for ch in letters):
        return Detection(None, 0.99, unsupported=True)
    score = 0.0  # log-odds of Persian against Arabic
    for ch in letters:
        if ch in PERSIAN_LETTERS:
            score += LETTER_WEIGHT
        elif ch in ARABIC_LETTERS:
            score -= LETTER_WEIGHT
        elif ch in PERSIAN_FORMS:
            score += FORM_WEIGHT
        elif ch in ARABIC_FORMS:
            score -= FORM_WEIGHT
        elif ch in ARABIC_MARKS:
            score -= MARK_WEIGHT
    values = _lingua_values("arabic", "".join(ch if _script(ch) == "arabic" else " " for ch in text))
    if sum(values.values()) > 0:
        score += max(-LINGUA_LIMIT, min(LINGUA_LIMIT, _logit(values["fa"])))
    p_fa = _sigmoid(score)
    return Detection("fa", p_fa) if p_fa >= 0.5 else Detection("ar", 1.0 - p_fa)


def _romanised(words: list[str]) -> tuple[str, int] | None:
    """The romanised language with the most hits and their number, if any."""
    hits = dict.fromkeys(ROMANISED, 0)
    for word in words:
        bare = word.strip(".,!?;:'\"()-")
        if "ar" in hits and ARABIZI.search(bare) and sum(ch.isalpha() for ch in bare) >= 2:
            hits["ar"] += 1
            continue
        for code, lexicon in ROMANISED.items():
            if bare in lexicon:
                hits[code] += 1
    best = max(hits, key=hits.__getitem__, default=None)
    if best is None or hits[best] == 0 or list(hits.values()).count(hits[best]) > 1:  # none, or a tie
        return None
    return best, hits[best] - min(hits.values())


def _without_names(text: str) -> list[str]:
    """The words of ``text``, less capitalised words inside a sentence (names
    such as Göteborg or Hjällbo say nothing of the language around them),
    unless that would leave fewer than half of them."""
    words, kept, initial = text.split(), [], True
    for word in words:
        letters = [ch for ch in word if ch.isalpha()]
        name = not initial and len(letters) > 1 and letters[0].isupper() and any(ch.islower() for ch in letters[1:])
        if not name:
            kept.append(word)
        initial = word[-1:] in ".!?:" or (initial and not letters)
    return kept if len([w for w in kept if any(ch.isalpha() for ch in w)]) * 2 >= len(_letter_words(text)) else words


def _latin_script(text: str) -> Detection:
    content = " ".join(_without_names(text))
    words = _letter_words(content.casefold())
    n = len(words)
    foreign = [w for w in words if any(ch.isalpha() and _script(ch) == "latin" and ch not in OUR_LATIN for ch in w)]
    # Lingua's values, sharpened, with the prior for our languages, normalised.
    values = _lingua_values("latin", content)
    weights = {code: v**SHARPEN * (SUPPORTED_PRIOR if code in LANGUAGES else 1.0) for code, v in values.items()}
    total = sum(weights.values())
    if total <= 0:  # lingua knows none of the letters
        return NOTHING
    probs = {code: w / total for code, w in weights.items()}
    probs["bs"] = probs.pop("bs", 0.0) + probs.pop("hr", 0.0)  # one language, two standards
    supported = max(LATIN_SUPPORTED, key=lambda code: probs.get(code, 0.0))
    # Its confidence: against its strongest single rival, not the long tail of
    # small values lingua gives every language on a short text.
    rival = max(v for code, v in probs.items() if code != supported)
    p = probs[supported] / ((probs[supported] + rival) or 1.0)
    others = [code for code in probs if code not in LANGUAGES]
    other = max(others, key=probs.__getitem__)
    p_other = sum(probs[code] for code in others)  # any language not ours
    if any(ch in CIRCUMFLEX for w in foreign for ch in w) and other != "fr":
        other = "ku"
    if foreign and (len(foreign) * 2 >= n or (len(foreign) >= 2 and len(foreign) * 4 >= n)):
        return Detection(None, max(p_other, 0.95), unsupported=True, other=other)

    romanised = _romanised(words)
    if romanised:
        code, hits = romanised
        if hits >= 2 and hits * 5 >= n * 2:  # two or more words, and a good share of them
            return Detection(code, 0.95)
        if not (p >= CONFIDENT and hits * 2 < n):  # unless lingua is sure of the rest
            sure = n <= 2 and p < 0.5  # one of one or two words lingua cannot place
            return Detection(code, CONFIDENT if sure else 0.6)
    if p_other >= CONFIDENT and n >= 2:  # lingua on a single word is a guess
        return Detection(None, p_other, unsupported=True, other=other)
    if foreign:  # a foreign letter or two, maybe in a name: never enough to switch
        p = min(p, CONFIDENT - 0.01)
    return Detection(supported, p)


def _detect_hubguide(text: str) -> Detection:
    text = unicodedata.normalize("NFKC", text)
    counts = Counter(_script(ch) for ch in text if ch.isalpha())
    letters = sum(counts.values())
    if not letters:
        return NOTHING
    # Swedish words are mixed into messages in other scripts, hardly ever the
    # other way round: any real word in Ethiopic or Arabic script decides.
    for script, code in BY_SCRIPT.items():
        if counts[script] >= 2 or counts[script] == letters:
            return Detection(code, 1.0, script=script)
    if counts["arabic"] >= 2 or counts["arabic"] == letters:
        return replace(_arabic_script(text), script="arabic")
    if counts["other"] > counts["latin"]:
        return Detection(None, 0.99, unsupported=True, script="other")
    return replace(_latin_script(text), script="latin")


# --- the reference backends, as the libraries ship them --------------------------------


def _detect_langdetect(text: str) -> Detection:
    """langdetect unrestricted: its best language, if that is one of ours."""
    from langdetect import DetectorFactory, detect_langs
    from langdetect.lang_detect_exception import LangDetectException

    DetectorFactory.seed = 0  # langdetect is random otherwise
    try:
        best = detect_langs(text)[0]
    except (LangDetectException, IndexError):
        return NOTHING
    if best.lang in FROM_LANGDETECT:
        return Detection(FROM_LANGDETECT[best.lang], best.prob)
    return Detection(None, best.prob, unsupported=best.prob >= CONFIDENT, other=best.lang)


def _detect_lingua(text: str) -> Detection:
    """Lingua restricted to the supported languages it knows (not Tigrinya)."""
    values = _lingua_values("restricted", text)
    best = max(values, key=values.__getitem__)
    return Detection(best, values[best]) if values[best] > 0 else NOTHING


def preload(backend: str | None = None) -> None:
    """Build the detectors and load their models now (a few seconds) rather
    than while a resident waits for the first answer."""
    for language in LANGUAGES.values():
        detect(language.sample, backend)


_BACKENDS = {"hubguide": _detect_hubguide, "langdetect": _detect_langdetect, "lingua": _detect_lingua}


def detect(text: str, backend: str | None = None) -> Detection:
    """The best supported language for ``text`` and its probability, or a
    confident verdict that it is a language we do not support.

    Text without letters (digits, emoji, punctuation) detects as nothing.
    ``backend`` is one of ``BACKENDS``; by default ``$LANGID_BACKEND`` or
    ``hubguide``.
    """
    name = backend or BACKEND
    if name not in _BACKENDS:
        raise ValueError(f"unknown language detection backend {name!r}; choose one of {BACKENDS}")
    if not any(ch.isalpha() for ch in text):
        return NOTHING
    return _BACKENDS[name](text)


def decide(text: str, stored: str | None, chosen: str | None = None) -> str | None:
    """The resident's language for this message, decided in one place.

    In order:

    1. a supported ``chosen`` language (the web chat's picker) wins;
    2. a message that asks for a language ("English please", "بالعربي");
    3. a button payload ("/affirm") says nothing of language: the stored
       language, or the default;
    4. a confident detection of a supported language switches to it;
    5. a confident detection of an unsupported language returns None (the
       caller shows the language menu) when nothing is stored, or when it
       rests on at least ``STRONG_WORDS`` words; a shorter message that merely
       looks Turkish or Kurdish keeps the stored language;
    6. a message in a script the stored language is not written in (Arabic
       script while Swedish is stored) takes the best guess in that script,
       Arabic or Persian, even when unsure which of the two;
    7. otherwise the stored language stays;
    8. with nothing stored, the best supported guess, or None when the text
       has no letters at all (the caller then uses the default language).

    None therefore means "no supported language": show the language menu, in
    the default language.
    """
    if chosen in LANGUAGES:
        return chosen
    asked = explicit_choice(text)
    if asked:
        return asked
    has_stored = stored in LANGUAGES
    if text.lstrip().startswith("/"):
        return stored if has_stored else DEFAULT_LANGUAGE
    detection = detect(text)
    if detection.confident:
        return detection.language
    if detection.unsupported:
        if has_stored and letter_word_count(text) < STRONG_WORDS:
            return stored
        return None
    if has_stored:
        if detection.language and detection.script not in (None, "latin", SCRIPTS.get(stored or "")):
            return detection.language  # Arabic script is never Swedish: Arabic or Persian, then
        return stored
    return detection.language
