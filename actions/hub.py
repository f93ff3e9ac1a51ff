"""Finding the nearest hub and handing the resident over."""
from __future__ import annotations

from typing import Any

from rasa_sdk import Action, FormValidationAction, Tracker
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher

from bot import handoff, hubs


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


class ActionHandoff(Action):
    """Stores the handoff, then tells the resident what happens next."""

    def name(self) -> str:
        return "action_handoff"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: dict[str, Any]) -> list[dict[str, Any]]:
        stored = handoff.create(handoff.HandoffRequest(
            pseudonym=tracker.sender_id,
            hub_slug=tracker.get_slot("hub") or "",
            language=tracker.get_slot("language") or "sv",
            topic=tracker.get_slot("topic"),
            area=tracker.get_slot("area"),
        ))
        if stored is None:
            dispatcher.utter_message(response="utter_handoff_unavailable")
        else:
            dispatcher.utter_message(response="utter_handoff_done")
        return [SlotSet("area", None)]
