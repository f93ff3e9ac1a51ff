"""SMS keywords, alone in a message, in every supported language and any case:
opt-out, opt back in, and help. Shared by both channels; the gateway handles
them before the bot or a coordinator sees the message."""
from __future__ import annotations

import unicodedata

# Twilio itself handles these English words (only as a single word): it
# records the opt-out or opt-in and confirms, so we must not answer them too.
TWILIO_STOP = frozenset({"stop", "stopall", "unsubscribe", "cancel", "end", "quit", "revoke", "optout"})
TWILIO_START = frozenset({"start", "unstop"})

WORDS: dict[str, dict[str, tuple[str, ...]]] = {
    "stop": {
        "sv": ("stopp", "avsluta", "sluta"),
        "en": tuple(sorted(TWILIO_STOP)),
        "ar": ("توقف", "ايقاف", "إيقاف", "الغاء", "إلغاء"),
        "so": ("jooji", "joojin"),
        "fa": ("توقف", "لغو", "قطع"),
        # The texts address residents in the respectful plural ("... ኣቋርጽ ጸሓፉ"),
        # so the plural commands count too, and the አ spellings Ethiopian phones give.
        "ti": ("ኣቋርጽ", "ደው በል", "ኣቋርጹ", "ደው በሉ", "አቋርጽ", "አቋርጹ"),
    },
    "start": {
        "sv": ("starta",),
        "en": tuple(sorted(TWILIO_START)),
        "ar": ("ابدأ", "ابدا", "بدء"),
        "so": ("bilow",),
        "fa": ("شروع",),
        "ti": ("ጀምር", "ጀምሩ"),
    },
    "help": {
        "sv": ("hjälp", "hjalp"),
        "en": ("help", "info"),
        "ar": ("مساعدة", "مساعده"),
        "so": ("caawimaad", "caawi"),
        "fa": ("کمک", "راهنما"),
        "ti": ("ሓገዝ",),
    },
}


def _normal(text: str) -> str:
    folded = unicodedata.normalize("NFC", text.casefold())
    return " ".join(folded.strip(" .!?,؟،").split())


_LOOKUP = {word: (kind, language) for kind, by_language in WORDS.items()
           for language, words in by_language.items() for word in words}


def match(text: str) -> tuple[str, str] | None:
    """(kind, language) when the whole message is a keyword, else None."""
    return _LOOKUP.get(_normal(text))


def handled_by_twilio(text: str) -> bool:
    """Twilio answers these itself on SMS (its own opt-out and opt-in)."""
    word = _normal(text)
    return word in TWILIO_STOP or word in TWILIO_START
