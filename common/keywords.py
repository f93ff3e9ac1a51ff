"""SMS keywords, alone in a message, in every supported language and any case:
opt-out, opt back in, help, and erase (asks for a code that confirms erasing the
resident's messages and number). Shared by both channels; the gateway handles
them before the bot or a coordinator sees the message. The words are each
language's ``stop``, ``start``, ``help`` and ``erase`` in the language table
(``data/languages.yml``)."""

from __future__ import annotations

import unicodedata

from common.languages import LANGUAGES

# Twilio itself handles these English words (only as a single word): it
# records the opt-out or opt-in and confirms, so we must not answer them too.
TWILIO_STOP = frozenset({"stop", "stopall", "unsubscribe", "cancel", "end", "quit", "revoke", "optout"})
TWILIO_START = frozenset({"start", "unstop"})

KINDS = ("stop", "start", "help", "erase")
# By kind, then language: the words of the table.
WORDS: dict[str, dict[str, tuple[str, ...]]] = {
    kind: {code: getattr(language, kind) for code, language in LANGUAGES.items()} for kind in KINDS
}


def _normal(text: str) -> str:
    folded = unicodedata.normalize("NFC", text.casefold())
    return " ".join(folded.strip(" .!?,؟،").split())


# A word two languages share (توقف: Arabic and Persian) counts for the later one.
_LOOKUP = {
    _normal(word): (kind, language)
    for kind, by_language in WORDS.items()
    for language, words in by_language.items()
    for word in words
}


def match(text: str) -> tuple[str, str] | None:
    """(kind, language) when the whole message is a keyword, else None."""
    return _LOOKUP.get(_normal(text))


def handled_by_twilio(text: str) -> bool:
    """Twilio answers these itself on SMS (its own opt-out and opt-in)."""
    word = _normal(text)
    return word in TWILIO_STOP or word in TWILIO_START
