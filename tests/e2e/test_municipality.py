"""Borås's services for a Borås resident, Göteborg's for a Göteborg resident, both when the
municipality is not known: sfi, Komvux, work and business, in every language, through the trained
model and the action server (actions/municipality.py sets the slot the answers' variants name). A
resident is known by a place they name, by the area they give the handoff form, or, through the
gateway, by the hub of an earlier handoff."""

from __future__ import annotations

import uuid

import httpx
import pytest
import yaml
from sqlalchemy import select

from actions.municipality import named_place
from common import hubs
from common.languages import LANGUAGES
from common.paths import ROOT
from common.topics import TOPICS
from gateway.db import session_scope
from gateway.models import Handoff, Hub, Resident, utcnow
from tests.e2e.conftest import SmsResident
from tests.test_municipality import variant

pytestmark = pytest.mark.e2e

# sfi, Komvux, work, business.
INTENTS = ("learn_swedish", "adult_education", "job_search", "business_advice")
MUNICIPALITY = {"boras": "Borås", "goteborg": "Göteborg"}


def examples(language: str, topic: str, intent: str) -> list[str]:
    data = yaml.safe_load((ROOT / "data" / "nlu" / language / f"{topic}.yml").read_text(encoding="utf-8"))
    block = next(b for b in data["nlu"] if b.get("intent") == intent)
    return [line[2:] for line in block["examples"].splitlines() if line.startswith("- ")]


def question(language: str, intent: str) -> str:
    """A real example of the question that names no place (a place would set the municipality)."""
    topic = next(t for t, intents in TOPICS.items() if intent in intents)
    return next(e for e in examples(language, topic, intent) if hubs.match_place(e) is None)


def lives_in(language: str, municipality: str) -> str:
    """A resident saying, in their language, that they live in a place of that municipality."""
    return next(
        e
        for e in examples(language, "hub", "inform_area")
        if (place := named_place(e, lives_there=False)) is not None and place.municipality == MUNICIPALITY[municipality]
    )


class Chat:
    """One resident's SMS conversation with the Rasa server's REST channel, as the gateway holds it."""

    def __init__(self, stack, language: str) -> None:
        self.stack, self.language = stack, language
        self.sender = f"municipality-{uuid.uuid4().hex}"

    def say(self, message: str) -> list[str]:
        response = httpx.post(
            self.stack.rasa_url + "/webhooks/rest/webhook",
            timeout=30,
            json={"sender": self.sender, "message": message, "metadata": {"language": self.language, "channel": "sms"}},
        )
        return [r["text"] for r in response.json() if r.get("text")]

    def asks(self, intent: str) -> str:
        replies = self.say(question(self.language, intent))
        assert replies, f"no reply to {question(self.language, intent)!r}"
        return replies[0]


def folded(text: str) -> str:
    return hubs.normalise(text)


@pytest.mark.parametrize("language", LANGUAGES)
def test_a_borås_resident_gets_borås_services_and_not_göteborgs(stack, language):
    resident = Chat(stack, language)
    resident.say(lives_in(language, "boras"))
    for intent in INTENTS:
        reply = resident.asks(intent)
        assert reply == variant(f"utter_{intent}", language, "sms", "boras")["text"], (intent, reply)
        assert "goteborg" not in folded(reply), (intent, reply)
        assert ("verksamt" if intent == "business_advice" else "boras") in folded(reply), (intent, reply)


@pytest.mark.parametrize("language", LANGUAGES)
def test_a_göteborg_resident_gets_göteborgs_services_and_not_borås(stack, language):
    resident = Chat(stack, language)
    resident.say(lives_in(language, "goteborg"))
    for intent in INTENTS:
        reply = resident.asks(intent)
        assert reply == variant(f"utter_{intent}", language, "sms", "goteborg")["text"], (intent, reply)
        assert "boras" not in folded(reply), (intent, reply)


@pytest.mark.parametrize("language", LANGUAGES)
def test_a_resident_whose_municipality_is_not_known_gets_both(stack, language):
    resident = Chat(stack, language)
    for intent in INTENTS:
        reply = resident.asks(intent)
        assert reply == variant(f"utter_{intent}", language, "sms", None)["text"], (intent, reply)
        assert "goteborg" in folded(reply) or intent == "job_search", (intent, reply)  # job_search: the hub
        assert "boras" in folded(reply) or intent == "business_advice", (intent, reply)  # business: verksamt.se
        assert reply != variant(f"utter_{intent}", language, "sms", "boras")["text"]


@pytest.mark.parametrize("language", ["sv", "ar"])
def test_the_area_given_to_the_handoff_form_is_remembered(stack, language):
    resident = Chat(stack, language)
    talk = examples(language, "hub", "talk_to_person")[0]
    resident.say(talk)
    resident.say("Hulta")  # the police's "Hässleholmen/Hulta": Borås's outreach point
    resident.say(examples(language, "conversation", "deny")[0])  # no note: the handoff is made
    reply = resident.asks("learn_swedish")
    assert reply == variant("utter_learn_swedish", language, "sms", "boras")["text"], reply


def test_a_resident_handed_over_to_borås_before_gets_borås_services_through_the_gateway(stack):
    number = "+46702230001"
    with session_scope() as session:
        resident = Resident(channel="sms", address=number, language="sv")
        session.add(resident)
        session.flush()
        hub = session.scalars(select(Hub).where(Hub.slug == "hassleholmen")).one()
        session.add(
            Handoff(
                resident_id=resident.id,
                hub_id=hub.id,
                status="closed",
                channel="sms",
                language="sv",
                topic="job_search",
                closed_at=utcnow(),
            )
        )
    phone = SmsResident(stack, number)
    for intent in ("learn_swedish", "adult_education"):
        reply = phone.ask(question("sv", intent))
        assert reply.startswith(variant(f"utter_{intent}", "sv", "sms", "boras")["text"]), reply
        assert "goteborg" not in folded(reply), reply
