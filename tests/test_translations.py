"""The translator catalogues (common/translations.py, docs/translations.md):
nothing fuzzy or missing in a supported language, every address, number,
amount, {field} and hub name a translation keeps as the Swedish has it, and
what is generated from the catalogues up to date."""

from __future__ import annotations

import dataclasses
import datetime
import re
import shutil

import pytest
import yaml
from babel.messages.catalog import Catalog, Message

from common import hubs, translations
from common.languages import LANGUAGES
from common.paths import ROOT
from common.texts import language_menu, text
from tests.test_sources import CANONICAL, facts

FIELD = re.compile(r"\{\w+\}")
HUB_NAMES = {name for hub in hubs.load().hubs for name in (hub.name, hub.area)}
# A translator comment: the translation leaves this fact out on purpose (an SMS budget).
OMITS = re.compile(r"omits: (.+)")


def placeholders(body: str) -> set[str]:
    """What a translation must carry over unchanged: addresses, phone numbers
    and amounts (as tests/test_sources.py finds them, one spelling per fact),
    {fields} the bot fills in, and the registry's hub names."""
    return (
        {CANONICAL.get(f, f) for f in facts(body)}
        | set(FIELD.findall(body))
        | {name for name in HUB_NAMES if name in body}
    )


def problems(message: Message) -> list[str]:
    """What is wrong with a translation's placeholders: a dropped one that no
    "omits:" comment declares, an added or changed one, a stale declaration."""
    source, target = placeholders(message.id), placeholders(message.string)
    omitted = {m.group(1).strip() for c in message.user_comments if (m := OMITS.fullmatch(c.strip()))}
    found = [f"drops {p!r}" for p in sorted(source - target - omitted)]
    found += [f"adds {p!r}, not in the Swedish" for p in sorted(target - source)]
    found += [f"omits {p!r}, which it keeps or the Swedish lacks" for p in sorted(omitted - (source - target))]
    found += [f"omits the field {p}: the bot fills it in" for p in sorted(omitted) if FIELD.fullmatch(p)]
    return found


@pytest.fixture(scope="module")
def merged() -> dict[str, Catalog]:
    """Every catalogue merged with today's Swedish, as the command would write it."""
    source = translations.template()
    return {language: translations.merge(translations.load(language), source) for language in translations.targets()}


def unfinished(catalogue: Catalog) -> tuple[list[str], list[str]]:
    """The keys of the fuzzy entries (the Swedish changed) and of the missing ones."""
    return (
        [m.context for m in catalogue if m.id and m.string and m.fuzzy],
        [m.context for m in catalogue if m.id and not m.string],
    )


@pytest.mark.parametrize("language", translations.targets())
def test_no_entry_is_fuzzy_or_missing_in_a_supported_language(merged, language):
    stale, missing = unfinished(merged[language])
    assert not stale and not missing, (
        f"{language}: fuzzy (the Swedish changed) {stale}, missing {missing}; "
        "run `python -m common.translations` and translate them"
    )


def test_the_generated_files_equal_the_catalogues(merged):
    stale = [
        str(path.relative_to(ROOT))
        for path, content in translations.generate(merged).items()
        if not path.exists() or path.read_text(encoding="utf-8") != content
    ]
    assert not stale, f"run `python -m common.translations`: {stale} differ from the catalogues"


@pytest.mark.parametrize("language", translations.targets())
def test_every_translation_keeps_the_swedish_placeholders(merged, language):
    wrong = {m.context: found for m in merged[language] if m.id and m.string and (found := problems(m))}
    assert not wrong, f"{language}: {wrong}"


@pytest.mark.parametrize(
    "translation, comments, expected",
    [
        ("Ring 0771-416 416 eller läs arbetsformedlingen.se. {hub_name}", [], []),
        ("Read arbetsformedlingen.se. {hub_name}", [], ["drops '0771-416 416'"]),
        ("Read arbetsformedlingen.se. {hub_name}", ["omits: 0771-416 416"], []),
        (
            "Call 0771-416 416, read arbetsformedlingen.se. {hub}",
            [],
            ["drops '{hub_name}'", "adds '{hub}', not in the Swedish"],
        ),
        (
            "Call 0771-416 417, read arbetsformedlingen.se. {hub_name}",
            [],
            ["drops '0771-416 416'", "adds '0771-416 417', not in the Swedish"],
        ),
        (
            "Call 0771-416 416, read csn.se. {hub_name}",
            [],
            ["drops 'arbetsformedlingen.se'", "adds 'csn.se', not in the Swedish"],
        ),
        (
            "Call 0771-416 416, read arbetsformedlingen.se. {hub_name}",
            ["omits: 0771-416 416"],
            ["omits '0771-416 416', which it keeps or the Swedish lacks"],
        ),
        (
            "Call 0771-416 416, read arbetsformedlingen.se.",
            ["omits: {hub_name}"],
            ["omits the field {hub_name}: the bot fills it in"],
        ),
    ],
)
def test_a_translation_that_drops_or_changes_a_placeholder_fails(translation, comments, expected):
    swedish = "Ring 0771-416 416 eller läs på arbetsformedlingen.se. {hub_name}"
    assert problems(Message(swedish, translation, context="x", user_comments=comments)) == expected


def test_a_hub_name_is_a_placeholder():
    swedish = "Välkommen till Framtidshubben Hjällbo."
    assert problems(Message(swedish, "Welcome to Framtidshubben Hjällbo.")) == []
    assert problems(Message(swedish, "Welcome to the hub in Hjälbo.")) == [
        "drops 'Framtidshubben Hjällbo'",
        "drops 'Hjällbo'",
    ]


def test_review_marks_are_dated_and_signed(merged):
    wrong = {
        (language, m.context): c
        for language, catalogue in merged.items()
        for m in catalogue
        if m.id
        for c in m.user_comments
        if c.strip().startswith("reviewed")
        and not (
            (found := translations.REVIEWED.fullmatch(c.strip()))
            and datetime.date.fromisoformat(found.group(1)) <= datetime.date.today()
        )
    }
    assert not wrong, f'a review mark is "reviewed: YYYY-MM-DD Name": {wrong}'


def test_the_report_counts_translated_fuzzy_missing_and_unreviewed():
    catalogue = Catalog(locale="ar")
    catalogue.add("Hej", "مرحبا", context="a", user_comments=["reviewed: 2026-12-05 Amina Hassan"])
    catalogue.add("Tack", "شكرا", context="b")
    catalogue.add("Ja", "نعم", context="c", flags=["fuzzy"])
    catalogue.add("Nej", "", context="d")
    assert translations.counts(catalogue) == translations.Counts(4, 2, 1, 1, 1)
    assert translations.usable(catalogue) == {"a": "مرحبا", "b": "شكرا"}


@pytest.fixture
def copy(tmp_path):
    """A copy of the domain, the "did you mean" titles and the catalogues to change."""
    shutil.copytree(ROOT / "domain", tmp_path / "domain")
    shutil.copytree(translations.LOCALE, tmp_path / "locale")
    (tmp_path / "data").mkdir()
    shutil.copy(translations.TITLES_FILE, tmp_path / "data" / "titles.yml")
    return tmp_path


def run(copy) -> dict[str, translations.Counts]:
    return translations.update(
        copy / "locale", copy / "domain", copy / "locale" / "texts.json", titles=copy / "data" / "titles.yml"
    )


def variant(copy, response: str, language: str) -> dict:
    data = yaml.safe_load((copy / "domain" / "conversation.yml").read_text(encoding="utf-8"))
    return next(v for v in data["responses"][response] if v["condition"][0]["value"] == language)


def test_a_changed_swedish_source_makes_its_translations_fuzzy(copy):
    path = translations.catalogue_path("ar", copy / "locale")
    reviewed = path.read_text(encoding="utf-8").replace(
        'msgctxt "utter_goodbye"', '# reviewed: 2026-12-05 Amina Hassan\nmsgctxt "utter_goodbye"'
    )
    assert "# reviewed" in reviewed
    path.write_text(reviewed, encoding="utf-8")
    domain = copy / "domain" / "conversation.yml"
    domain.write_text(
        domain.read_text(encoding="utf-8").replace(
            "text: Hej då! Skriv när du vill.", "text: Hej då! Välkommen tillbaka."
        ),
        encoding="utf-8",
    )

    for _ in range(2):  # a second run changes nothing
        results = run(copy)
        catalogue = translations.load("ar", copy / "locale")
        assert unfinished(catalogue) == (["utter_goodbye"], [])  # what fails CI
        entry = catalogue.get("Hej då! Välkommen tillbaka.", "utter_goodbye")
        assert entry.fuzzy and entry.string == "مع السلامة! اكتب لي متى شئت."
        assert not translations.is_reviewed(entry)  # the review was of the old text
        assert {language: c.fuzzy for language, c in results.items()} == dict.fromkeys(translations.targets(), 1)
    # Until it is translated again, residents read the (correct) Swedish, and CI fails.
    assert variant(copy, "utter_goodbye", "ar")["text"] == "Hej då! Välkommen tillbaka."


def test_a_new_swedish_text_is_missing_everywhere(copy):
    domain = copy / "domain" / "conversation.yml"
    domain.write_text(
        domain.read_text(encoding="utf-8")
        + ("  utter_new:\n  - condition: [{type: slot, name: language, value: sv}]\n    text: Något nytt.\n"),
        encoding="utf-8",
    )
    results = run(copy)
    assert {c.missing for c in results.values()} == {1}
    assert unfinished(translations.load("so", copy / "locale")) == ([], ["utter_new"])
    assert variant(copy, "utter_new", "so") == {
        "condition": [{"type": "slot", "name": "language", "value": "so"}],
        "text": "Något nytt.",
    }


def test_adding_a_language_is_a_row_and_the_command(copy, monkeypatch):
    monkeypatch.setitem(LANGUAGES, "de", dataclasses.replace(LANGUAGES["en"], code="de", name="German"))
    results = run(copy)
    entries = results["en"].entries
    assert results["de"] == translations.Counts(entries, 0, 0, entries, 0)
    assert 'msgctxt "utter_help/button/job_search"' in translations.catalogue_path("de", copy / "locale").read_text(
        encoding="utf-8"
    )
    # Rasa keeps one variant per language and channel: Swedish until the catalogue is filled.
    for channel in ("sms", "web"):
        help_de = [
            v
            for v in yaml.safe_load((copy / "domain" / "conversation.yml").read_text(encoding="utf-8"))["responses"][
                "utter_help"
            ]
            if {"name": "language", "type": "slot", "value": "de"} in v["condition"]
            and {"name": "channel", "type": "slot", "value": channel} in v["condition"]
        ]
        assert len(help_de) == 1 and help_de[0]["buttons"][0]["title"] == "Jobb"


def test_a_title_is_translated_in_the_catalogues_and_generated_into_the_titles(copy):
    titles = copy / "data" / "titles.yml"
    assert 'msgctxt "title/find_hub"' in translations.catalogue_path("fa", copy / "locale").read_text(encoding="utf-8")
    titles.write_text(
        titles.read_text(encoding="utf-8").replace(
            'find_hub: {sv: "Var hubben finns"', 'find_hub: {sv: "Hitta hubben"'
        ),
        encoding="utf-8",
    )
    results = run(copy)
    assert unfinished(translations.load("fa", copy / "locale")) == (["title/find_hub"], [])
    assert {c.fuzzy for c in results.values()} == {1}
    # Until it is translated again, residents read the Swedish title.
    assert yaml.safe_load(titles.read_text(encoding="utf-8"))["find_hub"] == dict.fromkeys(LANGUAGES, "Hitta hubben")


def test_the_titles_generator_rewrites_every_language_but_the_swedish_and_keeps_the_comments():
    source = '# Titles.\na: {sv: "Jobb", en: "old", ar: "old"}\n\n# B.\nb:\n  sv: Studier\n  fa: old\n'
    english = {"title/a": "Jobs", "title/b": "Studies"}
    result = translations.titles_file(source, {code: english if code == "en" else {} for code in LANGUAGES})
    others = ", ".join(f'{code}: "Studier"' for code in translations.targets() if code != "en")
    assert result.startswith('# Titles.\na: {sv: "Jobb", en: "Jobs", ar: "Jobb"')
    assert result.endswith(f'\n\n# B.\nb: {{sv: "Studier", en: "Studies", {others}}}\n')
    assert translations.titles_file(result, {code: english if code == "en" else {} for code in LANGUAGES}) == result


def test_the_generator_keeps_the_swedish_and_the_comments_and_rewrites_the_rest():
    source = (
        "responses:\n"
        "  # A comment.\n"
        "  utter_x:\n"
        "  - condition: [{type: slot, name: language, value: sv}]\n"
        '    text: "Hej {name}!"  # kept as written\n'
        "  - condition: [{type: slot, name: language, value: ar}]\n"
        "    text: old\n"
        "  # Another.\n"
        "  utter_y:\n"
        "  - condition: [{type: slot, name: language, value: sv}, {type: slot, name: channel, value: sms}]\n"
        "    text: |-\n      Två\n\n      rader\n"
        "    buttons:\n    - {title: Ja, payload: /affirm}\n"
        "  - condition: [{type: slot, name: language, value: sv}, {type: slot, name: channel, value: web}]\n"
        "    text: Webb\n"
    )
    english = {"utter_x": "Hi {name}!", "utter_y/sms": "Two\n\nlines", "utter_y/button/affirm": "Yes"}
    result = translations.domain_file(source, {code: english if code == "en" else {} for code in LANGUAGES})
    assert result.startswith(
        "responses:\n  # A comment.\n  utter_x:\n  - condition: [{type: slot, name: language, "
        'value: sv}]\n    text: "Hej {name}!"  # kept as written\n'
        "  - condition: [{type: slot, name: language, value: en}]\n"
        '    text: "Hi {name}!"\n'
    )
    assert "old" not in result and "  # Another.\n  utter_y:\n" in result
    parsed = yaml.safe_load(result)["responses"]
    assert [v["condition"][0]["value"] for v in parsed["utter_x"]] == list(LANGUAGES)
    assert parsed["utter_y"][2] == {
        "condition": [
            {"type": "slot", "name": "language", "value": "en"},
            {"type": "slot", "name": "channel", "value": "sms"},
        ],
        "text": "Two\n\nlines",
        "buttons": [{"title": "Yes", "payload": "/affirm"}],
    }
    assert parsed["utter_y"][3]["text"] == "Webb"  # not translated: Swedish
    assert translations.domain_file(result, {code: english if code == "en" else {} for code in LANGUAGES}) == result


@pytest.mark.parametrize("source", ["", "# Responses to come.\n", 'version: "3.1"\nintents:\n- greet\n'])
def test_a_domain_file_without_responses_is_left_as_it_is(source):
    assert translations.domain_file(source, {code: {} for code in LANGUAGES}) == source


def test_the_language_menu_asks_in_every_language_from_the_catalogues():
    menu, buttons = language_menu()
    assert menu.removesuffix(":").split(" / ") == [text("language_menu", code) for code in LANGUAGES]
    assert menu.startswith("Välj språk / Choose language / ") and len(buttons) == len(LANGUAGES)
