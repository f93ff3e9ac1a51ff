"""Is a text written in a given language? Script first, then the detector on
the resident-language words (service and place names are Swedish everywhere)."""

from __future__ import annotations

import re

from common import langid

SCRIPTS = {"ar": "\u0600-\u06ff", "fa": "\u0600-\u06ff", "ti": "\u1200-\u137f"}
LATIN = re.compile(r"[A-Za-zÀ-ÿ]")
# Addresses, (Swedish terms in brackets) and "titles in quotes" are Swedish in every language.
BORROWED = re.compile(r'\S+\.(se|com|org)\S*|\([^)]*\)|"[^"]*"')


def in_language(text: str, language: str) -> bool:
    text = BORROWED.sub(" ", text)
    if language in SCRIPTS:
        own = re.compile(f"[{SCRIPTS[language]}]")
        words = [w for w in text.split() if not LATIN.search(w)]
        letters = [ch for w in words for ch in w if ch.isalpha()]
        if not letters or sum(bool(own.match(ch)) for ch in letters) < 0.8 * len(letters):
            return False
        text = " ".join(words)
    return langid.detect(text).language == language
