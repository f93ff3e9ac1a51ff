"""Benchmark of place matching (``python -m bench.places``).

Runs ``common.hubs.match_place`` and the routing after it (``hub_for``) over the
table of what residents write, ``tests/common/places.tsv`` (the same table the
unit test reads). Each row has a kind: exact, no_diacritics, typo, script
(Arabic, Persian, Tigrinya or Somali spelling), postal, outside (a place in a
municipality without a hub) and unknown (must stay unknown). Reports accuracy
overall and per kind (right = the expected place, or nothing for "unknown",
and the expected hub), false matches separately (a place where the answer is
"unknown", or a different place), misses (nothing where a place was expected),
and the median time per message. Writes reports/places-<time>.json and .md and
prints the markdown.
"""

from __future__ import annotations

import argparse
import csv
import statistics
import time
from collections import Counter
from datetime import datetime
from pathlib import Path

from bench.common import write_report
from common import hubs

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "tests" / "bot" / "places.tsv"
KINDS = ("exact", "no_diacritics", "typo", "script", "postal", "outside", "unknown")


def load(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as f:
        return list(csv.DictReader(f, delimiter="\t", quoting=csv.QUOTE_NONE))


def pct(right: int, total: int) -> float | None:
    return round(100.0 * right / total, 1) if total else None


def run(rows: list[dict[str, str]]) -> dict:
    hubs.directory()  # not timed: reads the data files
    right, total, held_right, held_total = Counter(), Counter(), Counter(), Counter()
    false_matches, misses, wrong_hub, times, mistakes = Counter(), Counter(), Counter(), [], []
    for row in rows:
        started = time.perf_counter_ns()
        place = hubs.match_place(row["text"])
        hub = hubs.hub_for(place) if place else None
        times.append((time.perf_counter_ns() - started) / 1000)
        # a name two places share is labelled with its municipality: "Sjöbo (Borås)"
        got, slug = (hubs.label(place) if place else "unknown"), (hub.slug if hub else "")
        kind = row["kind"]
        total[kind] += 1
        ok = got == row["expected"] and slug == row["hub"]
        right[kind] += ok
        if row["note"].startswith("held out"):  # written after the matcher was tuned
            held_total[kind] += 1
            held_right[kind] += ok
        if got != row["expected"]:
            if place is None:
                misses[kind] += 1
            else:
                false_matches[kind] += 1
        elif slug != row["hub"]:
            wrong_hub[kind] += 1
        if not ok:
            mistakes.append(
                {
                    "text": row["text"],
                    "kind": kind,
                    "expected": row["expected"],
                    "hub": row["hub"],
                    "got": got,
                    "got_hub": slug,
                    "note": row["note"],
                }
            )
    return {
        "accuracy": pct(sum(right.values()), sum(total.values())),
        "per_kind": {
            kind: {
                "rows": total[kind],
                "accuracy": pct(right[kind], total[kind]),
                "false_matches": false_matches[kind],
                "misses": misses[kind],
                "wrong_hub": wrong_hub[kind],
            }
            for kind in KINDS
        },
        "held_out": {
            "rows": sum(held_total.values()),
            "accuracy": pct(sum(held_right.values()), sum(held_total.values())),
            "tuned_rows": sum(total.values()) - sum(held_total.values()),
            "tuned_accuracy": pct(
                sum(right.values()) - sum(held_right.values()), sum(total.values()) - sum(held_total.values())
            ),
        },
        "false_matches": sum(false_matches.values()),
        "unknown_kept_unknown": pct(right["unknown"], total["unknown"]),
        "misses": sum(misses.values()),
        "median_us": round(statistics.median(times), 1) if times else None,
        "mistakes": mistakes,
    }


def gazetteer() -> dict:
    directory = hubs.directory()
    return {
        "places": len(directory.places),
        "with_point": sum(p.point is not None for p in directory.places),
        "outside": sum(p.outside for p in directory.places),
        "aliases": sum(len(p.aliases) for p in directory.places),
        "script_names": sum(len(p.scripts) for p in directory.places),
        "postal_code_ranges": sum(len(p.postal_codes) for p in directory.places),
        "hubs": len(directory.hubs),
        "hubs_listed": len(directory.listed),
        "hubs_with_point": len(directory.routable),
    }


def markdown(report: dict) -> str:
    r, g = report["result"], report["gazetteer"]
    lines = [
        f"# Place matching, {report['time']}",
        "",
        f"Data: `{report['data']}` ({report['rows']} rows). Gazetteer: {g['places']} places "
        f"({g['with_point']} with a sourced point, {g['outside']} outside Göteborg and Borås), {g['aliases']} aliases, "
        f"{g['script_names']} names in other scripts, {g['postal_code_ranges']} postal-code ranges; "
        f"{g['hubs']} hubs, {g['hubs_listed']} offered (confirmed active), {g['hubs_with_point']} with a point.",
        'A row is right when the place (or nothing, for "unknown") and the hub it routes to are both the '
        "expected ones. A false match is a place where none or another was expected; a miss is nothing "
        "where a place was expected.",
        "",
        f"**Accuracy: {r['accuracy']}%**; false matches: {r['false_matches']}; misses: {r['misses']}; "
        f"median {r['median_us']} µs per message.",
        "",
        f"Rows written with the matcher (tuned on): {r['held_out']['tuned_rows']}, {r['held_out']['tuned_accuracy']}%. "
        f'Rows written after it was tuned (note "held out"): {r["held_out"]["rows"]}, {r["held_out"]["accuracy"]}%: '
        "the honest figure for new spellings.",
        "",
        "| kind | rows | accuracy % | false matches | misses | wrong hub |",
        "|---|---|---|---|---|---|",
    ]
    for kind, k in r["per_kind"].items():
        lines.append(
            f"| {kind} | {k['rows']} | {'–' if k['accuracy'] is None else k['accuracy']} | "
            f"{k['false_matches']} | {k['misses']} | {k['wrong_hub']} |"
        )
    lines += ["", "## Mistakes", "", "| text | kind | expected | got | note |", "|---|---|---|---|---|"]
    for m in r["mistakes"]:
        lines.append(
            f"| {m['text']} | {m['kind']} | {m['expected']} → {m['hub'] or '(list)'} | "
            f"{m['got']} → {m['got_hub'] or '(list)'} | {m['note']} |"
        )
    if not r["mistakes"]:
        lines.append("| (none) | | | | |")
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DATA, help="the table (text, expected, hub, kind, note)")
    args = parser.parse_args()
    rows = load(args.data)
    now = datetime.now()
    report = {
        "time": now.strftime("%Y-%m-%d %H:%M:%S"),
        "data": str(args.data),
        "rows": len(rows),
        "gazetteer": gazetteer(),
        "result": run(rows),
    }
    write_report("places", report, markdown)


if __name__ == "__main__":
    main()
