"""The language table (data/languages.yml, read by common/languages.py) and
every place a language needs besides its row.

``checklist(code)`` lists, place by place, what a language of the table still
lacks: facts of its row, detection, the bot's responses (domain/), the
gateway's texts, NLU examples, "did you mean" titles, crisis patterns, real
questions, test stories, room in the language menu. It is empty for every
language we speak. After adding a row, run

    PYTHONPATH=. .venv/app/bin/python -m pytest tests/common/test_language_table.py

and the failure is the checklist of what is left. A made-up language, added
through ``$LANGUAGES_FILE``, gets that checklist instead of a crash.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from langdetect.detector_factory import PROFILES_DIRECTORY
from lingua import IsoCode639_1

from common import crisis, keywords, langid, languages, texts
from common.languages import DEFAULT_LANGUAGE, LANGUAGES, Language, explicit_choice
from common.paths import ROOT
from gateway.channels.gsm import segments, units
from gateway.channels.sms import render
from gateway.rasa_client import BotReply

TABLE = "data/languages.yml"
CHANNELS = ("sms", "web")
MIN_EXAMPLES = 10  # per intent and language, as tests/test_rasa_project.py asks
SMS_SEGMENTS = 3
SHOWN = 4  # names listed per item
LANGDETECT_CODES = set(os.listdir(PROFILES_DIRECTORY))


def _yaml(path: Path) -> dict:
    return yaml.safe_load(path.read_text(encoding="utf-8")) or {}


RESPONSES = {
    name: variants
    for path in sorted((ROOT / "domain").glob("*.yml"))
    for name, variants in (_yaml(path).get("responses") or {}).items()
}
TITLES = _yaml(ROOT / "data" / "titles.yml")
STORIES = [
    story["story"]
    for path in sorted((ROOT / "tests" / "stories").glob("*.yml"))
    for story in _yaml(path).get("stories") or ()
]


def _some(names) -> str:
    names = sorted(names)
    return ", ".join(names[:SHOWN]) + (f" and {len(names) - SHOWN} more" if len(names) > SHOWN else "")


def _translate(code: str) -> str:
    return f"translate them in locale/{code}/LC_MESSAGES/hubguide.po, then `python -m common.translations`"


def row_gaps(lang: Language) -> list[str]:
    """The row's own facts."""
    gaps = [f"{TABLE}: no {field}" for field in ("name", "endonym", "sample") if not getattr(lang, field)]
    if lang.direction not in ("ltr", "rtl"):
        gaps.append(f"{TABLE}: direction is {lang.direction!r}, not ltr or rtl")
    if not lang.ranges:
        gaps.append(f"{TABLE}: its script {lang.script!r} has no Unicode blocks under `scripts`")
    if lang.sms not in ("GSM-7", "UCS-2"):
        gaps.append(f"{TABLE}: sms (the encoding its SMS need) is {lang.sms!r}, not GSM-7 or UCS-2")
    if not lang.choose:
        gaps.append(f"{TABLE}: no words that choose it (choose)")
    gaps += [
        f"{TABLE}: {word!r} chooses {explicit_choice(word)}, not {lang.code}"
        for word in lang.choose
        if explicit_choice(word) != lang.code
    ]
    for kind in keywords.KINDS:
        words = getattr(lang, kind)
        if not words:
            gaps.append(f"{TABLE}: no {kind.upper()} keywords ({kind})")
        gaps += [
            f"{TABLE}: the {kind} keyword {word!r} is read as {keywords.match(word)}"
            for word in words
            if (keywords.match(word) or ("",))[0] != kind
        ]
    return gaps


def detection_gaps(lang: Language) -> list[str]:
    """Whether common/langid.py can tell the language: its codes in the
    libraries exist, and its sample is recognised confidently."""
    if lang.lingua and not hasattr(IsoCode639_1, lang.lingua.upper()):
        return [f"{TABLE}: lingua knows no {lang.lingua!r} (lingua: null where it lacks the language)"]
    gaps = []
    if lang.langdetect and lang.langdetect not in LANGDETECT_CODES:
        gaps.append(f"{TABLE}: langdetect knows no {lang.langdetect!r} (null where it lacks the language)")
    found = langid.detect(lang.sample)
    if lang.sample and not (found.confident and found.language == lang.code):
        how = {
            "latin": "Latin script goes to lingua, restricted to the rows with a lingua code"
            + ("" if lang.lingua else ", and this row has none"),
            "arabic": "Arabic script goes to letter scores that tell only Arabic from Persian",
        }.get(lang.script, "a script names its language only when no other row is written in it")
        gaps.append(
            f"detection (common/langid.py): its sample {lang.sample!r} reads as "
            f"{found.language or found.other or 'nothing'} ({found.confidence:.2f}), not confidently "
            f"{lang.code}; {how}"
        )
    return gaps


def _matches(variant: dict, language: str, channel: str) -> bool:
    slots = {"language": language, "channel": channel}
    return all(slots.get(c["name"]) == c["value"] for c in variant.get("condition") or ())


def response_gaps(lang: Language) -> list[str]:
    """The bot's responses: one variant per channel, translated, in the row's SMS encoding."""
    missing, swedish, encoding = set(), set(), set()
    for name, variants in RESPONSES.items():
        for channel in CHANNELS:
            mine = [v for v in variants if _matches(v, lang.code, channel)]
            if len(mine) != 1:
                missing.add(name)
                continue
            source = [v for v in variants if _matches(v, DEFAULT_LANGUAGE, channel)]
            if lang.code != DEFAULT_LANGUAGE and source and mine[0]["text"] == source[0]["text"]:
                swedish.add(name)
            body = " ".join([mine[0]["text"], *(b["title"] for b in mine[0].get("buttons") or ())])
            if channel == "sms" and lang.sms and units(body)[1] != lang.sms:
                encoding.add(name)
    gaps = []
    if missing:
        gaps.append(
            f"domain/: {len(missing)} responses without one {lang.code} variant per channel (sms, web): "
            f"{_some(missing)}; {_translate(lang.code)}"
        )
    if swedish:
        gaps.append(
            f"domain/: {len(swedish)} responses still say the Swedish in {lang.code}: {_some(swedish)}; "
            f"{_translate(lang.code)}"
        )
    if encoding:
        gaps.append(f"domain/: {len(encoding)} SMS responses in {lang.code} are not {lang.sms}: {_some(encoding)}")
    return gaps


def text_gaps(lang: Language) -> list[str]:
    """The gateway's own texts (common/texts.py): the ones residents read."""
    resident = {key: by_language for key, by_language in texts.TEXTS.items() if key not in texts.UNTRANSLATED}
    missing = [key for key, by_language in resident.items() if lang.code not in by_language]
    encoding = [
        key
        for key, by_language in resident.items()
        if lang.code in by_language
        and lang.sms
        and not key.startswith("web_")
        and units(by_language[lang.code])[1] != lang.sms
    ]
    gaps = []
    if missing:
        gaps.append(
            f"common/texts.py: {len(missing)} texts without {lang.code}: {_some(missing)}; {_translate(lang.code)}"
        )
    if encoding:
        gaps.append(f"common/texts.py: {len(encoding)} SMS texts in {lang.code} are not {lang.sms}: {_some(encoding)}")
    return gaps


def nlu_intents(language: str) -> dict[str, dict[str, list[str]]]:
    """Topic file -> intent -> examples, for one language."""
    return {
        path.stem: {
            block["intent"]: [line[2:] for line in block["examples"].splitlines() if line.startswith("- ")]
            for block in _yaml(path)["nlu"]
        }
        for path in sorted((ROOT / "data" / "nlu" / language).glob("*.yml"))
    }


def nlu_gaps(lang: Language) -> list[str]:
    where = f"data/nlu/{lang.code}/"
    reference = nlu_intents(DEFAULT_LANGUAGE)
    mine = nlu_intents(lang.code)
    if not mine:
        return [
            f"{where}: no examples; the same topic files as data/nlu/{DEFAULT_LANGUAGE}/ ({_some(reference)}), "
            f"at least {MIN_EXAMPLES} examples per intent"
        ]
    gaps = [f"{where}{topic}.yml: missing" for topic in reference if topic not in mine]
    examples = {intent: found for topic in mine.values() for intent, found in topic.items()}
    wanted = {intent for topic in reference.values() for intent in topic}
    if wanted - set(examples):
        gaps.append(f"{where}: intents without examples: {_some(wanted - set(examples))}")
    few = [intent for intent, found in examples.items() if len(found) < MIN_EXAMPLES]
    if few:
        gaps.append(f"{where}: intents with fewer than {MIN_EXAMPLES} examples: {_some(few)}")
    return gaps


def other_gaps(lang: Language) -> list[str]:
    """Titles, crisis patterns, real questions, test stories, the language menu."""
    gaps = []
    untitled = [intent for intent, titles in TITLES.items() if lang.code not in titles]
    if untitled:
        gaps.append(f"data/titles.yml: {len(untitled)} topics without a {lang.code} title: {_some(untitled)}")
    kinds = [kind for kind in crisis.KINDS if not crisis.PATTERNS.get(lang.code, {}).get(kind)]
    if kinds:
        gaps.append(f"common/crisis.py: no {lang.code} crisis patterns for {', '.join(kinds)}")
    if not (ROOT / "eval" / "dev" / f"{lang.code}.tsv").is_file():
        gaps.append(f"eval/dev/{lang.code}.tsv: no real questions (eval/dev/README.md)")
    if not any(part in story for part in lang.name.split("/") if part for story in STORIES):
        gaps.append(f'tests/stories/: no test story named for {lang.name or lang.code} ("..., {lang.name}")')
    menu = render([BotReply(*texts.language_menu())])[0]
    if segments(menu) > SMS_SEGMENTS:
        gaps.append(f"language menu (common/texts.py): {segments(menu)} SMS segments, more than {SMS_SEGMENTS}")
    return gaps


def checklist(code: str) -> list[str]:
    """What the language ``code`` of the table still lacks, one item per place."""
    lang = LANGUAGES[code]
    return [
        *row_gaps(lang),
        *detection_gaps(lang),
        *response_gaps(lang),
        *text_gaps(lang),
        *nlu_gaps(lang),
        *other_gaps(lang),
    ]


@pytest.mark.parametrize("code", list(LANGUAGES))
def test_every_language_of_the_table_has_everything_it_needs(code):
    missing = checklist(code)
    assert not missing, f"{code} still needs:\n" + "\n".join(f"- [ ] {item}" for item in missing)


# --- a made-up language --------------------------------------------------------------------

XX = {
    "code": "xx",
    "name": "Examplish",
    "endonym": "Eksamplu",
    "direction": "rtl",
    "script": "latin",
    "choose": ["eksamplu", "examplish"],
    "sample": "blorf zintak kovaru plim",
}


def table_with(tmp_path: Path, *rows: dict) -> Path:
    """The real table with ``rows`` added at the end, as a file."""
    data = _yaml(languages.TABLE)
    data["languages"] += list(rows)
    path = tmp_path / "languages.yml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return path


def test_load_reads_a_new_row_and_leaves_what_it_lacks_empty(tmp_path):
    table = languages.load(table_with(tmp_path, XX))
    assert list(table) == [*LANGUAGES, "xx"]  # a new row is the menu's last number
    xx = table["xx"]
    assert xx.rtl and xx.ranges == LANGUAGES["sv"].ranges and xx.choose == ("eksamplu", "examplish")
    assert xx.stop == xx.start == xx.help == () and xx.lingua is None and xx.sms == ""
    assert {code: table[code] for code in LANGUAGES} == LANGUAGES


@pytest.mark.parametrize(
    "row, complaint",
    [
        ({"name": "No code"}, "a row without a code"),
        ({**XX, "code": False}, "a row without a code"),  # YAML reads a bare `no` (Norwegian) as false
        ({**XX, "stpo": ["stopp"]}, "unknown fields ['stpo']"),
        ({**XX, "stop": "stopp"}, "stop is 'stopp'; write it as text, in quotes, as a list"),
        ({**XX, "choose": ["eksamplu", True]}, "choose is ['eksamplu', True]"),
        ({**XX, "code": "sv"}, "two rows for 'sv'"),
    ],
)
def test_a_row_the_table_cannot_read_is_refused_saying_why(tmp_path, row, complaint):
    with pytest.raises(ValueError, match="languages.yml") as error:
        languages.load(table_with(tmp_path, row))
    assert complaint in str(error.value)


PROBE = """
import json
from common import keywords, langid, languages, texts
from gateway.channels import web
from tests.common.test_language_table import checklist
page = web.page("xx")
print(json.dumps({
    "table": list(languages.LANGUAGES),
    "checklist": checklist("xx"),
    "others": {code: checklist(code) for code in languages.LANGUAGES if code != "xx"},
    "chosen": langid.decide("Eksamplu please", "sv"),
    "kept": langid.decide("ok", "xx"),
    "menu": texts.language_menu()[1][-1],
    "page": ['lang="xx"' in page, 'dir="rtl"' in page, ">Eksamplu</option>" in page],
    "keyword": keywords.match("STOPP"),
    "apology": texts.text("bot_unavailable", "xx") == texts.text("bot_unavailable", "sv"),
}))
"""


def test_a_made_up_language_gets_a_checklist_not_a_crash(tmp_path):
    environment = {**os.environ, "PYTHONPATH": str(ROOT), "LANGUAGES_FILE": str(table_with(tmp_path, XX))}
    run = subprocess.run([sys.executable, "-c", PROBE], cwd=ROOT, env=environment, capture_output=True, text=True)
    assert run.returncode == 0, run.stderr[-3000:]
    found = json.loads(run.stdout.splitlines()[-1])
    assert found["table"] == [*LANGUAGES, "xx"]
    # What the gateway does with it already: chosen by its words, kept, in the menu and the picker.
    assert found["chosen"] == "xx" and found["kept"] == "xx"
    assert found["menu"] == {"title": "Eksamplu", "payload": "eksamplu"}
    assert found["page"] == [True, True, True]
    assert found["keyword"] == ["stop", "sv"] and found["apology"]
    # What it still lacks, place by place; the languages we speak lack nothing new.
    items = "\n".join(found["checklist"])
    for expected in [
        "no STOP keywords",
        "no START keywords",
        "no HELP keywords",
        "sms (the encoding",
        "detection (common/langid.py): its sample 'blorf zintak kovaru plim' reads as",
        "domain/: ",
        " responses without one xx variant per channel",
        "locale/xx/LC_MESSAGES",
        "common/texts.py: ",
        " texts without xx",
        "data/nlu/xx/: no examples",
        "data/titles.yml: ",
        "common/crisis.py: no xx crisis patterns for suicide, violence",
        "eval/dev/xx.tsv",
        "tests/stories/: no test story named for Examplish",
    ]:
        assert expected in items, f"{expected!r} not in the checklist:\n{items}"
    assert found["others"] == {code: [] for code in LANGUAGES}
