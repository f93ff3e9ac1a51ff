"""What the gateway itself says to residents (not the bot's answers, which
live in ``domain/``). One entry per text, one variant per language."""
from __future__ import annotations

from bot.languages import DEFAULT_LANGUAGE

TEXTS: dict[str, dict[str, str]] = {
    # The bot could not be reached; the message is kept and answered later.
    "bot_unavailable": {
        "sv": "Förlåt, jag kan inte svara just nu. Ditt meddelande är sparat. "
              "Du får ett svar så snart tjänsten fungerar igen.",
        "en": "Sorry, I cannot answer right now. Your message is saved. "
              "You will get an answer as soon as the service works again.",
    },
    # The web chat page.
    "web_title": {"sv": "Hubbguiden", "en": "The hub guide"},
    "web_picker_label": {"sv": "Språk", "en": "Language"},
    "web_hint": {"sv": "Skriv din fråga…", "en": "Write your question…"},
}


def text(key: str, language: str | None) -> str:
    variants = TEXTS[key]
    return variants.get(language or DEFAULT_LANGUAGE) or variants[DEFAULT_LANGUAGE]
