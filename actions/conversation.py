"""Actions every conversation uses."""
from __future__ import annotations

from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher

from bot.languages import DEFAULT_LANGUAGE, is_supported
from bot.topics import QUESTIONS


class ActionReadMessage(Action):
    """Custom slot mapping: copies the language and channel the gateway sent
    (the ``language`` message property set by ``bot.nlu.LanguageTagger``) and
    the topic of the latest question into slots."""

    def name(self) -> str:
        return "action_read_message"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: dict[str, Any]) -> list[dict[str, Any]]:
        message = tracker.latest_message or {}
        metadata = message.get("metadata") or {}
        events = []
        # Button payloads ("/greet") skip the NLU pipeline, so read the metadata too.
        given = metadata.get("language")
        language = message.get("language") or (given if is_supported(given) else None) \
            or tracker.get_slot("language") or DEFAULT_LANGUAGE
        if language != tracker.get_slot("language"):
            events.append(SlotSet("language", language))
        channel = message.get("channel") or metadata.get("channel") or tracker.get_slot("channel") \
            or "web"
        if channel != tracker.get_slot("channel"):
            events.append(SlotSet("channel", channel))
        intent = (message.get("intent") or {}).get("name")
        in_form = bool((tracker.active_loop or {}).get("name"))  # a note in the handoff form is not a new topic
        if intent in QUESTIONS and not in_form and intent != tracker.get_slot("topic"):
            events.append(SlotSet("topic", intent))
        return events
