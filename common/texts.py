"""What the gateway itself says to residents (not the bot's answers, which
live in ``domain/``).

Swedish is the source, written here. The other languages come from the
translator catalogues (locale/<lang>/LC_MESSAGES/hubguide.po) through
``locale/texts.json``, which ``python -m common.translations`` generates
(docs/translations.md): edit a translation in its catalogue, never here.

Borås has no hubs and no coordinators: the City of Borås's own staff answer its residents'
handoffs (data/hubs.yml). A text that names the hub or its coordinator has a Borås variant under
``<key>/boras`` (as the domain's ``utter_x/sms/boras``), which ``text(key, language, "boras")``
chooses; a key without one reads the same in both cities.
"""

from __future__ import annotations

import json

from common.languages import DEFAULT_LANGUAGE, fold
from common.paths import ROOT

TRANSLATIONS_FILE = ROOT / "locale" / "texts.json"

SWEDISH: dict[str, str] = {
    # The bot could not be reached; the message is kept and answered later.
    "bot_unavailable": "Förlåt, jag kan inte svara just nu. Ditt meddelande är sparat. "
    "Du får ett svar så snart tjänsten fungerar igen.",
    # SMS keywords (common/keywords.py): confirmed once, in the keyword's language.
    "opted_out": "Du får inga fler SMS från hubbguiden. Skriv STARTA om du vill börja igen.",
    "opted_in": "Välkommen tillbaka! Skriv din fråga om jobb, studier eller att starta företag.",
    "help_keyword": "Hubbguiden är en chattbot för de lokala hubbarna. Den svarar om jobb, studier och företag. "
    "Skriv STOPP för att inte få fler SMS.",
    # An MMS with pictures or files and no text.
    "media_only": "Tack! Jag kan bara läsa text. Skriv din fråga med ord.",
    # To the resident when the coordinator closes the handoff: the bot answers again.
    "handoff_closed": "Koordinatorn har avslutat samtalet. Tack! Du kan skriva till mig igen när du vill.",
    "handoff_closed/boras": "Borås Stads personal har avslutat samtalet. Tack! "
    "Du kan skriva till mig igen när du vill.",
    # A resident writes a help or language keyword while a coordinator has the conversation.
    "handoff_open": "Koordinatorn har ditt ärende och svarar dig här. Skriv STOPP om du inte vill ha fler SMS.",
    "handoff_open/boras": "Borås Stads personal har ditt ärende och svarar dig här. "
    "Skriv STOPP om du inte vill ha fler SMS.",
    # After a handoff (gateway/promise.py), joined to the bot's "Klart...": when to expect an answer,
    # from the hours the hub's coordinators keep in the inbox. common/when.py fills in the fields:
    # {hours} "måndag-fredag 9-16", {time} "13:00", {weekday} "lördag", {day} "måndag 15 december".
    # Over SMS the hours sentence is left out when the turn would not fit its budget.
    "handoff_hours_unknown": "Vi känner inte till öppettiderna där ännu, så vi kan inte säga när du får svar.",
    "handoff_hours": "Koordinatorn svarar {hours}.",
    "handoff_hours/boras": "Borås Stads personal svarar {hours}.",
    "handoff_expect_now": "Hubben har öppet nu, så räkna med svar i dag.",
    "handoff_expect_now/boras": "Personalen arbetar nu, så räkna med svar i dag.",
    "handoff_expect_today": "Räkna med svar i dag från kl. {time}.",
    "handoff_expect_day": "Det är {weekday} nu, så räkna med svar {day}.",
    "handoff_expect_closed": "Hubben har stängt några dagar, så räkna med svar {day}.",
    "handoff_expect_closed/boras": "Personalen är ledig några dagar, så räkna med svar {day}.",
    "handoff_expect_unknown": "Hubben har stängt en tid framöver, så vi kan inte säga när du får svar.",
    "handoff_expect_unknown/boras": "Personalen är ledig en tid framöver, så vi kan inte säga när du får svar.",
    # After a handoff in the web chat: the hub's facts its coordinators keep in the inbox, each
    # only when it is known. {hours} as above; {languages} "arabiska och somaliska".
    "hub_address": "Adress: {address}.",
    "hub_phone": "Telefon: {phone}.",
    "hub_drop_in": "Drop-in utan att boka tid: {hours}.",
    "hub_languages": "Personalen där talar {languages}.",
    # The bot asked for a handoff the gateway could not store (an unknown hub).
    "handoff_failed": "Förlåt, jag kunde inte skicka din fråga vidare just nu. Försök igen om en stund.",
    # To a coordinator's phone: nothing that identifies the resident (Swedish only).
    "coordinator_alert": "Hubbguiden: en ny person vill ha kontakt ({topic}, {language}). Öppna inkorgen: {url}",
    # A crisis message (common/crisis.py): 112 and the right line first, before
    # anything else, also during a handoff and after an opt-out. The numbers
    # are in data/sources/crisis.yml. Each fits three SMS segments.
    "crisis_suicide": "Du är inte ensam. Är ditt liv i fara nu: ring 112. Självmordslinjen svarar dygnet runt: "
    "ring 90101 eller chatta på mind.se. Jag har också sagt till personalen på hubben.",
    "crisis_violence": "Är du i fara nu: ring 112. Kvinnofridslinjen svarar dygnet runt, gratis och med tolk: "
    "020-50 50 50. Jag har också sagt till personalen på hubben.",
    "crisis_child": "Är ett barn i fara nu: ring 112. Barn och unga kan ringa Bris dygnet runt: 116 111. "
    "Socialjouren i Göteborg, kvällar och helger: 031-365 87 00. "
    "Jag har också sagt till personalen på hubben.",
    "crisis_medical": "Är det akut: ring 112 nu. Vill du ha råd om vård: ring 1177, dygnet runt. "
    "Jag har också sagt till personalen på hubben.",
    "crisis_shelter": "Har du ingenstans att sova i natt: kontakta socialtjänsten i din kommun. Socialjouren i "
    "Göteborg, kvällar och helger: 031-365 87 00. Är du i fara: ring 112. "
    "Jag har också sagt till personalen på hubben.",
    # To a coordinator's phone (or the admins' when no hub is known): nothing
    # that identifies the resident, only that a crisis message waits.
    "crisis_alert": "Hubbguiden: ett meddelande kan handla om en kris ({kind}, {language}). Läs det nu: {url}",
    # Erasure by SMS keyword (RADERA, DELETE...; gateway/erasure.py): the code to send back confirms,
    # anything else cancels, so a typo erases nothing.
    "erase_confirm": "Vill du att vi raderar allt du har skrivit till oss och ditt nummer? Svara {code} inom "
    "{minutes} minuter för att bekräfta. Allt annat avbryter.",
    "erase_done": "Klart: dina meddelanden och ditt nummer är raderade. Skriver du igen börjar vi från början.",
    "erase_cancelled": "Inget har raderats. Skriv RADERA om du vill att vi raderar dina uppgifter.",
    # The privacy notice (GDPR Art. 13), once per resident, after the first SMS reply it fits in;
    # {url} is the privacy page (gateway/privacy.py).
    "privacy_notice": "Vi sparar dina meddelanden i {days} dagar. Skriv RADERA så raderar vi dem. Mer: {url}",
    # The privacy page (/privacy?lang=...): who is responsible, what is kept, how long, how to erase.
    "web_privacy_title": "Dina uppgifter i hubbguiden",
    "web_privacy_intro": "Hubbguiden sparar det du skriver, det den svarar och ditt telefonnummer. Vi använder "
    "det bara för att svara dig och, om du ber om det, ge dig kontakt med en koordinator "
    "på en hubb.",
    "web_privacy_controller": "Ansvarig för dina uppgifter: {name}",
    "web_privacy_contact": "Kontakt: {contact}",
    "web_privacy_kept": "Så länge sparar vi dem",
    "web_privacy_messages": "Det du skriver och det hubbguiden svarar: {days} dagar. Har du ett ärende hos en "
    "koordinator sparas det tills ärendet är avslutat.",
    "web_privacy_handoffs": "Ett ärende hos en koordinator: {days} dagar efter att det avslutats. Det du skrev "
    "i ärendet: {summary_days} dagar efter att det avslutats.",
    "web_privacy_statistics": "Statistiken räknar bara antal, utan namn, nummer eller meddelanden.",
    "web_privacy_erase_title": "Radera dina uppgifter",
    "web_privacy_erase": "Skriv RADERA till oss, i ett SMS eller i chatten. Du får en kod: skicka den inom "
    "{minutes} minuter, så raderar vi dina meddelanden och ditt nummer. Du kan också be "
    "personalen på hubben om det.",
    "web_privacy_stop": "Har du skrivit STOPP sparar vi bara en kod som inte kan göras om till ditt nummer, så "
    "att du inte får fler SMS.",
    "web_privacy_rights": "Du har rätt att få veta vilka uppgifter vi har om dig, att få fel rättade och att "
    "klaga hos Integritetsskyddsmyndigheten (IMY).",
    # The web chat page's link to the privacy page.
    "web_privacy_link": "Om dina uppgifter",
    # Shown when a message is in a language the assistant does not speak, in
    # every language at once ("Välj språk / Choose language / ..."); the
    # buttons (one per language) follow, numbered over SMS.
    "language_menu": "Välj språk",
    # The web chat page.
    "web_title": "Hubbguiden",
    "web_picker_label": "Språk",
    "web_hint": "Skriv din fråga…",
    # The line under the page's title: what this is (the same promise as utter_greet).
    "web_intro": "En chattbot som svarar på frågor om jobb, studier och att starta företag. "
    "Den kan också ge dig kontakt med en koordinator på närmaste hubb.",
    # The language picker's submit button (the page works without JavaScript).
    "web_picker_button": "Byt språk",
    # The chat's send button, for screen readers (it shows only an icon).
    "web_send": "Skicka",
    # The web chat's button that ends the conversation and clears it from the browser (shared computers).
    "web_end": "Avsluta samtalet",
    # A web chat message over the rate limit: it was not taken in, the resident sends it again.
    "web_slow_down": "Ditt meddelande kom inte fram: du skriver fortare än jag hinner svara. "
    "Vänta en stund och skicka det igen.",
}
# Read by coordinators, not residents: Swedish only, not in the catalogues.
UNTRANSLATED = frozenset({"coordinator_alert", "crisis_alert"})


def _with_translations() -> dict[str, dict[str, str]]:
    """key -> language -> text; a text a catalogue has not translated (or whose
    Swedish changed since) is missing here, and ``text`` says it in Swedish."""
    translated = json.loads(TRANSLATIONS_FILE.read_text(encoding="utf-8")) if TRANSLATIONS_FILE.exists() else {}
    return {
        key: {
            DEFAULT_LANGUAGE: swedish,
            **{language: texts[key] for language, texts in translated.items() if key in texts},
        }
        for key, swedish in SWEDISH.items()
    }


TEXTS: dict[str, dict[str, str]] = _with_translations()


def language_menu() -> tuple[str, list[dict]]:
    """The language menu's text and its buttons: each button's payload is a
    word that chooses its language (``common.languages.explicit_choice``)."""
    from common.languages import LANGUAGES

    buttons = [{"title": lang.endonym, "payload": lang.choose[0]} for lang in LANGUAGES.values()]
    return " / ".join(dict.fromkeys(text("language_menu", code) for code in LANGUAGES)) + ":", buttons


def text(key: str, language: str | None, municipality: str | None = None) -> str:
    """The text in ``language`` (Swedish when it has no translation), in ``municipality``'s variant
    where the key has one: "Borås" as data/hubs.yml and the database write it, or the
    ``municipality`` slot's "boras"; None when it is not known."""
    variants = (TEXTS.get(f"{key}/{fold(municipality)}") if municipality else None) or TEXTS[key]
    return variants.get(language or DEFAULT_LANGUAGE) or variants[DEFAULT_LANGUAGE]
