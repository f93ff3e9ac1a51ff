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
        "ar": "عذراً، لا أستطيع الرد الآن. رسالتك محفوظة وستحصل على رد عندما تعمل الخدمة من جديد.",
        "so": "Waan ka xumahay, hadda ma jawaabi karo. Fariintaada waa la kaydiyay. "
              "Jawaab ayaad heli doontaa marka adeeggu mar kale shaqeeyo.",
        "fa": "متأسفم، الان نمی‌توانم جواب بدهم. پیام شما ذخیره شد و وقتی سرویس دوباره کار کند جواب می‌گیرید.",
        "ti": "ይቕረታ፡ ሕጂ ክምልስ ኣይክእልን። መልእኽትኻ ተዓቂቡ ኣሎ። ኣገልግሎት ምስ ተመለሰ መልሲ ክትረክብ ኢኻ።",
    },
    # Shown when a message is in a language the assistant does not speak; the
    # buttons (one per language) follow, numbered over SMS.
    "language_menu": {
        "sv": "Välj språk / Choose language / اختر اللغة / Dooro luqadda / زبان را انتخاب کنید / ቋንቋ ምረጽ:",
    },
    # The web chat page.
    "web_title": {"sv": "Hubbguiden", "en": "The hub guide", "ar": "دليل المركز", "so": "Hagaha xarunta",
                  "fa": "راهنمای هاب", "ti": "መምርሒ ማእከል"},
    "web_picker_label": {"sv": "Språk", "en": "Language", "ar": "اللغة", "so": "Luqadda", "fa": "زبان",
                         "ti": "ቋንቋ"},
    "web_hint": {"sv": "Skriv din fråga…", "en": "Write your question…", "ar": "اكتب سؤالك…",
                 "so": "Qor su'aashaada…", "fa": "سؤال خود را بنویسید…", "ti": "ሕቶኻ ጸሓፍ…"},
}


def language_menu() -> tuple[str, list[dict]]:
    """The language menu's text and its buttons: each button's payload is a
    word that chooses its language (``bot.languages.explicit_choice``)."""
    from bot.languages import LANGUAGES

    buttons = [{"title": lang.endonym, "payload": lang.keywords[0]} for lang in LANGUAGES.values()]
    return TEXTS["language_menu"][DEFAULT_LANGUAGE], buttons


def text(key: str, language: str | None) -> str:
    variants = TEXTS[key]
    return variants.get(language or DEFAULT_LANGUAGE) or variants[DEFAULT_LANGUAGE]
