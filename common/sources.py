"""The source registry (data/sources/*.yml): every fact a resident reads, with
the page that states it, the date it was checked and a short quote.

    python -m common.sources           # entries not checked for 12 months
    python -m common.sources --fetch   # also fetch every source: vanished pages, quotes no longer there

``make check-sources`` runs the second; it needs the network, so CI never runs it.
"""

from __future__ import annotations

import argparse
import datetime
import re
import sys
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import Path

import yaml

from common.paths import ROOT

FOLDER = ROOT / "data" / "sources"
STALE_AFTER = datetime.timedelta(days=365)


@dataclass(frozen=True)
class Fact:
    key: str
    value: str
    also: tuple[str, ...]
    source: str
    checked: datetime.date
    quote: str
    file: str


def load(folder: Path = FOLDER) -> dict[str, Fact]:
    """Every entry, by key; a key in two files is an error (one fact, one entry)."""
    facts: dict[str, Fact] = {}
    for path in sorted(folder.glob("*.yml")):
        for key, entry in (yaml.safe_load(path.read_text(encoding="utf-8")).get("facts") or {}).items():
            if key in facts:
                raise ValueError(f"{path.name}: the key {key} is also in {facts[key].file}")
            facts[key] = Fact(
                key,
                str(entry.get("value", "")),
                tuple(str(a) for a in entry.get("also") or ()),
                str(entry.get("source", "")),
                entry.get("checked"),
                str(entry.get("quote", "")),
                path.name,
            )
    return facts


def stale(facts: dict[str, Fact], today: datetime.date | None = None) -> list[Fact]:
    today = today or datetime.date.today()
    return sorted((f for f in facts.values() if today - f.checked > STALE_AFTER), key=lambda f: f.checked)


class _Text(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.parts: list[str] = []

    def handle_data(self, data: str) -> None:
        self.parts.append(data)


def _words(text: str) -> str:
    return " ".join(re.sub(r"[\"'“”’]", "", text).casefold().split())


def quote_found(page_html: str, quote: str) -> bool:
    """Every part of the quote (parts cut with "...") is on the page, ignoring
    case, spacing and quotation marks."""
    reader = _Text()
    reader.feed(page_html)
    page = _words(" ".join(reader.parts))
    return all(_words(part) in page for part in re.split(r"\s*\.\.\.\s*|\s*…\s*", quote) if part.strip())


def fetch_report(facts: dict[str, Fact]) -> list[str]:
    import httpx

    problems = []
    with httpx.Client(timeout=20, follow_redirects=True, headers={"User-Agent": "hubguide-check-sources"}) as client:
        for source in sorted({f.source for f in facts.values()}):
            keys = [f.key for f in facts.values() if f.source == source]
            try:
                response = client.get(source)
            except httpx.HTTPError as exc:
                problems.append(f"unreachable  {source} ({type(exc).__name__}): {', '.join(keys)}")
                continue
            if response.status_code >= 400:
                problems.append(f"vanished     {source} (HTTP {response.status_code}): {', '.join(keys)}")
                continue
            changed = [f.key for f in facts.values() if f.source == source and not quote_found(response.text, f.quote)]
            if changed:
                problems.append(f"changed      {source}: the quote is no longer there for {', '.join(changed)}")
    return problems


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--fetch", action="store_true", help="fetch every source (needs the network)")
    args = parser.parse_args(argv)
    facts = load()
    old = stale(facts)
    print(
        f"{len(facts)} facts from {len({f.source for f in facts.values()})} sources; "
        f"{len(old)} not checked for 12 months"
    )
    for fact in old:
        print(f"  {fact.checked}  {fact.key} ({fact.file}): {fact.source}")
    problems = fetch_report(facts) if args.fetch else []
    for line in problems:
        print(line)
    return 1 if old or problems else 0


if __name__ == "__main__":
    sys.exit(main())
