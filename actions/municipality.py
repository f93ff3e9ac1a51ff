"""Which municipality a resident lives in, for the ``municipality`` slot.

Göteborg and Borås each have their own sfi, Komvux, labour-market and business
services, so the answers about them have a variant per value of the slot
(``goteborg``, ``boras``) and one for a resident whose municipality is not known
(``null``), which names both. The slot is set from, newest evidence first:

1. a place the resident names (data/places.yml): written out in any message
   ("sfi i Borås", "I live in Hulta"); a misspelt name or a postal code only
   where the model read the message as the resident saying where they live
   (``inform_area``), so a word that is one letter from a place name does not
   move anyone;
2. the hub the handoff form routes them to (``actions.hub``);
3. the hub of their latest handoff, which the gateway sends as the message's
   ``hub`` metadata: only while the slot is empty, so what they say in this
   conversation wins.

A place outside Göteborg and Borås clears the slot only when the resident says
they live there: "the train to Stockholm" does not forget that they live in Borås.
"""

from __future__ import annotations

from typing import Any

from rasa_sdk import Tracker
from rasa_sdk.events import SlotSet

from common import hubs

SLOT = "municipality"
LIVES_IN = "inform_area"  # the intent of "I live in ..."


def value_of(municipality: str | None) -> str | None:
    """The slot's value for a municipality of the data ("Borås" -> "boras"); None for one without
    an active hub, whose services the assistant does not describe, and for None."""
    return hubs.normalise(municipality) if municipality in hubs.directory().served else None


def of_hub(slug: Any) -> str | None:
    """The slot's value for the municipality of a hub, by its slug; None for an unknown hub."""
    hub = next((h for h in hubs.directory().hubs if h.slug == slug), None)
    return value_of(hub.municipality) if hub is not None else None


def mentions(text: str, place: hubs.Place) -> bool:
    """Whether the text writes one of the place's names out in full (no typo, no postal code)."""
    padded = f" {hubs.normalise(text)} "
    names = (place.name, *place.aliases, *place.scripts, *place.name.split("/"))
    return any(f" {name} " in padded for name in map(hubs.normalise, names) if name)


def named_place(text: str, lives_there: bool) -> hubs.Place | None:
    """The place a message names: any way ``hubs.match_place`` finds it when the resident is
    telling where they live, else only a name written out."""
    place = hubs.match_place(text) if text and not text.startswith("/") else None
    if place is None or lives_there or mentions(text, place):
        return place
    return None


def update(tracker: Tracker) -> list[dict[str, Any]]:
    """The slot event for the latest message, if it changes the slot."""
    message = tracker.latest_message or {}
    lives_there = (message.get("intent") or {}).get("name") == LIVES_IN
    current = tracker.get_slot(SLOT)
    value = current
    place = named_place(message.get("text") or "", lives_there)
    if place is not None and (lives_there or not place.outside):
        value = value_of(place.municipality)
    elif current is None:
        value = of_hub((message.get("metadata") or {}).get("hub"))
    return [SlotSet(SLOT, value)] if value != current else []
