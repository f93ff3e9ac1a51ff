"""Language identification restricted to the supported languages.

Shared by both environments: imports only the standard library, ``langdetect``
and ``bot.languages``.
"""
from __future__ import annotations

from dataclasses import dataclass

from langdetect import DetectorFactory, detect_langs
from langdetect.lang_detect_exception import LangDetectException

from bot.languages import LANGUAGES

DetectorFactory.seed = 0  # langdetect is random otherwise

# A detection below this probability never changes a resident's language.
CONFIDENT = 0.90


@dataclass(frozen=True)
class Detection:
    language: str | None  # a supported code, or None when nothing fits
    confidence: float

    @property
    def confident(self) -> bool:
        return self.language is not None and self.confidence >= CONFIDENT


def detect(text: str) -> Detection:
    """Best supported language for ``text`` with its probability."""
    if not any(ch.isalpha() for ch in text):
        return Detection(None, 0.0)
    try:
        candidates = detect_langs(text)
    except LangDetectException:
        return Detection(None, 0.0)
    supported = [c for c in candidates if c.lang in LANGUAGES]
    if not supported:
        return Detection(None, 0.0)
    best = max(supported, key=lambda c: c.prob)
    return Detection(best.lang, best.prob)


def decide(text: str, stored: str | None, chosen: str | None = None) -> str:
    """The resident's language for this message, decided in one place.

    In order: an explicit choice (a picker, "English please"), the stored
    preference unless detection is confident of another language, then
    detection, then the default.
    """
    from bot.languages import DEFAULT_LANGUAGE, explicit_choice

    if chosen in LANGUAGES:
        return chosen
    asked = explicit_choice(text)
    if asked:
        return asked
    if text.startswith("/"):  # a button's payload ("/affirm") says nothing of language
        return stored if stored in LANGUAGES else DEFAULT_LANGUAGE
    detection = detect(text)
    if stored in LANGUAGES:
        return detection.language if detection.confident else stored
    return detection.language or DEFAULT_LANGUAGE
