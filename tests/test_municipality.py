"""Answers with a variant per municipality (the ``municipality`` slot, actions/municipality.py).

The other domain tests see only the variants for a resident whose municipality
is not known; these check every variant a Göteborg or Borås resident can get:
one per language and channel, within the SMS budget, its facts registered and no
more than the Swedish states, no language fault, and each municipality's
variant naming its own services and not the other city's."""

from __future__ import annotations

import functools
import itertools
import re

import pytest
import yaml

from common import hubs, texts, translations
from common.languages import LANGUAGES
from common.paths import ROOT
from gateway.channels.gsm import segments
from gateway.channels.sms import render
from gateway.rasa_client import BotReply
from tests.language_check import in_language
from tests.test_language_faults import FAULTS
from tests.test_rasa_project import CHANNELS, DOMAIN, SMS_SEGMENTS, matches, turns
from tests.test_sources import CANONICAL, facts

SLOT = yaml.safe_load((ROOT / "domain" / "conversation.yml").read_text(encoding="utf-8"))["slots"]["municipality"]
VALUES = (None, *SLOT["values"])
MUNICIPAL = sorted(
    name
    for name, variants in DOMAIN["responses"].items()
    if any(c["name"] == "municipality" for v in variants for c in v["condition"])
)
# Service names and addresses that belong to one city; names stay in Swedish in every language.
GOTEBORG = ("goteborg.se", "Arbetsmarknad och vuxenutbildning", "Business Region Göteborg", "Yesbox", "Framtidshubb")
BORAS = ("boras.se", "Vuxenutbildningen Borås", "Arbetslivsförvaltning")
# Answers that name both cities' services to a resident whose municipality is not known.
BOTH = ("utter_learn_swedish", "utter_adult_education", "utter_study_guidance", "utter_job_search")
# The handoff's own questions: who will answer and where, not a city's service.
HANDOFF = ("utter_offer_handoff", "utter_ask_area")


def variant(response: str, language: str, channel: str, municipality: str | None) -> dict:
    slots = {"language": language, "channel": channel, "municipality": municipality}
    found = [v for v in DOMAIN["responses"][response] if matches(v, slots)]
    assert len(found) == 1, f"{response}: {len(found)} variants for {language}/{channel}/{municipality}"
    return found[0]


def every(language: str | None = None):
    for response, code, channel, municipality in itertools.product(MUNICIPAL, LANGUAGES, CHANNELS, VALUES):
        if language in (None, code):
            yield response, code, channel, municipality, variant(response, code, channel, municipality)["text"]


def test_the_slot_has_a_value_for_each_municipality_with_a_hub():
    assert set(SLOT["values"]) == {hubs.normalise(m) for m in hubs.directory().served}
    assert SLOT["type"] == "categorical" and SLOT["influence_conversation"] is False


def test_sfi_komvux_work_and_business_answers_depend_on_the_municipality():
    assert {"utter_learn_swedish", "utter_adult_education", "utter_job_search", "utter_business_advice"} <= set(
        MUNICIPAL
    )


@pytest.mark.parametrize("response", MUNICIPAL)
def test_one_variant_for_each_language_channel_and_municipality(response):
    for language, channel, municipality in itertools.product(LANGUAGES, CHANNELS, VALUES):
        variant(response, language, channel, municipality)  # asserts there is exactly one


@pytest.mark.parametrize("turn", sorted(t for t in turns() if set(t) & set(MUNICIPAL)), ids="+".join)
def test_every_municipality_sms_fits_its_segment_budget(turn):
    for language, municipality in itertools.product(LANGUAGES, VALUES):
        chosen = [variant(response, language, "sms", municipality) for response in turn]
        body = render([BotReply(v["text"], v.get("buttons", [])) for v in chosen])[0]
        assert segments(body) <= SMS_SEGMENTS, f"{language}/{municipality}: {segments(body)} segments: {body!r}"


def test_every_fact_is_registered_and_no_translation_states_more_than_the_swedish():
    unregistered, extra = [], []
    for response, language, channel, municipality, text in every():
        found = {CANONICAL.get(f, f) for f in facts(text)}
        unregistered += [(response, language, f) for f in facts(text) if f not in CANONICAL]
        swedish = {CANONICAL.get(f, f) for f in facts(variant(response, "sv", channel, municipality)["text"])}
        extra += [(response, language, channel, municipality, f) for f in found - swedish]
    assert not unregistered, f"not in data/sources/*.yml: {unregistered}"
    assert not extra, extra


@pytest.mark.parametrize("language", LANGUAGES)
def test_every_variant_is_in_its_language_and_free_of_the_reviews_faults(language):
    wrong = [(r, c, m) for r, _, c, m, text in every(language) if not in_language(text, language)]
    assert not wrong, wrong
    for code, pattern, why in FAULTS:
        if code == language:
            found = [(r, c, m) for r, _, c, m, text in every(language) if re.search(pattern, text)]
            assert not found, f"{why}: {found}"


def test_a_borås_resident_is_never_sent_to_göteborgs_services_nor_the_reverse():
    wrong = []
    for response, language, channel, municipality, text in every():
        other = {"boras": GOTEBORG, "goteborg": BORAS}.get(municipality or "", ())
        wrong += [(response, language, channel, municipality, name) for name in other if name in text]
    assert not wrong, wrong


def test_each_municipality_gets_its_own_services_and_an_unknown_one_both():
    for response, channel in itertools.product(MUNICIPAL, CHANNELS):
        chosen = variant(response, "sv", channel, "boras")
        own = {"utter_business_advice": ("verksamt.se",), **dict.fromkeys(HANDOFF, ("Borås Stad", "Hässleholmen"))}.get(
            response, BORAS
        )  # Borås has no business advice of its own
        if any(c["name"] == "municipality" for c in chosen["condition"]):  # not a text the same for everyone
            assert any(name in chosen["text"] for name in own), (response, channel, chosen["text"])
        if response in BOTH:
            unknown = variant(response, "sv", channel, None)["text"]
            göteborg = variant(response, "sv", channel, "goteborg")["text"]
            assert any(name in unknown for name in BORAS), (response, channel, unknown)
            assert any(name in göteborg for name in GOTEBORG) or "hubben" in göteborg, (response, channel)
            assert any(name in unknown for name in GOTEBORG) or "hubben" in unknown, (response, channel)


def test_boråss_staff_are_not_called_coordinators():
    # An officer from Arbetslivsförvaltningen, a study coach and a study and career counsellor.
    called = [(r, c) for r, _, c, m, text in every("sv") if m == "boras" and re.search(r"(?i)koordinator", text)]
    assert not called, called


def test_the_catalogues_hold_each_municipalitys_text_under_a_key_of_its_own():
    # A translator sees "utter_learn_swedish/sms/boras" beside "utter_learn_swedish/sms" (not known).
    keys = {m.context for m in translations.template() if m.id}
    for response, channel in itertools.product(MUNICIPAL, CHANNELS):
        for municipality in VALUES:
            chosen = variant(response, "sv", channel, municipality)
            # The channel where SMS and web differ, the municipality where it is known.
            named = [c["value"] for c in chosen["condition"] if c["name"] == "channel" or c["name"] == "municipality"]
            assert "/".join([response, *filter(None, named)]) in keys, (response, channel, municipality)


# --- Who answers a handoff: the coordinator at a Göteborg hub, Borås Stad's staff in Borås ------------------------

# Texts that name, in every language, the coordinator; and texts that name the hub. What each
# language's texts share is its word for it (read from the catalogues by ``words``).
SAY_COORDINATOR = (
    "utter_offer_handoff/sms/goteborg",
    "utter_offer_handoff/web/goteborg",
    "text/handoff_hours",
    "text/handoff_closed",
    "text/handoff_open",
)
SAY_HUB = (
    "utter_offer_handoff/sms/goteborg",
    "utter_offer_handoff/web/goteborg",
    "text/handoff_expect_now",
    "text/handoff_expect_closed",
    "title/find_hub",
)
# What a resident reads from the offer to the handoff, and the answer that names the coordinator.
HANDOFF_FLOW = (
    *HANDOFF,
    "utter_area_unknown",
    "utter_ask_note",
    "utter_handoff_done",
    "utter_no_handoff",
    "utter_disability_support",
)


def shared(texts: list[str]) -> str:
    """The longest run of characters every text has (case folded), without the spaces around it.
    Hand-written: difflib's longest match compares two texts, not five."""
    first, *rest = sorted((t.casefold() for t in texts), key=len)
    for size in range(len(first), 0, -1):
        for start in range(len(first) - size + 1):
            if all(first[start : start + size] in t for t in rest):
                return first[start : start + size].strip()
    return ""


@functools.cache
def words() -> dict[str, tuple[str, str]]:
    """Each language's words for the coordinator and for the hub, from the catalogues (the Swedish
    from the texts they translate)."""
    found = {}
    for language in LANGUAGES:
        if language == translations.SOURCE:
            said = {m.context: m.id for m in translations.template() if m.id}
        else:
            said = translations.usable(translations.load(language))
        found[language] = (shared([said[k] for k in SAY_COORDINATOR]), shared([said[k] for k in SAY_HUB]))
    return found


def folded(text: str) -> str:
    """Case folded, without the {fields} the bot fills in ("{hub_name}" is not the word hub)."""
    return re.sub(r"\{\w+\}", "", text).casefold()


def test_each_language_has_a_word_for_the_coordinator_and_for_the_hub():
    assert words()["sv"] == ("koordinator", "hubb") and words()["en"] == ("coordinator", "hub")
    assert all(len(coordinator) >= 4 and len(hub) >= 3 for coordinator, hub in words().values()), words()


@pytest.mark.parametrize("language", LANGUAGES)
def test_only_a_göteborg_resident_is_offered_a_coordinator(language):
    coordinator, hub = words()[language]
    for channel in CHANNELS:
        göteborg, borås, unknown = (
            folded(variant("utter_offer_handoff", language, channel, m)["text"]) for m in ("goteborg", "boras", None)
        )
        assert coordinator in göteborg and hub in göteborg, göteborg
        assert coordinator not in borås and hub not in borås and "borås" in borås, borås
        # Not known yet: true in both cities, the nearest hub or Borås Stad.
        assert coordinator not in unknown and hub in unknown and "borås" in unknown, unknown


@pytest.mark.parametrize("language", LANGUAGES)
def test_a_borås_resident_reads_no_coordinator_and_no_hub_from_offer_to_handoff(language):
    coordinator, hub = words()[language]
    said = [
        (response, channel, folded(variant(response, language, channel, "boras")["text"]))
        for response, channel in itertools.product(HANDOFF_FLOW, CHANNELS)
    ]
    assert not [s for s in said if coordinator in s[2] or hub in s[2]], said
    göteborg = [folded(variant("utter_disability_support", language, c, "goteborg")["text"]) for c in CHANNELS]
    assert all(coordinator in s for s in göteborg), göteborg


@pytest.mark.parametrize("language", LANGUAGES)
def test_the_gateways_texts_after_a_handoff_name_borås_stads_staff_in_borås(language):
    coordinator, hub = words()[language]
    for key in [k for k in texts.SWEDISH if k.startswith("handoff_") and "/" not in k]:
        borås = folded(texts.text(key, language, "boras"))
        assert coordinator not in borås and hub not in borås, (key, borås)
        assert texts.text(key, language, "goteborg") == texts.text(key, language) == texts.text(key, language, None)
    for key in ("handoff_hours", "handoff_closed", "handoff_open"):
        assert coordinator in folded(texts.text(key, language, "goteborg")), key
        assert "borås" in folded(texts.text(key, language, "boras")), key
