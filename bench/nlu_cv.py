"""Intent classification per language by 5-fold cross-validation
(``python -m bench.nlu_cv``; part of ``make bench``).

Runs ``rasa test nlu --cross-validation`` with the project's own config on all
of data/nlu, keeps every held-out prediction (successes and errors), and
reports macro F1 per language, the training time of the full model's NLU part
per fold, and the most confused intent pairs. Writes reports/nlu-cv-<time>.md/.json.
"""
from __future__ import annotations

import argparse
import json
import subprocess
import tempfile
import time
from collections import Counter, defaultdict
from datetime import datetime, timezone
from pathlib import Path

import yaml

from bot import model
from bot.languages import LANGUAGES
from bot.settings import ROOT

GOAL_F1 = 0.90


def examples_by_language() -> dict[str, set[str]]:
    """Which languages' files each example text comes from."""
    languages: dict[str, set[str]] = defaultdict(set)
    for language in LANGUAGES:
        for path in (ROOT / "data" / "nlu" / language).glob("*.yml"):
            for block in yaml.safe_load(path.read_text(encoding="utf-8"))["nlu"]:
                for line in block["examples"].splitlines():
                    if line.startswith("- "):
                        languages[line[2:].strip()].add(language)
    return languages


def macro_f1(pairs: list[tuple[str, str]]) -> float:
    """Macro F1 over the gold intents of ``pairs`` (gold, predicted)."""
    gold_labels = {gold for gold, _ in pairs}
    scores = []
    for label in gold_labels:
        tp = sum(1 for g, p in pairs if g == label and p == label)
        fp = sum(1 for g, p in pairs if g != label and p == label)
        fn = sum(1 for g, p in pairs if g == label and p != label)
        precision = tp / (tp + fp) if tp + fp else 0.0
        recall = tp / (tp + fn) if tp + fn else 0.0
        scores.append(2 * precision * recall / (precision + recall) if precision + recall else 0.0)
    return sum(scores) / len(scores) if scores else 0.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--folds", type=int, default=5)
    args = parser.parse_args()
    out = Path(tempfile.mkdtemp(prefix="hubguide-nlu-cv-"))
    started = time.perf_counter()
    subprocess.run(
        [str(model.RASA), "test", "nlu", "--nlu", "data/nlu", "--config", "config.yml", "--cross-validation",
         "--folds", str(args.folds), "--successes", "--no-plot", "--out", str(out)],
        cwd=ROOT, check=True,
    )
    seconds = time.perf_counter() - started
    predictions = [
        *json.loads((out / "intent_successes.json").read_text()),
        *json.loads((out / "intent_errors.json").read_text()),
    ]
    languages = examples_by_language()
    per_language: dict[str, list[tuple[str, str]]] = defaultdict(list)
    for item in predictions:
        pair = (item["intent"], (item.get("intent_prediction") or {}).get("name") or "none")
        for language in languages.get(item["text"].strip(), ()):
            per_language[language].append(pair)
    confusion = Counter((g, p) for pairs in per_language.values() for g, p in pairs if g != p)
    result = {
        "when": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "folds": args.folds, "seconds": round(seconds),
        "macro_f1": {lang: round(macro_f1(per_language[lang]), 4) for lang in LANGUAGES},
        "examples": {lang: len(per_language[lang]) for lang in LANGUAGES},
        "accuracy": {lang: round(sum(g == p for g, p in per_language[lang]) / max(1, len(per_language[lang])), 4)
                     for lang in LANGUAGES},
        "worst_pairs": [{"gold": g, "predicted": p, "count": n} for (g, p), n in confusion.most_common(12)],
    }
    lines = [f"# Intent cross-validation, {result['when']}", "",
             f"`rasa test nlu --cross-validation --folds {args.folds}` with config.yml on data/nlu: "
             f"{seconds:.0f} s in all. Goal: macro F1 >= {GOAL_F1} in every language.", "",
             "| language | examples | accuracy | macro F1 | goal |", "|---|---|---|---|---|"]
    for lang in LANGUAGES:
        f1 = result["macro_f1"][lang]
        lines.append(f"| {lang} | {result['examples'][lang]} | {result['accuracy'][lang]:.3f} | {f1:.3f} | "
                     f"{'met' if f1 >= GOAL_F1 else 'NOT met'} |")
    lines += ["", "Most confused pairs (gold -> predicted, all languages):", "",
              *(f"- {w['gold']} -> {w['predicted']}: {w['count']}" for w in result["worst_pairs"])]
    reports = ROOT / "reports"
    reports.mkdir(exist_ok=True)
    stem = reports / f"nlu-cv-{datetime.now():%Y%m%d-%H%M%S}"
    stem.with_suffix(".json").write_text(json.dumps(result, indent=2, ensure_ascii=False))
    stem.with_suffix(".md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
