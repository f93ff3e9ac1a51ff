"""Intent classification per language by 5-fold cross-validation
(``python -m bench.nlu_cv``; part of ``make bench``).

Runs ``rasa test nlu --cross-validation`` with the project's own config on all
of data/nlu, keeps every held-out prediction (successes and errors), and
reports macro F1 per language, F1 per intent and language, and the most
confused intent pairs. Writes reports/nlu-cv-<time>.md/.json.

Two F1 figures per language: ``macro F1`` is Rasa's own (``rasa test nlu``
undoes the FallbackClassifier and scores the top intent whatever its
confidence); ``with fallback`` counts a held-out prediction below the
FallbackClassifier threshold in config.yml as ``nlu_fallback``, i.e. as an
error, which is what a resident would get. The goal is on the first.

For trying changes, two shorter runs; the goal's numbers come from the full run.

- ``--fast`` (about 80 s per seed on this machine): the same k folds with the same
  components and config, trained and predicted in one process
  (``bench/rasa_folds.py``), on seeded folds (``--seeds 0 1 2``), so a change
  is compared on the same folds and over several of them. Rasa's own run
  shuffles its folds without a seed, which alone moves a language's F1 by
  about 0.005.
- ``--quick`` trains once on a stratified 80% (per language and intent) and
  tests on the other 20% through Rasa's own processing, which also shows what
  both of the FallbackClassifier's rules do.
"""

from __future__ import annotations

import argparse
import json
import random
import subprocess
import tempfile
import time
from collections import Counter, defaultdict
from datetime import datetime, timezone
from pathlib import Path

import yaml

from bench.common import write_report
from common.languages import LANGUAGES
from common.paths import ROOT
from stack import model

GOAL_F1 = 0.90
FALLBACK = "nlu_fallback"


def read_examples(nlu: Path) -> list[tuple[str, str, str]]:
    """(language, intent, text) of every example in ``nlu/<language>/*.yml``."""
    found = []
    for language in LANGUAGES:
        for path in sorted((nlu / language).glob("*.yml")):
            for block in yaml.safe_load(path.read_text(encoding="utf-8"))["nlu"]:
                for line in block["examples"].splitlines():
                    if line.startswith("- "):
                        found.append((language, block["intent"], line[2:].strip()))
    return found


def examples_by_language(nlu: Path = ROOT / "data" / "nlu") -> dict[str, set[str]]:
    """Which languages' files each example text comes from."""
    languages: dict[str, set[str]] = defaultdict(set)
    for language, _, text in read_examples(nlu):
        languages[text].add(language)
    return languages


def fallback_config(config: Path) -> dict | None:
    pipeline = yaml.safe_load(config.read_text(encoding="utf-8")).get("pipeline", [])
    return next((c for c in pipeline if c.get("name") == "FallbackClassifier"), None)


def f1_scores(pairs: list[tuple[str, str]]) -> dict[str, float]:
    """F1 per gold intent of ``pairs`` (gold, predicted)."""
    scores = {}
    for label in {gold for gold, _ in pairs}:
        tp = sum(1 for g, p in pairs if g == label and p == label)
        fp = sum(1 for g, p in pairs if g != label and p == label)
        fn = sum(1 for g, p in pairs if g == label and p != label)
        precision = tp / (tp + fp) if tp + fp else 0.0
        recall = tp / (tp + fn) if tp + fn else 0.0
        scores[label] = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return scores


def macro_f1(pairs: list[tuple[str, str]]) -> float:
    """Macro F1 over the gold intents of ``pairs`` (gold, predicted)."""
    scores = f1_scores(pairs)
    return sum(scores.values()) / len(scores) if scores else 0.0


def threshold_sweep(scored: list[tuple[str, str, float]]) -> list[dict]:
    """For each candidate FallbackClassifier threshold: the share of held-out
    messages that would get the fallback, the share answered with a wrong
    intent, and macro F1 counting fallbacks as errors."""
    sweep = []
    for step in range(2, 13):
        threshold = step / 20
        pairs = [(gold, predicted if confidence >= threshold else FALLBACK) for gold, predicted, confidence in scored]
        sweep.append(
            {
                "threshold": threshold,
                "fallback": sum(p == FALLBACK for _, p in pairs) / max(1, len(pairs)),
                "wrong": sum(p not in (g, FALLBACK) for g, p in pairs) / max(1, len(pairs)),
                "macro_f1": round(macro_f1(pairs), 4),
            }
        )
    return sweep


def _shown(path: Path) -> str:
    return str(path.relative_to(ROOT)) if path.is_relative_to(ROOT) else str(path)


def rasa(*args: str) -> None:
    subprocess.run([str(model.RASA), *args], cwd=ROOT, check=True)


def in_rasa(module: str, *args: str) -> None:
    """``python -m module args`` in the Rasa environment (bench.rasa_rank, bench.rasa_folds)."""
    subprocess.run([str(model.RASA.with_name("python")), "-m", module, *args], cwd=ROOT, check=True)


def write_nlu(path: Path, examples: list[tuple[str, str, str]]) -> None:
    by_intent: dict[str, dict[str, None]] = defaultdict(dict)
    for _, intent, text in examples:
        by_intent[intent][text] = None
    nlu = [{"intent": intent, "examples": "".join(f"- {t}\n" for t in texts)} for intent, texts in by_intent.items()]
    path.write_text(
        yaml.safe_dump({"version": "3.1", "nlu": nlu}, allow_unicode=True, sort_keys=False), encoding="utf-8"
    )


def quick_split(nlu: Path, config: Path, out: Path, seed: int) -> list[tuple[str, list]]:
    """Train on a stratified 80%, test on the rest; predictions land in ``out``.
    Returns each held-out example's gold intent and two best intents."""
    groups: dict[tuple[str, str], list[tuple[str, str, str]]] = defaultdict(list)
    for example in read_examples(nlu):
        groups[example[:2]].append(example)
    rng = random.Random(seed)
    train, test = [], []
    for key in sorted(groups):
        members = groups[key][:]
        rng.shuffle(members)
        cut = max(1, round(len(members) / 5))
        test += members[:cut]
        train += members[cut:]
    held_out = {text for _, _, text in test}
    train = [e for e in train if e[2] not in held_out]  # no text on both sides
    write_nlu(out / "train.yml", train)
    write_nlu(out / "test.yml", test)
    started = time.perf_counter()
    rasa(
        "train",
        "nlu",
        "--nlu",
        str(out / "train.yml"),
        "--config",
        str(config),
        "--out",
        str(out),
        "--fixed-model-name",
        "quick",
    )
    print(f"trained in {time.perf_counter() - started:.0f} s", flush=True)
    rasa(
        "test",
        "nlu",
        "--nlu",
        str(out / "test.yml"),
        "--model",
        str(out / "quick.tar.gz"),
        "--successes",
        "--no-plot",
        "--out",
        str(out),
    )
    (out / "texts.json").write_text(json.dumps([text for _, _, text in test]), encoding="utf-8")
    in_rasa("bench.rasa_rank", str(out / "quick.tar.gz"), str(out / "texts.json"), str(out / "ranked.json"))
    return [
        (intent, ranking)
        for (_, intent, _), ranking in zip(
            test, json.loads((out / "ranked.json").read_text(encoding="utf-8")), strict=True
        )
    ]


def predicted(item: dict) -> tuple[str, float]:
    """The predicted intent and its confidence in one of Rasa's held-out predictions."""
    prediction = item.get("intent_prediction") or {}
    return prediction.get("name") or "none", prediction.get("confidence") or 0.0


def by_language(predictions: list[dict], languages: dict[str, set[str]]) -> dict[str, list[tuple[str, str]]]:
    """(gold, predicted) pairs of ``predictions`` per language of their text."""
    pairs: dict[str, list[tuple[str, str]]] = {lang: [] for lang in LANGUAGES}
    for item in predictions:
        for language in languages.get(item["text"].strip(), ()):
            pairs[language].append((item["intent"], predicted(item)[0]))
    return pairs


def fast_folds(nlu: Path, config: Path, out: Path, folds: int, seeds: list[int]) -> list[dict]:
    """Held-out predictions per seed, from ``bench.rasa_folds``."""
    in_rasa(
        "bench.rasa_folds",
        str(config),
        str(nlu),
        str(out / "folds.json"),
        "--folds",
        str(folds),
        "--seeds",
        *map(str, seeds),
    )
    return json.loads((out / "folds.json").read_text(encoding="utf-8"))


def both_rules(ranked: list, threshold: float, ambiguity: float) -> dict:
    """What the FallbackClassifier does with both its rules (confidence below
    ``threshold``, or the two best intents within ``ambiguity``) to held-out
    messages: shares sent to the fallback, of those the ones that would have
    been right, and answered with a wrong intent."""
    fallback = right_lost = wrong = 0
    for gold, ranking in ranked:
        (best, top), second = ranking[0], (ranking[1][1] if len(ranking) > 1 else 0.0)
        if top < threshold or top - second < ambiguity:
            fallback += 1
            right_lost += best == gold
        elif best != gold:
            wrong += 1
    n = max(1, len(ranked))
    return {
        "threshold": threshold,
        "ambiguity_threshold": ambiguity,
        "fallback": round(fallback / n, 4),
        "fallback_that_was_right": round(right_lost / n, 4),
        "wrong": round(wrong / n, 4),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--quick", action="store_true", help="one stratified 80/20 split instead of k folds")
    parser.add_argument("--fast", action="store_true", help="k folds in one process, on seeded folds")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2], help="the --fast folds' seeds")
    parser.add_argument("--seed", type=int, default=0, help="the --quick split's seed")
    parser.add_argument("--config", type=Path, default=ROOT / "config.yml")
    parser.add_argument("--nlu", type=Path, default=ROOT / "data" / "nlu")
    args = parser.parse_args()
    out = Path(tempfile.mkdtemp(prefix="hubguide-nlu-cv-"))
    started = time.perf_counter()
    ranked, per_seed = None, {}
    if args.fast:
        runs = fast_folds(args.nlu, args.config, out, args.folds, args.seeds)
        method = f"{args.folds} folds in one process (bench/rasa_folds.py), seeds {', '.join(map(str, args.seeds))}"
        per_seed = {run["seed"]: run["predictions"] for run in runs}
        predictions = [item for items in per_seed.values() for item in items]
    else:
        if args.quick:
            ranked = quick_split(args.nlu, args.config, out, args.seed)
            method = f"one stratified 80/20 split (seed {args.seed})"
        else:
            rasa(
                "test",
                "nlu",
                "--nlu",
                str(args.nlu),
                "--config",
                str(args.config),
                "--cross-validation",
                "--folds",
                str(args.folds),
                "--successes",
                "--no-plot",
                "--out",
                str(out),
            )
            method = f"`rasa test nlu --cross-validation --folds {args.folds}`"
        predictions = [
            *json.loads((out / "intent_successes.json").read_text()),
            *json.loads((out / "intent_errors.json").read_text()),
        ]
    seconds = time.perf_counter() - started
    fallback = fallback_config(args.config)
    threshold = fallback.get("threshold", 0.3) if fallback else None  # Rasa's defaults
    languages = examples_by_language(args.nlu)
    scored = [(item["intent"], *predicted(item)) for item in predictions]  # (gold, predicted, confidence)
    per_language = by_language(predictions, languages)
    # What a resident would get: a prediction below the threshold is the fallback.
    with_fallback = by_language(
        [
            {**item, "intent_prediction": {"name": FALLBACK}}
            if threshold is not None and predicted(item)[1] < threshold
            else item
            for item in predictions
        ],
        languages,
    )
    confusion = Counter((g, p) for pairs in per_language.values() for g, p in pairs if g != p)
    seed_f1 = {
        seed: {lang: round(macro_f1(pairs), 4) for lang, pairs in by_language(items, languages).items()}
        for seed, items in per_seed.items()
    }
    repeats = max(1, len(per_seed))  # --fast predicts every example once per seed
    per_intent = {lang: f1_scores(per_language[lang]) for lang in LANGUAGES}
    intents = sorted({intent for scores in per_intent.values() for intent in scores})
    result = {
        "when": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "method": method,
        "folds": None if args.quick else args.folds,
        "seconds": round(seconds),
        "macro_f1": {lang: round(macro_f1(per_language[lang]), 4) for lang in LANGUAGES},
        "fallback_threshold": threshold,
        "macro_f1_with_fallback": {lang: round(macro_f1(with_fallback[lang]), 4) for lang in LANGUAGES},
        "macro_f1_per_seed": seed_f1 or None,
        "examples": {lang: len(per_language[lang]) // repeats for lang in LANGUAGES},
        "accuracy": {
            lang: round(sum(g == p for g, p in per_language[lang]) / max(1, len(per_language[lang])), 4)
            for lang in LANGUAGES
        },
        "per_intent_f1": {lang: {i: round(s, 3) for i, s in sorted(per_intent[lang].items())} for lang in LANGUAGES},
        "thresholds": threshold_sweep(scored),
        "both_rules": None
        if ranked is None or fallback is None
        else both_rules(ranked, threshold, fallback.get("ambiguity_threshold", 0.1)),
        "worst_pairs": [{"gold": g, "predicted": p, "count": n} for (g, p), n in confusion.most_common(12)],
    }
    lines = [
        f"# Intent cross-validation, {result['when']}",
        "",
        f"{method} with {_shown(args.config)} on {_shown(args.nlu)}: {seconds:.0f} s in all. "
        f"Goal: macro F1 >= {GOAL_F1} in every language.",
        "",
        f"`with fallback`: held-out predictions below the FallbackClassifier threshold ({threshold}) "
        "counted as errors (Rasa's own figure, `macro F1`, ignores the threshold).",
        "",
        *(
            [
                "With several seeds, each figure pools every seed's held-out predictions; "
                "macro F1 per seed follows the table.",
                "",
            ]
            if seed_f1
            else []
        ),
        "| language | examples | accuracy | macro F1 | with fallback | goal |",
        "|---|---|---|---|---|---|",
    ]
    for lang in LANGUAGES:
        f1 = result["macro_f1"][lang]
        lines.append(
            f"| {lang} | {result['examples'][lang]} | {result['accuracy'][lang]:.3f} | {f1:.3f} | "
            f"{result['macro_f1_with_fallback'][lang]:.3f} | {'met' if f1 >= GOAL_F1 else 'NOT met'} |"
        )
    if seed_f1:
        lines += [
            "",
            "| seed | " + " | ".join(LANGUAGES) + " |",
            "|---|" + "---|" * len(LANGUAGES),
            *(
                f"| {seed} | " + " | ".join(f"{f1[lang]:.3f}" for lang in LANGUAGES) + " |"
                for seed, f1 in seed_f1.items()
            ),
        ]
    lines += [
        "",
        "Fallback threshold: what each would do to the held-out predictions (all languages). "
        "`fallback` is the share of messages answered with the fallback, `wrong` the share answered "
        "with a wrong intent. The FallbackClassifier's ambiguity rule (top two intents close together) "
        "sends more to the fallback; Rasa's held-out predictions do not carry the runner-up, so it is "
        "not applied here.",
        "",
        "| threshold | fallback | wrong | macro F1 with fallback |",
        "|---|---|---|---|",
        *(
            f"| {t['threshold']} | {t['fallback']:.3f} | {t['wrong']:.3f} | {t['macro_f1']:.3f} |"
            for t in result["thresholds"]
        ),
    ]
    if result["both_rules"]:
        rules = result["both_rules"]
        lines += [
            "",
            f"With both of the FallbackClassifier's rules (threshold {rules['threshold']}, ambiguity "
            f"{rules['ambiguity_threshold']}), through Rasa's own processing of the held-out messages: "
            f"fallback {rules['fallback']:.3f} (of which would have been right "
            f"{rules['fallback_that_was_right']:.3f}), wrong intent {rules['wrong']:.3f}.",
        ]
    lines += [
        "",
        "Most confused pairs (gold -> predicted, all languages):",
        "",
        *(f"- {w['gold']} -> {w['predicted']}: {w['count']}" for w in result["worst_pairs"]),
    ]
    lines += [
        "",
        "F1 per intent and language:",
        "",
        "| intent | " + " | ".join(LANGUAGES) + " |",
        "|---|" + "---|" * len(LANGUAGES),
        *(
            f"| {i} | " + " | ".join(f"{per_intent[lang].get(i, 0.0):.2f}" for lang in LANGUAGES) + " |"
            for i in intents
        ),
    ]
    name = "nlu-cv-fast" if args.fast else "nlu-cv-quick" if args.quick else "nlu-cv"
    write_report(name, result, "\n".join(lines))


if __name__ == "__main__":
    main()
