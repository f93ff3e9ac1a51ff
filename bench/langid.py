"""Benchmark of resident-language detection (``python -m bench.langid``).

Runs the three backends of ``common.langid`` over the short-message development
set: ``hubguide`` (ours), ``langdetect`` unrestricted as the library ships it
(seed 0) and ``lingua`` restricted to the supported languages it knows. For
each: accuracy over the six supported languages, overall, per language and
per length bucket; Tigrinya accuracy; how often a row in a language we do not
support is answered, confidently, as a supported one; and the median detection
time per message, also as a ratio to langdetect's in the same run (this
machine is shared and noisy).

A supported row counts as right when the backend's answer is its language:
``Detection.language``, or nothing when the backend says "unsupported". Rows in
other languages (ku tr bs hr sr fi pl es) only count as answered confidently
as a supported language or not, so bs/hr/sr being one language changes nothing.
Writes reports/langid-<time>.json and .md and prints the markdown.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import statistics
import subprocess
import sys
import time
from collections import Counter
from datetime import datetime
from pathlib import Path

import psutil

from bench.common import write_report
from common import langid
from common.languages import LANGUAGES

ROOT = Path(__file__).resolve().parent.parent
RELATIVE = Path("shared") / "eval" / "langid" / "short_messages_dev.tsv"
DATA_CANDIDATES = (ROOT.parent / RELATIVE, Path("/work") / RELATIVE)
BUCKETS = ((1, 3), (4, 7), (8, 15))
WORST = 15


def default_data() -> Path:
    for path in DATA_CANDIDATES:
        if path.exists():
            return path
    return DATA_CANDIDATES[-1]


def load(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as f:
        return list(csv.DictReader(f, delimiter="\t", quoting=csv.QUOTE_NONE))


def bucket(text: str) -> str:
    words = langid.letter_word_count(text)
    for low, high in BUCKETS:
        if words <= high:
            return f"{low}-{high}"
    return f"{BUCKETS[-1][0]}-{BUCKETS[-1][1]}"


def pct(right: int, total: int) -> float | None:
    return round(100.0 * right / total, 1) if total else None


COLD = """
import json, sys, time
started = time.perf_counter()
from common import langid
langid.preload({name!r})
print(json.dumps({{"seconds": time.perf_counter() - started}}), flush=True)
sys.stdin.read()  # alive until the parent has read this process's memory
"""


def cold_start(name: str) -> dict:
    """Import, build and load one backend in a fresh process: seconds, and
    its memory read from outside (psutil) so measuring adds nothing to it."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))}
    with subprocess.Popen(
        [sys.executable, "-c", COLD.format(name=name)],
        cwd=ROOT,
        env=env,
        text=True,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    ) as child:
        output = []
        for line in child.stdout:
            output.append(line)
            if line.startswith('{"seconds"'):
                rss = psutil.Process(child.pid).memory_info().rss
                break
        child.stdin.close()
    if not output or not output[-1].startswith('{"seconds"'):
        raise RuntimeError(f"cold start of {name} failed (exit {child.returncode}):\n{''.join(output)}")
    return {"cold_start_s": round(json.loads(output[-1])["seconds"], 2), "rss_mb": round(rss / 2**20)}


def run_backend(name: str, rows: list[dict[str, str]]) -> dict:
    """Detect every row with one backend; counts, times and mistakes."""
    langid.preload(name)  # not timed: builds detectors and loads models
    right, total = Counter(), Counter()
    confident_right = confident_wrong = 0
    by_bucket_right, by_bucket_total = Counter(), Counter()
    unsupported_total = unsupported_accepted = unsupported_flagged = 0
    accepted_by_language = Counter()
    times, mistakes = [], []
    for row in rows:
        gold, text = row["lang"], row["text"]
        started = time.perf_counter_ns()
        detection = langid.detect(text, backend=name)
        times.append((time.perf_counter_ns() - started) / 1000)
        answer = None if detection.unsupported else detection.language
        if gold in LANGUAGES:
            ok = answer == gold
            confident_right += ok and detection.confident
            confident_wrong += not ok and (detection.confident or detection.unsupported)
            total[gold] += 1
            right[gold] += ok
            by_bucket_total[bucket(text)] += 1
            by_bucket_right[bucket(text)] += ok
            if not ok:
                mistakes.append(
                    {
                        "text": text,
                        "gold": gold,
                        "predicted": answer or "-",
                        "confidence": round(detection.confidence, 3),
                        "unsupported": detection.unsupported,
                        "other": detection.other,
                        "acted_on": detection.confident or detection.unsupported,
                    }
                )
        else:
            unsupported_total += 1
            unsupported_accepted += detection.confident
            accepted_by_language[gold] += detection.confident
            unsupported_flagged += detection.unsupported
    # Worst first: mistakes decide() would act on (switch, or show the menu), then by confidence.
    mistakes.sort(key=lambda m: (not m["acted_on"], -m["confidence"]))
    return {
        "accuracy": pct(sum(right.values()), sum(total.values())),
        "accuracy_without_tigrinya": pct(sum(right.values()) - right["ti"], sum(total.values()) - total["ti"]),
        "per_language": {code: pct(right[code], total[code]) for code in LANGUAGES},
        "per_bucket": {
            f"{low}-{high}": pct(by_bucket_right[f"{low}-{high}"], by_bucket_total[f"{low}-{high}"])
            for low, high in BUCKETS
        },
        "tigrinya": pct(right["ti"], total["ti"]),
        "unsupported_confidently_supported": pct(unsupported_accepted, unsupported_total),
        "unsupported_recognised": pct(unsupported_flagged, unsupported_total),
        "unsupported_confidently_supported_rows": dict(accepted_by_language),
        "supported_confident_right": pct(confident_right, sum(total.values())),
        "supported_acted_on_wrongly": confident_wrong,
        "unsupported_rows": unsupported_total,
        "supported_rows": sum(total.values()),
        "median_us": round(statistics.median(times), 1),
        "mistakes": mistakes,
    }


def markdown(report: dict) -> str:
    results = report["backends"]
    names = list(results)
    lines = [
        f"# Language identification, {report['time']}",
        "",
        f"Data: `{report['data']}` ({report['rows']} rows: {results[names[0]]['supported_rows']} in supported "
        f"languages, {results[names[0]]['unsupported_rows']} in others). `CONFIDENT` = {report['confident']}.",
        'Accuracy in % over the six supported languages; "unsupported → supported" is the % of rows in '
        "other languages answered as a supported language with confidence.",
        "",
        "| | " + " | ".join(names) + " |",
        "|---|" + "---|" * len(names),
    ]

    def row(label: str, values: list) -> None:
        lines.append(f"| {label} | " + " | ".join("–" if v is None else str(v) for v in values) + " |")

    row("**accuracy**", [results[n]["accuracy"] for n in names])
    row("without Tigrinya (the libraries lack it)", [results[n]["accuracy_without_tigrinya"] for n in names])
    for low, high in BUCKETS:
        row(f"{low}–{high} words", [results[n]["per_bucket"][f"{low}-{high}"] for n in names])
    for code, lang in LANGUAGES.items():
        row(f"{code} {lang.name}", [results[n]["per_language"][code] for n in names])
    row("**unsupported → supported**", [results[n]["unsupported_confidently_supported"] for n in names])
    row("unsupported recognised as such", [results[n]["unsupported_recognised"] for n in names])
    row("supported, right and confident", [results[n]["supported_confident_right"] for n in names])
    row("supported, wrong and acted on (rows)", [results[n]["supported_acted_on_wrongly"] for n in names])
    row("median µs per message", [results[n]["median_us"] for n in names])
    row("× langdetect's median", [results[n]["time_ratio"] for n in names])
    row("cold start in a fresh process, s", [results[n]["cold_start_s"] for n in names])
    row("process memory after it, MB", [results[n]["rss_mb"] for n in names])
    lines += [
        "",
        '"Acted on": confident of the wrong supported language (would switch it) or "unsupported" '
        "(would show the menu). Cold start: import, build the detectors and load their models.",
        "",
        f"## The {WORST} worst hubguide mistakes (supported rows)",
        "",
        "| text | gold | predicted | confidence |",
        "|---|---|---|---|",
    ]
    for m in results["hubguide"]["mistakes"][:WORST]:
        predicted = m["predicted"] + (f" (unsupported: {m['other'] or '?'})" if m["unsupported"] else "")
        text = m["text"].replace("|", "\\|")
        lines.append(f"| {text} | {m['gold']} | {predicted} | {m['confidence']} |")
    if not results["hubguide"]["mistakes"]:
        lines.append("| (none) | | | |")
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=None, help="the short-message TSV (lang, text, source)")
    args = parser.parse_args()
    data = args.data or default_data()
    rows = load(data)
    names = ("hubguide", "langdetect", "lingua")
    results = {name: {**run_backend(name, rows), **cold_start(name)} for name in names}
    base = results["langdetect"]["median_us"]
    for result in results.values():
        result["time_ratio"] = round(result["median_us"] / base, 2) if base else None
    now = datetime.now()
    report = {
        "time": now.strftime("%Y-%m-%d %H:%M:%S"),
        "data": str(data),
        "rows": len(rows),
        "confident": langid.CONFIDENT,
        "backends": results,
    }
    write_report("langid", report, markdown)


if __name__ == "__main__":
    main()
