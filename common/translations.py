"""The translator catalogues: one gettext PO file per language, Swedish the source.

    python -m common.translations     # make translations

extracts every Swedish text a resident reads (the Swedish variants of the
responses in ``domain/*.yml``, ``common.texts.SWEDISH``, the coordinator
phrasebook's ``common.phrases.SWEDISH`` and the "did you mean" titles' ``sv`` in
``data/titles.yml``), merges them into
``locale/<lang>/LC_MESSAGES/hubguide.po`` for every language of the language
table but Swedish (a new text is missing, a changed Swedish text makes its
translation fuzzy), writes what is generated from the catalogues (the other
languages' variants in ``domain/*.yml``, ``locale/texts.json`` for
``common.texts``, ``locale/phrases.json`` for ``common.phrases``, the other
languages' titles in ``data/titles.yml``) and reports per language.
docs/translations.md is the translators' guide.

An entry's msgctxt is the text's key: the response (``utter_help``), its
channel where SMS and web differ (``utter_help/sms``), a button
(``utter_help/button/job_search``, by payload), a gateway text
(``text/bot_unavailable``), a phrase (``phrase/call_you``) or a "did you mean" title
(``title/job_search``, by intent); msgid is the Swedish, msgstr the translation.
A fuzzy or missing translation is generated as the Swedish text (what gettext
does: a stale translation may state a number or a rule that is no longer true)
and fails CI (tests/test_translations.py).

Runs in the application environment only (Babel is not in Rasa's); what it
generates is read by both.
"""

from __future__ import annotations

import copy
import functools
import json
import math
import re
import sys
from dataclasses import dataclass
from io import BytesIO
from pathlib import Path

import yaml
from babel.core import UnknownLocaleError
from babel.messages.catalog import Catalog, Message
from babel.messages.pofile import read_po, write_po

from common.languages import DEFAULT_LANGUAGE, LANGUAGES
from common.paths import ROOT

SOURCE = DEFAULT_LANGUAGE
LOCALE = ROOT / "locale"
DOMAIN = ROOT / "domain"
TEXTS_FILE = LOCALE / "texts.json"  # common.texts reads it
TITLES_FILE = ROOT / "data" / "titles.yml"  # Swedish the source, the rest generated; actions.conversation reads it
DOMAIN_NAME = "hubguide"
LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml: the same nodes and marks, several times faster
WIDTH = 79  # as Poedit and msgmerge wrap, so a save in Poedit changes little
# A translator comment: "reviewed: 2026-12-05 Amina Hassan" (a native speaker read it and agrees).
REVIEWED = re.compile(r"reviewed: (\d{4}-\d{2}-\d{2}) (\S.*)")
TEXT_PREFIX = "text/"
PHRASE_PREFIX = "phrase/"
TITLE_PREFIX = "title/"
PHRASES_NAME = "phrases.json"  # next to texts.json; common.phrases reads it
NOTES = {
    "sms": "SMS. With the coordinator offer that often follows, at most 3 SMS: about 130 characters "
    "in Arabic, Persian and Tigrinya, 360 in Latin letters (docs/content.md).",
    "web": "Web chat. May say more than the SMS variant; still short.",
    "button": "A button on the web, a numbered choice over SMS: a few words.",
    "both": "Over SMS and on the web: short. Over SMS often followed by the coordinator offer (docs/content.md).",
    "text": "Said by the gateway (common/texts.py), over SMS and on the web.",
    "phrase": "A coordinator's phrase (common/phrases.py), picked in the inbox and sent as it is or with a few "
    "words added, over SMS or on the web: plain, short and polite.",
    "title": 'A "did you mean" choice (data/titles.yml), a button or a numbered line: at most 24 characters, '
    "plain words residents use, no punctuation at the end.",
}
FACTS_NOTE = "Keep every address, phone number, amount and {field} as in the Swedish (docs/translations.md)."


def catalogue_path(language: str, locale: Path = LOCALE) -> Path:
    return locale / language / "LC_MESSAGES" / f"{DOMAIN_NAME}.po"


def targets() -> list[str]:
    """The languages translated from Swedish, in the language table's order."""
    return [code for code in LANGUAGES if code != SOURCE]


# --- extracting the Swedish ---------------------------------------------------------------------------------------


def _slots(variant: dict) -> dict[str, str]:
    return {c["name"]: c["value"] for c in variant.get("condition") or () if c.get("type") == "slot"}


def _variant_key(name: str, variant: dict) -> str:
    """The response, then the value of each slot condition but the language's, in the variant's
    order: ``utter_help``, ``utter_help/sms``, ``utter_learn_swedish/sms/boras``. A condition on an
    unset slot (``value: null``, the municipality not known) adds nothing."""
    values = [str(value) for slot, value in _slots(variant).items() if slot != "language" and value is not None]
    return "/".join([name, *values])


def _button_key(name: str, button: dict) -> str:
    return f"{name}/button{button['payload']}"


def template(
    domain: Path = DOMAIN,
    texts: dict[str, str] | None = None,
    phrases: dict[str, str] | None = None,
    titles: Path = TITLES_FILE,
) -> Catalog:
    """Every Swedish text a resident reads, keyed by msgctxt (in file order)."""
    if texts is None:
        from common import texts as gateway

        texts = {key: sv for key, sv in gateway.SWEDISH.items() if key not in gateway.UNTRANSLATED}
    if phrases is None:
        from common import phrases as book

        phrases = book.SWEDISH
    catalogue = Catalog(project=DOMAIN_NAME, fuzzy=False)

    def add(key: str, swedish: str, where: str, note: str, flags: tuple[str, ...] = ()) -> None:
        before = catalogue.get(swedish, key)
        if key in seen and before is None:
            raise ValueError(f"{where}: {key} has different Swedish texts (a button titled per channel?)")
        seen.add(key)
        comments = [NOTES[note]] + ([FACTS_NOTE] if re.search(r"\{\w+\}|\d|\.se\b", swedish) else [])
        # No line number: as Babel's read_po gives a location without one (its annotation says int).
        catalogue.add(
            swedish,
            context=key,
            locations=[(where, None)],  # type: ignore[list-item]
            auto_comments=comments,
            flags=flags,
        )

    seen: set[str] = set()
    for path in sorted(domain.glob("*.yml")):
        where = path.relative_to(domain.parent).as_posix()
        for name, variants in (yaml.load(path.read_text(encoding="utf-8"), LOADER).get("responses") or {}).items():
            for variant in variants:
                if _slots(variant).get("language") == SOURCE:
                    add(_variant_key(name, variant), variant["text"], where, _slots(variant).get("channel", "both"))
                    for button in variant.get("buttons") or ():
                        add(_button_key(name, button), button["title"], where, "button")
    for key, swedish in texts.items():
        add(TEXT_PREFIX + key, swedish, "common/texts.py", "text")
    for key, swedish in phrases.items():  # python-brace-format: Poedit and Weblate check the {fields}
        add(
            PHRASE_PREFIX + key,
            swedish,
            "common/phrases.py",
            "phrase",
            ("python-brace-format",) if re.search(r"\{\w+\}", swedish) else (),
        )
    for intent, names in (yaml.load(titles.read_text(encoding="utf-8"), LOADER) or {}).items():
        add(TITLE_PREFIX + intent, names[SOURCE], "data/titles.yml", "title")
    return catalogue


# --- the catalogues -----------------------------------------------------------------------------------------------


def load(language: str, locale: Path = LOCALE) -> Catalog:
    path = catalogue_path(language, locale)
    if path.exists():
        with path.open("rb") as stream:
            return read_po(stream, domain=DOMAIN_NAME)  # the locale from its Language header
    new = functools.partial(
        Catalog,
        domain=DOMAIN_NAME,
        project=DOMAIN_NAME,
        version="1",
        language_team=LANGUAGES[language].name,
        fuzzy=False,
    )
    try:
        catalogue = new(locale=language)
    except UnknownLocaleError:  # a language Babel's CLDR data does not know: no plural rules, no Language header
        catalogue = new()
    catalogue.header_comment = (
        f"# {LANGUAGES[language].name} translations of the hub guide. Swedish is the "
        "source: see docs/translations.md.\n#"
    )
    return catalogue


def is_reviewed(message: Message) -> bool:
    return any(REVIEWED.fullmatch(c.strip()) for c in message.user_comments)


def merge(catalogue: Catalog, source: Catalog) -> Catalog:
    """Babel's update, matched by msgctxt: a translation whose Swedish changed
    is kept, marked fuzzy, and loses its review (the reviewer read the old text).

    Babel's own fuzzy matching is left off: it pairs a changed text with the
    most similar old msgid of any key (often the same answer's other channel)
    and drops a rewrite below difflib's cutoff. Here the msgctxt is the key.
    No previous msgid ("#|") is kept: Babel's read_po does not read it back
    (python-babel/babel#206) and write_po wraps a long one into a broken comment."""
    # A copy: Babel's update adds the template's own Message objects for new entries.
    catalogue.update(copy.deepcopy(source), no_fuzzy_matching=True, update_creation_date=False)
    by_context: dict[str | None, tuple[str, str]] = {
        key[1]: key for key in catalogue.obsolete if isinstance(key, tuple)
    }
    for message in catalogue:
        old_key = by_context.get(message.context)
        if not message.id or message.string or old_key is None:
            continue
        old = catalogue.obsolete.pop(old_key)
        if old.string:
            message.string = old.string
            message.flags.add("fuzzy")
        message.user_comments = [c for c in old.user_comments if not REVIEWED.fullmatch(c.strip())]
    return catalogue


def po_text(catalogue: Catalog) -> bytes:
    out = BytesIO()
    write_po(out, catalogue, width=WIDTH, include_lineno=False)
    return out.getvalue()


def usable(catalogue: Catalog) -> dict[str, str]:
    """msgctxt -> translation, for entries translated and not fuzzy (every entry has a msgctxt, and
    none a plural)."""
    return {
        m.context: m.string
        for m in catalogue
        if m.id and m.context is not None and isinstance(m.string, str) and m.string and not m.fuzzy
    }


@dataclass(frozen=True)
class Counts:
    entries: int
    translated: int
    fuzzy: int
    missing: int
    unreviewed: int  # translated, and no native speaker's "reviewed:" comment


def counts(catalogue: Catalog) -> Counts:
    entries = [m for m in catalogue if m.id]
    fuzzy = sum(bool(m.string) and m.fuzzy for m in entries)
    missing = sum(not m.string for m in entries)
    done = [m for m in entries if m.string and not m.fuzzy]
    return Counts(len(entries), len(done), fuzzy, missing, sum(not is_reviewed(m) for m in done))


# --- what is generated --------------------------------------------------------------------------------------------


def _last_line(node: yaml.Node) -> int:
    """The last line a node's own text is on (block collections end where the next token starts)."""
    if isinstance(node, yaml.CollectionNode) and not node.flow_style:
        last = node.value[-1]
        return _last_line(last[1] if isinstance(last, tuple) else last)
    return node.end_mark.line if node.end_mark.column else node.end_mark.line - 1


def _emit(variant: dict, indent: int, double_quoted: bool) -> list[str]:
    """One variant as the file writes its Swedish ones: flow-style conditions and buttons,
    the text double-quoted (as JSON, which YAML reads) or as PyYAML writes it."""

    def flow(data: object) -> str:
        return yaml.dump(data, default_flow_style=True, allow_unicode=True, width=math.inf, sort_keys=False)

    text = (
        f"text: {json.dumps(variant['text'], ensure_ascii=False)}"
        if double_quoted
        else yaml.dump({"text": variant["text"]}, allow_unicode=True, width=math.inf).rstrip("\n")
    )
    lines = [f"- condition: {flow(variant['condition']).strip()}"]
    lines += [f"  {line}" if line else line for line in text.split("\n")]
    if "buttons" in variant:
        lines += ["  buttons:"] + [f"  - {flow(button).strip()}" for button in variant["buttons"]]
    return [" " * indent + line if line else line for line in lines]


def _translated(name: str, variant: dict, language: str, translations: dict[str, str]) -> dict:
    condition = [{**c, "value": language} if c.get("name") == "language" else c for c in variant["condition"]]
    out = {**variant, "condition": condition, "text": translations.get(_variant_key(name, variant), variant["text"])}
    if "buttons" in variant:
        out["buttons"] = [
            {**b, "title": translations.get(_button_key(name, b), b["title"])} for b in variant["buttons"]
        ]
    return out


def domain_file(text: str, translations: dict[str, dict[str, str]]) -> str:
    """A domain file with every non-Swedish variant generated from the catalogues, after
    each response's Swedish ones; the Swedish variants, comments and the rest stay as they are."""
    lines = text.split("\n")
    data, root = yaml.load(text, LOADER) or {}, yaml.compose(text, LOADER)
    if root is None:  # nothing in the file but comments
        return text
    sequences: list[tuple[yaml.Node, yaml.Node]] = next(
        (value.value for key, value in root.value if key.value == "responses"), []
    )
    dropped: set[int] = set()
    inserted: dict[int, list[str]] = {}  # after this line
    for (_, sequence), (name, variants) in zip(sequences, data.get("responses", {}).items(), strict=True):
        swedish = []
        for node, variant in zip(sequence.value, variants, strict=True):
            if _slots(variant).get("language") == SOURCE:
                swedish.append((node, variant))
            else:
                dropped.update(range(node.start_mark.line, _last_line(node) + 1))
        if not swedish:
            raise ValueError(f"{name} has no Swedish variant")
        node = swedish[-1][0]
        text_node = next(value for key, value in node.value if key.value == "text")
        indent = lines[node.start_mark.line].index("- ")
        inserted[_last_line(node)] = [
            line
            for language in targets()
            for _, variant in swedish
            for line in _emit(
                _translated(name, variant, language, translations[language]),
                indent,
                double_quoted=text_node.style == '"',
            )
        ]
    out = []
    for number, line in enumerate(lines):
        if number not in dropped:
            out.append(line)
        out += inserted.get(number, [])
    return "\n".join(out)


def titles_file(text: str, translations: dict[str, dict[str, str]]) -> str:
    """data/titles.yml with every topic's line rewritten: its Swedish title, then the other
    languages' from the catalogues (the Swedish where one is missing); comments stay as they are."""
    lines = text.split("\n")
    data, root = yaml.load(text, LOADER) or {}, yaml.compose(text, LOADER)
    replaced: dict[int, tuple[int, str]] = {}  # first line -> (last line, what replaces them)
    for (key, node), (intent, names) in zip(root.value if root else (), data.items(), strict=True):
        if SOURCE not in names:
            raise ValueError(f"{intent} has no {SOURCE} title")
        chosen = {SOURCE: names[SOURCE]}
        chosen |= {code: translations[code].get(TITLE_PREFIX + intent, names[SOURCE]) for code in targets()}
        pairs = ", ".join(f"{code}: {json.dumps(title, ensure_ascii=False)}" for code, title in chosen.items())
        replaced[key.start_mark.line] = (_last_line(node), f"{intent}: {{{pairs}}}")
    out, skip_to = [], -1
    for number, line in enumerate(lines):
        if number in replaced:
            skip_to, line = replaced[number]
        elif number <= skip_to:
            continue
        out.append(line)
    return "\n".join(out)


def generate(
    catalogues: dict[str, Catalog], domain: Path = DOMAIN, texts_file: Path = TEXTS_FILE, titles: Path = TITLES_FILE
) -> dict[Path, str]:
    """Every generated file's path and content, from the catalogues of the target languages."""
    translations = {language: usable(catalogues[language]) for language in targets()}
    files = {path: domain_file(path.read_text(encoding="utf-8"), translations) for path in sorted(domain.glob("*.yml"))}
    for prefix, path in ((TEXT_PREFIX, texts_file), (PHRASE_PREFIX, texts_file.with_name(PHRASES_NAME))):
        chosen = {
            language: {
                key.removeprefix(prefix): value
                for key, value in translations[language].items()
                if key.startswith(prefix)
            }
            for language in targets()
        }
        files[path] = json.dumps(chosen, ensure_ascii=False, indent=1) + "\n"
    files[titles] = titles_file(titles.read_text(encoding="utf-8"), translations)
    return files


# --- the command --------------------------------------------------------------------------------------------------


def update(
    locale: Path = LOCALE,
    domain: Path = DOMAIN,
    texts_file: Path = TEXTS_FILE,
    texts: dict[str, str] | None = None,
    titles: Path = TITLES_FILE,
) -> dict[str, Counts]:
    """Merge the Swedish into every catalogue, write the catalogues and what is generated from them."""
    source = template(domain, texts, titles=titles)
    catalogues = {language: merge(load(language, locale), source) for language in targets()}
    for language, catalogue in catalogues.items():
        path = catalogue_path(language, locale)
        path.parent.mkdir(parents=True, exist_ok=True)
        _write(path, po_text(catalogue))
    for path, content in generate(catalogues, domain, texts_file, titles).items():
        _write(path, content.encode("utf-8"))
    return {language: counts(catalogue) for language, catalogue in catalogues.items()}


def _write(path: Path, content: bytes) -> None:
    if not path.exists() or path.read_bytes() != content:
        path.write_bytes(content)


def report(results: dict[str, Counts]) -> str:
    lines = [f"{'language':<22}{'entries':>8}{'translated':>11}{'fuzzy':>7}{'missing':>8}{'unreviewed':>11}"]
    for language, c in results.items():
        name = f"{language} {LANGUAGES[language].name}"
        lines.append(f"{name:<22}{c.entries:>8}{c.translated:>11}{c.fuzzy:>7}{c.missing:>8}{c.unreviewed:>11}")
    if any(c.fuzzy or c.missing for c in results.values()):
        lines.append("CI fails until every fuzzy and missing entry is translated (docs/translations.md).")
    return "\n".join(lines)


def main() -> int:
    print(report(update()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
