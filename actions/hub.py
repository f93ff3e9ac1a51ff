"""Finding the nearest hub and handing the resident over."""

from __future__ import annotations

from typing import Any

from rasa_sdk import Action, FormValidationAction, Tracker
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions import municipality
from common import hubs
from common.languages import DEFAULT_LANGUAGE

NO_NOTE = "-"  # the form needs a value; this one means the resident added nothing


def hub_list() -> str:
    return "\n".join(f"{i} {hub.area}" for i, hub in enumerate(hubs.directory().listed, 1))


def chosen(hub: hubs.HubInfo, area: str, lives_in: str | None) -> dict[str, Any]:
    """The slots for a hub chosen for a resident who lives in the municipality ``lives_in``: the
    hub's own, or None for a resident of a place outside Göteborg and Borås who took the nearest
    hub (neither city's services are theirs)."""
    return {
        "area": area,
        "hub": hub.slug,
        "hub_name": hub.name,
        "area_offer": None,
        municipality.SLOT: municipality.value_of(lives_in),
    }


def spoke_this_turn(tracker: Tracker) -> bool:
    """Whether the bot has already said something since the resident's last message."""
    for event in reversed(tracker.events):
        if event.get("event") == "user":
            return False
        if event.get("event") == "bot":
            return True
    return False


class ValidateHandoffForm(FormValidationAction):
    def name(self) -> str:
        return "validate_handoff_form"

    def validate_area(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> dict[str, Any]:
        """A hub's number, a place (routed to its hub), or, after we offered the
        nearest hub to a place outside Göteborg and Borås, yes or no to it."""
        text = value if isinstance(value, str) else ""
        hub = hubs.hub_by_number(text)
        if hub is not None:
            return chosen(hub, hub.area, hub.municipality)
        # A resident known to live in Borås means Borås's Norrby by "Norrby" (common/hubs.py only_with).
        lives_in = {"boras": "Borås", "goteborg": "Göteborg"}.get(tracker.get_slot(municipality.SLOT) or "", "")
        place = hubs.match_place(text, known=lives_in)
        hub = hubs.hub_for(place) if place is not None else None
        if place is not None and hub is not None:
            if place.outside:
                dispatcher.utter_message(response="utter_area_outside", place=place.name, hub_name=hub.name)
                return {"area": None, "area_offer": {"hub": hub.slug, "area": place.name}}
            return chosen(hub, place.name, place.municipality)
        offer = tracker.get_slot("area_offer")
        intent = (tracker.latest_message.get("intent") or {}).get("name")
        if place is None and isinstance(offer, dict) and intent == "affirm":
            return chosen(hubs.directory().hub(offer["hub"]), offer["area"], lives_in=None)
        dispatcher.utter_message(response="utter_area_unknown", hub_list=hub_list())
        return {"area": None, "area_offer": None}

    def validate_note(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> dict[str, Any]:
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

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[dict[str, Any]]:
        dispatcher.utter_message(
            json_message={
                "handoff": {
                    "hub": tracker.get_slot("hub"),
                    "language": tracker.get_slot("language") or DEFAULT_LANGUAGE,
                    "topic": tracker.get_slot("topic"),
                    "area": tracker.get_slot("area"),
                    "note": None if tracker.get_slot("note") == NO_NOTE else tracker.get_slot("note"),
                }
            }
        )
        dispatcher.utter_message(response="utter_handoff_done")
        return [SlotSet("area", None), SlotSet("note", None), SlotSet("area_offer", None)]


class ActionAskArea(Action):
    """Asks for the area, unless the validation has just answered (the list of
    hubs, or the offer of the nearest one): one question per turn."""

    def name(self) -> str:
        return "action_ask_area"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[dict[str, Any]]:
        if not spoke_this_turn(tracker):
            dispatcher.utter_message(response="utter_ask_area")
        return []
