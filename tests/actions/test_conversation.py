"""'Did you mean': when the model is unsure, the likeliest answerable topics
as choices, in the resident's language, and within the SMS budget; after an
answer it was unsure of, the next likeliest."""

import asyncio

import pytest
from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions.conversation import (
    MAX_CHOICES,
    MIN_CONFIDENCE,
    OTHER_TOPICS_BELOW,
    TITLES,
    ActionDidYouMean,
    ActionOfferHandoff,
)
from common.custom import OPTIONAL
from common.languages import LANGUAGES
from common.topics import QUESTIONS
from gateway.channels.gsm import segments
from gateway.channels.sms import render
from gateway.rasa_client import BotReply
from tests.test_rasa_project import DOMAIN, matches


def spoken(action, intent: str, confidence: float, ranking: list[tuple[str, float]], language: str) -> list[dict]:
    """What ``action`` says after a message the model ranked so (``intent`` first)."""
    message = {
        "text": "…",
        "intent": {"name": intent, "confidence": confidence},
        "intent_ranking": [{"name": intent, "confidence": confidence}]
        + [{"name": n, "confidence": c} for n, c in ranking],
    }
    tracker = Tracker("resident", {"language": language}, message, [], False, None, {}, "action_listen")
    dispatcher = CollectingDispatcher()
    asyncio.run(action().run(dispatcher, tracker, {}))
    return dispatcher.messages


def unsure(ranking: list[tuple[str, float]], language: str = "sv") -> list[dict]:
    return spoken(ActionDidYouMean, "nlu_fallback", 0.25, ranking, language)


def test_the_likeliest_topics_are_offered_best_first_then_none_of_these():
    said = unsure(
        [("learn_swedish", 0.22), ("greet", 0.2), ("adult_education", 0.18), ("job_search", 0.1), ("housing", 0.09)]
    )
    assert said[0]["response"] == "utter_did_you_mean"
    assert [b["payload"] for b in said[0]["buttons"]] == ["/learn_swedish", "/adult_education", "/job_search", "/help"]
    assert [b["title"] for b in said[0]["buttons"]][-1] == TITLES["none"]["sv"]


def test_with_no_likely_topic_the_resident_is_asked_to_say_it_in_other_words():
    said = unsure([("greet", 0.5), ("thank", 0.3), ("job_search", 0.01)])
    assert [(m["response"], m["buttons"]) for m in said] == [("utter_default", [])]


@pytest.mark.parametrize("language", list(LANGUAGES))
def test_every_answerable_topic_has_a_short_title_in_every_language(language):
    for topic in [*sorted(QUESTIONS), "talk_to_person", "none"]:
        assert TITLES[topic][language].strip(), (topic, language)
        assert len(TITLES[topic][language]) <= 24, (topic, language)


@pytest.mark.parametrize("language", list(LANGUAGES))
def test_the_longest_choice_list_fits_one_sms_budget(language):
    variant = next(
        v for v in DOMAIN["responses"]["utter_did_you_mean"] if matches(v, {"language": language, "channel": "sms"})
    )
    longest = sorted((t for t in TITLES if t != "none"), key=lambda t: -len(TITLES[t][language]))[:MAX_CHOICES]
    buttons = [{"title": TITLES[t][language], "payload": f"/{t}"} for t in longest + ["none"]]
    assert segments(render([BotReply(variant["text"], buttons)])[0]) <= 3


def answered(intent: str, confidence: float, ranking: list[tuple[str, float]], language: str = "sv") -> list[dict]:
    """What action_offer_handoff says after the answer to a message the model ranked so."""
    return spoken(ActionOfferHandoff, intent, confidence, ranking, language)


def test_an_answer_the_model_was_unsure_of_is_followed_by_the_next_likeliest_topics_marked_optional_then_the_offer():
    said = answered(
        "debt", OTHER_TOPICS_BELOW - 0.04, [("thank", 0.2), ("study_finance", 0.17), ("benefits", 0.1), ("tax", 0.09)]
    )
    assert [m.get("response") for m in said] == ["utter_other_topics", None, "utter_offer_handoff"]
    assert [b["payload"] for b in said[0]["buttons"]] == ["/study_finance", "/benefits"]  # not debt, not thanks
    assert [b["title"] for b in said[0]["buttons"]] == [TITLES["study_finance"]["sv"], TITLES["benefits"]["sv"]]
    assert said[1]["custom"] == OPTIONAL


@pytest.mark.parametrize(
    ("intent", "confidence"),
    [("debt", OTHER_TOPICS_BELOW), ("debt", 0.9), ("learn_swedish", 1.0), ("nlu_fallback", 0.2)],
    ids=["at the threshold", "sure", "a button's payload", "not understood"],
)
def test_a_sure_answer_or_a_fallback_only_offers_a_person(intent, confidence):
    said = answered(intent, confidence, [("study_finance", 0.3), ("benefits", 0.2)])
    assert [(m["response"], m["buttons"]) for m in said] == [("utter_offer_handoff", [])]


def test_with_no_other_likely_topic_only_a_person_is_offered():
    said = answered("debt", 0.3, [("greet", 0.3), ("job_search", MIN_CONFIDENCE / 2)])
    assert [m["response"] for m in said] == ["utter_offer_handoff"]
