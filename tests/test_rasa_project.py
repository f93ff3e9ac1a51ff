"""The Rasa project itself: data, domain and the trained model agree."""

from __future__ import annotations

import itertools
import subprocess
from pathlib import Path

import pytest
import yaml

from actions.hub import hub_list
from common import hubs
from common.languages import LANGUAGES
from common.paths import ROOT
from common.texts import language_menu
from common.topics import TOPICS
from gateway.channels.gsm import segments
from gateway.channels.sms import render
from gateway.rasa_client import BotReply
from stack import model
from tests.language_check import in_language

CHANNELS = ("sms", "web")
SMS_SEGMENTS = 3


def load_domain() -> dict:
    merged: dict = {"intents": [], "responses": {}}
    for path in sorted((ROOT / "domain").glob("*.yml")):
        part = yaml.safe_load(path.read_text(encoding="utf-8"))
        merged["intents"] += part.get("intents", [])
        merged["responses"].update(part.get("responses", {}))
    return merged


DOMAIN = load_domain()


def matches(variant: dict, slots: dict) -> bool:
    return all(slots.get(c["name"]) == c["value"] for c in variant.get("condition", []))


@pytest.mark.parametrize("response", sorted(DOMAIN["responses"]))
def test_every_response_has_exactly_one_variant_per_language_and_channel(response):
    for language, channel in itertools.product(LANGUAGES, CHANNELS):
        found = [v for v in DOMAIN["responses"][response] if matches(v, {"language": language, "channel": channel})]
        assert len(found) == 1, f"{response} has {len(found)} variants for {language}/{channel}"
        assert all(v.get("condition") for v in DOMAIN["responses"][response]), (
            f"{response} has a variant without a language condition"
        )


def sms_variant(response: str, language: str) -> dict:
    return next(v for v in DOMAIN["responses"][response] if matches(v, {"language": language, "channel": "sms"}))


# The longest values the templates are filled with.
FILLS = {"{hub_list}": hub_list(), "{hub_name}": "Framtidshubben Tynnered/Frölunda torg"}


def sms_turn(responses: list[str], language: str) -> str:
    replies = []
    for response in responses:
        variant = sms_variant(response, language)
        body = variant["text"]
        for placeholder, value in FILLS.items():
            body = body.replace(placeholder, value)
        replies.append(BotReply(body, variant.get("buttons", [])))
    return render(replies)[0]


def turns() -> set[tuple[str, ...]]:
    """Every run of consecutive bot utterances in the rules and stories: what
    one SMS carries, since the gateway joins a turn's replies."""
    found = {(response,) for response in DOMAIN["responses"]}
    for path in [*(ROOT / "data" / "rules").glob("*.yml"), *(ROOT / "data" / "stories").glob("*.yml")]:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
        for flow in data.get("rules", []) + data.get("stories", []):
            run: list[str] = []
            for step in flow["steps"] + [{}]:
                if str(step.get("action", "")).startswith("utter_"):
                    run.append(step["action"])
                elif run:
                    found.add(tuple(run))
                    run = []
    return found


@pytest.mark.parametrize("turn", sorted(turns()), ids="+".join)
def test_every_sms_turn_fits_its_segment_budget(turn):
    for language in LANGUAGES:
        body = sms_turn(list(turn), language)
        assert segments(body) <= SMS_SEGMENTS, f"{language}: {segments(body)} segments: {body!r}"


def test_the_language_menu_fits_one_sms_budget():
    menu, buttons = language_menu()
    assert segments(render([BotReply(menu, buttons)])[0]) <= SMS_SEGMENTS


def nlu_intents(language: str) -> dict[str, dict[str, list[str]]]:
    topics = {}
    for path in sorted((ROOT / "data" / "nlu" / language).glob("*.yml")):
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
        topics[path.stem] = {
            block["intent"]: [line[2:] for line in block["examples"].splitlines() if line.startswith("- ")]
            for block in data["nlu"]
        }
    return topics


def test_every_language_has_the_same_topic_files_and_intents():
    reference = {topic: set(intents) for topic, intents in nlu_intents("sv").items()}
    for language in LANGUAGES:
        folder = ROOT / "data" / "nlu" / language
        assert folder.is_dir(), f"no NLU data for {language}"
        assert {t: set(i) for t, i in nlu_intents(language).items()} == reference, language


def test_every_domain_intent_has_examples_in_every_language():
    for language in LANGUAGES:
        examples = {i: e for topic in nlu_intents(language).values() for i, e in topic.items()}
        for intent in DOMAIN["intents"]:
            assert len(examples.get(intent, [])) >= 10, f"{intent} has too few {language} examples"


@pytest.mark.parametrize("language", LANGUAGES)
def test_no_two_examples_of_a_language_look_the_same_to_the_model(language):
    # A copy teaches nothing and counts twice in cross-validation, where a copy
    # in the held-out fold flatters the F1 (bench/nlu_cv.py); under two intents
    # it contradicts itself.
    seen: dict[str, tuple[str, str]] = {}
    for intents in nlu_intents(language).values():
        for intent, examples in intents.items():
            for example in examples:
                # Folded words (the fold nlu.components.FoldingTokenizer applies), as places are matched.
                key = hubs.normalise(example)
                assert key not in seen, f"{language}: {example!r} ({intent}) reads as {seen[key]}"
                seen[key] = (example, intent)


def rasa(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([str(model.RASA), *args], cwd=ROOT, capture_output=True, text=True, timeout=600)


def test_rasa_data_validate_finds_no_problems():
    result = rasa(
        "data",
        "validate",
        "--domain",
        "domain",
        "--data",
        "data/nlu",
        "data/rules",
        "data/stories",
        "--fail-on-warnings",
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]


@pytest.mark.skipif(not model.is_fresh(), reason="no up-to-date model; `make test` trains one first")
def test_the_model_follows_the_test_stories(tmp_path: Path):
    result = rasa(
        "test",
        "core",
        "--model",
        str(model.MODEL),
        "--stories",
        "tests/stories",
        "--out",
        str(tmp_path),
        "--fail-on-prediction-errors",
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]


def test_topics_name_the_same_intents_as_the_domain_and_data():
    for topic, intents in TOPICS.items():
        domain = yaml.safe_load((ROOT / "domain" / f"{topic}.yml").read_text(encoding="utf-8"))
        assert set(domain["intents"]) == set(intents), topic
        for language in LANGUAGES:
            assert set(nlu_intents(language)[topic]) == set(intents), (topic, language)


@pytest.mark.parametrize("response", sorted(DOMAIN["responses"]))
def test_every_variant_is_written_in_its_language(response):
    for variant in DOMAIN["responses"][response]:
        language = next(c["value"] for c in variant["condition"] if c["name"] == "language")
        text = variant["text"].replace("{hub_list}", "").replace("{hub_name}", "")
        assert in_language(text, language), f"{response}/{language}: {text!r}"


def test_the_help_keyword_and_the_menu_after_it_fit_one_sms_budget():
    """HELP gets the gateway's help_keyword text and the bot's utter_help in one SMS."""
    from common.texts import text

    for language in LANGUAGES:
        variant = sms_variant("utter_help", language)
        replies = [BotReply(text("help_keyword", language)), BotReply(variant["text"], variant.get("buttons", []))]
        body = render(replies)[0]
        assert segments(body) <= SMS_SEGMENTS, f"{language}: {segments(body)} segments: {body!r}"
