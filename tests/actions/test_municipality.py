"""The ``municipality`` slot: set from a place the resident names, the hub the
handoff form routes them to, or the hub of an earlier handoff (the gateway's
metadata); Skåne's namesakes and other Norrbys never make anyone a Borås resident."""

import asyncio

import pytest
from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions import municipality
from actions.conversation import ActionReadMessage
from actions.hub import ValidateHandoffForm


def tracker(text: str, intent: str = "learn_swedish", slot: str | None = None, metadata: dict | None = None):
    message = {"text": text, "intent": {"name": intent}, "metadata": metadata or {}}
    return Tracker("resident", {"municipality": slot}, message, [], False, None, {}, "action_listen")


def after(text: str, intent: str = "learn_swedish", slot: str | None = None, metadata: dict | None = None):
    """The slot's value after the message."""
    events = municipality.update(tracker(text, intent, slot, metadata))
    assert all(e["name"] == "municipality" for e in events) and len(events) <= 1
    return events[0]["value"] if events else slot


@pytest.mark.parametrize(
    "text, expected",
    [
        ("hur läser jag sfi i Borås", "boras"),
        ("I live in Hulta, how do I learn Swedish?", "boras"),  # the police's "Hässleholmen/Hulta"
        ("komvux brämhult", "boras"),
        ("أسكن في بوروس وأريد أن أتعلم السويدية", "boras"),  # Borås in Arabic script
        ("Norrby, Borås", "boras"),
        ("sfi i Hjällbo", "goteborg"),
        ("Länsmansgården", "goteborg"),
        ("jag bor vid Opaltorget", "goteborg"),
        ("ኣብ Tuve እነብር", "goteborg"),
    ],
)
def test_a_place_written_out_sets_its_municipality(text, expected):
    assert after(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "jag bor i Hässleholm",  # the town in Skåne
        "jag bor i Hässleholm och vill läsa sfi",
        "Sjöbo",  # a municipality in Skåne, and a district of Borås
        "jag bor på Norrby",  # many places are called Norrby
        "sfi",
        "/learn_swedish",  # a button's payload is not a place
    ],
)
def test_namesakes_and_messages_without_a_place_make_nobody_a_borås_resident(text):
    assert after(text) is None
    assert after(text, intent="inform_area") is None


def test_a_misspelt_place_counts_only_when_the_resident_says_where_they_live():
    assert after("hjälbo", intent="inform_area") == "goteborg"
    assert after("hjälbo") is None  # a question that happens to be one letter from a place name
    assert after("506 30", intent="inform_area") == "boras"  # a Borås postal code


def test_a_place_outside_göteborg_and_borås_clears_it_only_when_they_live_there():
    assert after("när går tåget till Stockholm", intent="out_of_scope", slot="boras") == "boras"
    assert after("jag bor i Mölndal", intent="inform_area", slot="boras") is None


def test_the_latest_place_named_wins():
    assert after("jag har flyttat till Borås", intent="inform_area", slot="goteborg") == "boras"
    assert after("sfi i Göteborg", slot="boras") == "goteborg"


def test_the_hub_of_an_earlier_handoff_fills_it_only_while_it_is_empty():
    assert after("sfi", metadata={"hub": "hassleholmen"}) == "boras"
    assert after("sfi", metadata={"hub": "norrby"}) == "boras"
    assert after("sfi", metadata={"hub": "bergsjon"}) == "goteborg"
    assert after("sfi", metadata={"hub": "no-such-hub"}) is None
    assert after("sfi", slot="goteborg", metadata={"hub": "hassleholmen"}) == "goteborg"  # said in this conversation
    assert after("sfi i Hjällbo", metadata={"hub": "hassleholmen"}) == "goteborg"


def test_the_slot_mapping_action_sets_it_with_the_language_and_channel():
    message = {
        "text": "hur läser jag sfi i Borås",
        "intent": {"name": "learn_swedish"},
        "language": "sv",
        "metadata": {"language": "sv", "channel": "sms"},
    }
    tracker = Tracker("resident", {}, message, [], False, None, {}, "action_listen")
    events = asyncio.run(ActionReadMessage().run(CollectingDispatcher(), tracker, {}))
    assert {"name": "municipality", "value": "boras"} in [{"name": e["name"], "value": e["value"]} for e in events]
    assert {e["name"] for e in events} >= {"language", "channel", "municipality"}


def chosen_by_form(text: str, intent: str = "inform_area", slots: dict | None = None) -> dict:
    message = {"text": text, "intent": {"name": intent}}
    tracker = Tracker("resident", slots or {}, message, [], False, None, {"name": "handoff_form"}, "action_listen")
    return ValidateHandoffForm().validate_area(text, CollectingDispatcher(), tracker, {})


@pytest.mark.parametrize(
    "text, hub, expected",
    [("Hulta", "hassleholmen", "boras"), ("7", "norrby", "boras"), ("Hjällbo", "hjallbo", "goteborg")],
)
def test_the_handoff_form_sets_it_with_the_hub(text, hub, expected):
    result = chosen_by_form(text)
    assert result["hub"] == hub and result["municipality"] == expected


def test_a_resident_outside_who_takes_the_nearest_hub_lives_in_neither_city():
    result = chosen_by_form("ja", "affirm", {"area_offer": {"hub": "tynnered", "area": "Mölndal"}})
    assert result["hub"] == "tynnered" and result["municipality"] is None
