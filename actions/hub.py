"""Finding the nearest hub and handing the resident over."""
from __future__ import annotations

from typing import Any

from rasa_sdk import Action, FormValidationAction, Tracker
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher

from bot import hubs
from bot.languages import DEFAULT_LANGUAGE

NO_NOTE = "-"  # the form needs a value; this one means the resident added nothing


def hub_list() -> str:
    return "\n".join(f"{i} {hub.area}" for i, hub in enumerate(hubs.directory().routable, 1))


class ValidateHandoffForm(FormValidationAction):
    def name(self) -> str:
        return "validate_handoff_form"

    def validate_area(self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker,
                      domain: dict[str, Any]) -> dict[str, Any]:
        text = value if isinstance(value, str) else ""
        hub = hubs.hub_by_number(text)
        area = hub.area if hub else None
        if hub is None:
            place = hubs.match_place(text)
            if place is not None:
                hub, area = hubs.nearest_hub(place.point), place.name
        if hub is None:
            dispatcher.utter_message(response="utter_area_unknown", hub_list=hub_list())
            return {"area": None}
        return {"area": area, "hub": hub.slug, "hub_name": hub.name}

    def validate_note(self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker,
                      domain: dict[str, Any]) -> dict[str, Any]:
        """A short description in the resident's own words, or none ("no")."""
        intent = (tracker.latest_message.get("intent") or {}).get("name")
        text = value.strip() if isinstance(value, str) else ""
        if intent == "deny" or not text or text.startswith("/"):
            return {"note": NO_NOTE}
        return {"note": text[:500]}


class ActionHandoff(Action):
    """Asks the gateway to store the handoff (the ``handoff`` payload), then
    tells the resident what happens next. The gateway stores it before it
    delivers that message, in the same transaction."""

    def name(self) -> str:
        return "action_handoff"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: dict[str, Any]) -> list[dict[str, Any]]:
        dispatcher.utter_message(json_message={"handoff": {
            "hub": tracker.get_slot("hub"),
            "language": tracker.get_slot("language") or DEFAULT_LANGUAGE,
            "topic": tracker.get_slot("topic"),
            "area": tracker.get_slot("area"),
            "note": None if tracker.get_slot("note") == NO_NOTE else tracker.get_slot("note"),
        }})
        dispatcher.utter_message(response="utter_handoff_done")
        return [SlotSet("area", None), SlotSet("note", None)]
