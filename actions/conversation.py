"""Actions every conversation uses."""

from __future__ import annotations

from typing import Any

import yaml
from rasa_sdk import Action, Tracker
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions import municipality
from common.custom import OPTIONAL
from common.languages import DEFAULT_LANGUAGE, is_supported
from common.paths import ROOT
from common.topics import QUESTIONS


class ActionReadMessage(Action):
    """Custom slot mapping: copies the language and channel the gateway sent
    (the ``language`` message property set by ``nlu.components.LanguageTagger``),
    the topic of the latest question and the resident's municipality
    (``actions.municipality``) into slots."""

    def name(self) -> str:
        return "action_read_message"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[dict[str, Any]]:
        message = tracker.latest_message or {}
        metadata = message.get("metadata") or {}
        events = []
        # Button payloads ("/greet") skip the NLU pipeline, so read the metadata too.
        given = metadata.get("language")
        language = (
            message.get("language")
            or (given if is_supported(given) else None)
            or tracker.get_slot("language")
            or DEFAULT_LANGUAGE
        )
        if language != tracker.get_slot("language"):
            events.append(SlotSet("language", language))
        channel = message.get("channel") or metadata.get("channel") or tracker.get_slot("channel") or "web"
        if channel != tracker.get_slot("channel"):
            events.append(SlotSet("channel", channel))
        intent = (message.get("intent") or {}).get("name")
        in_form = bool((tracker.active_loop or {}).get("name"))  # a note in the handoff form is not a new topic
        if intent in QUESTIONS and not in_form and intent != tracker.get_slot("topic"):
            events.append(SlotSet("topic", intent))
        return events + municipality.update(tracker)


# Short topic names residents choose from ("did you mean"), per language.
TITLES: dict[str, dict[str, str]] = yaml.safe_load((ROOT / "data" / "titles.yml").read_text(encoding="utf-8"))
# At most this many topics are offered, each at least this likely: a list of
# unlikely topics helps nobody (bench/devset.py measures both).
MAX_CHOICES = 3
MIN_CONFIDENCE = 0.05


def likely_topics(message: dict[str, Any], leaving_out: str | None = None) -> list[str]:
    """The topics a message most likely asks about, best first: the model's
    ranking, answerable topics only (not "hello" or "thanks"), without
    ``leaving_out`` (the topic already answered)."""
    ranking = message.get("intent_ranking") or []
    return [
        r["name"]
        for r in ranking
        if r["name"] in TITLES and r["name"] not in ("none", leaving_out) and r.get("confidence", 0) >= MIN_CONFIDENCE
    ][:MAX_CHOICES]


# An answer the model was less sure of than this is followed by the next likeliest topics, so
# that a resident who got the wrong one chooses the right one instead of writing again. Chosen
# on the real questions (bench/devset.py, 2026-12-06, of 462: right within two turns on the web
# / over SMS / answers that carry the choices / of those, answers right already): without them
# 390 / 390; below 0.4 400 / 395 / 82 / 61; below 0.5 409 / 398 / 157 / 120; below 0.6 410 /
# 398 / 187 / 148. Two choices helped as much as three, and cost less of an SMS.
OTHER_TOPICS_BELOW = 0.5
MAX_OTHER_TOPICS = 2


def other_topics(message: dict[str, Any]) -> list[str]:
    """The likeliest topics after the one answered, when the model was unsure of it (but not so
    unsure that it asked, ``action_did_you_mean``): none for a button's payload ("/job_search",
    confidence 1) or a confident answer."""
    intent = message.get("intent") or {}
    name, confidence = intent.get("name"), intent.get("confidence", 1.0)
    if not name or name == "nlu_fallback" or confidence >= OTHER_TOPICS_BELOW:
        return []
    return likely_topics(message, leaving_out=name)[:MAX_OTHER_TOPICS]


def choices(topics: list[str], language: str) -> list[dict[str, str]]:
    """Buttons that ask about ``topics`` (a bare number over SMS: gateway.replies.button_choice)."""
    return [{"title": TITLES[topic][language], "payload": f"/{topic}"} for topic in topics]


class ActionDidYouMean(Action):
    """When the model is unsure (Rasa's FallbackClassifier), offer the likeliest
    topics as choices instead of a wrong answer or a bare "say it again":
    buttons on the web, numbered lines over SMS, where a bare number chooses
    (the gateway maps it to the button's payload). "None of these" gives the
    menu, which offers a person. Rasa's two-stage fallback asks about one
    intent at a time; residents on cheap phones are better served by one
    short list."""

    def name(self) -> str:
        return "action_did_you_mean"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[dict[str, Any]]:
        language = tracker.get_slot("language") or DEFAULT_LANGUAGE
        topics = likely_topics(tracker.latest_message or {})
        if not topics:
            dispatcher.utter_message(response="utter_default")
            return []
        buttons = choices(topics, language)
        buttons.append({"title": TITLES["none"][language], "payload": "/help"})
        dispatcher.utter_message(response="utter_did_you_mean", buttons=buttons)
        return []


class ActionOfferHandoff(Action):
    """After an answer: when the model was unsure of the topic it answered, the next likeliest
    topics as choices (``other_topics``), then a person at the hub offered
    (``utter_offer_handoff``), last, so that its yes and no stay the web chat's quick replies
    (the widget shows only the last message's; gateway.replies sends an earlier set as buttons
    that stay). Over SMS a bare number still chooses a topic (the numbers are the turn's only
    ones), and the choices that would take the reply past its segment budget are left out,
    the last first: the message after them marks them optional (Rasa's REST channel sends an
    utterance's json_message as a message of its own), and the gateway drops what does not fit
    (gateway.channels.sms)."""

    def name(self) -> str:
        return "action_offer_handoff"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[dict[str, Any]]:
        topics = other_topics(tracker.latest_message or {})
        if topics:
            language = tracker.get_slot("language") or DEFAULT_LANGUAGE
            dispatcher.utter_message(response="utter_other_topics", buttons=choices(topics, language))
            dispatcher.utter_message(json_message=OPTIONAL)
        dispatcher.utter_message(response="utter_offer_handoff")
        return []
