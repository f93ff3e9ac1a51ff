"""k-fold held-out intent predictions with the project's own NLU components,
in one process (run with the Rasa environment's Python; used by
``bench.nlu_cv --fast``).

``python -m bench.rasa_folds CONFIG NLU OUT --folds K --seeds S [S ...]``
trains the config's tokenizer, featurizers and intent classifier (Rasa's
classes and the project's, with the config's settings) on k-1 folds and
predicts the held-out fold, as ``rasa test nlu --cross-validation`` does, but
without packing a model per fold or running each held-out message through the
graph one at a time. The folds are Rasa's (stratified by intent), with a seed,
so a change can be measured on the same folds, several seeds over. OUT gets,
per seed, every example's text, gold intent and held-out prediction, in the
shape of Rasa's ``intent_successes.json``.

``python -m bench.rasa_folds CONFIG NLU OUT --held-in ROWS`` folds ROWS (a
JSON list of {"text", "intent"}; used by ``bench.devset --capacity``) instead:
each fold of them is ranked by a model trained on all of NLU and the other
folds' rows (a row with no intent is ranked but never trained on). OUT gets
each row's intent ranking, best first.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import yaml
from rasa.engine.graph import ExecutionContext, GraphSchema
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.local_model_storage import LocalModelStorage
from rasa.engine.storage.resource import Resource
from rasa.nlu.classifiers.classifier import IntentClassifier as RasaIntentClassifier
from rasa.shared.nlu.training_data.loading import load_data
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData
from sklearn.model_selection import KFold, StratifiedKFold

# Components that only act at prediction time on a trained pipeline; a
# held-out score is the top intent whatever its confidence, as Rasa's is.
SKIPPED = {"FallbackClassifier", "nlu.components.LanguageTagger"}


def components(config: Path, storage: LocalModelStorage) -> list:
    context = ExecutionContext(GraphSchema({}), model_id="folds")
    built = []
    for index, entry in enumerate(yaml.safe_load(config.read_text(encoding="utf-8"))["pipeline"]):
        entry = dict(entry)
        name = entry.pop("name")
        if name in SKIPPED:
            continue
        clazz = DefaultV1Recipe._from_registry(name).clazz
        settings = {**clazz.get_default_config(), **entry}
        built.append(clazz.create(settings, storage, Resource(f"{index}_{clazz.__name__}"), context))
    return built


def held_out(config: Path, examples: list[tuple[str, str]], test: list[str], ranked: bool = False) -> list:
    """Train on ``examples`` (text, intent); the predicted intent (name and
    confidence) of each ``test`` text, or with ``ranked`` its whole intent
    ranking as (name, confidence) pairs, best first."""
    train = TrainingData(training_examples=[Message(data={"text": t, "intent": i}) for t, i in examples])
    with tempfile.TemporaryDirectory(prefix="hubguide-folds-") as tmp:
        pipeline = components(config, LocalModelStorage(Path(tmp)))
        for component in pipeline:
            if hasattr(component, "train"):
                component.train(train)
            if not isinstance(component, RasaIntentClassifier):  # the classifier's output is not needed
                component.process_training_data(train)
        messages = [Message(data={"text": text}) for text in test]
        for component in pipeline:
            component.process(messages)
        if ranked:
            return [[(r["name"], r["confidence"]) for r in m.get("intent_ranking") or []] for m in messages]
        return [m.get("intent") or {"name": None, "confidence": 0.0} for m in messages]


def in_folds(config: Path, splits: list, training, texts: list[str], jobs: int, label: str, **kwargs) -> list:
    """Each of ``texts`` predicted (``held_out``, with ``kwargs``) by the model
    trained on ``training(train_index)`` of the split that holds it out,
    ``jobs`` folds at once, saying as each fold is done."""
    started, predicted = time.perf_counter(), [None] * len(texts)
    with ProcessPoolExecutor(jobs, mp_context=multiprocessing.get_context("fork")) as pool:
        work = [
            pool.submit(held_out, config, training(train_index), [texts[i] for i in test_index], **kwargs)
            for train_index, test_index in splits
        ]
        for fold, ((_, test_index), job) in enumerate(zip(splits, work, strict=True)):
            for i, prediction in zip(test_index, job.result(), strict=True):
                predicted[i] = prediction
            print(f"{label}: fold {fold + 1}/{len(splits)} done, {time.perf_counter() - started:.0f} s", flush=True)
    return predicted


def held_in(config: Path, examples: list[tuple[str, str]], rows: list[dict], folds: int, jobs: int) -> list:
    """Each row's intent ranking from a model trained on ``examples`` and the
    rows of the other folds (shuffled with seed 0, not stratified: a row may
    have an intent no other row has)."""
    texts = [r["text"] for r in rows]
    splits = list(KFold(n_splits=folds, shuffle=True, random_state=0).split(texts))

    def training(train_index) -> list[tuple[str, str]]:
        return examples + [(texts[i], rows[i]["intent"]) for i in train_index if rows[i]["intent"]]

    return in_folds(config, splits, training, texts, jobs, "held-in", ranked=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("config", type=Path)
    parser.add_argument("nlu", type=Path)
    parser.add_argument("out", type=Path)
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0])
    parser.add_argument("--jobs", type=int, default=2, help="folds trained at once")
    parser.add_argument("--held-in", type=Path, help="fold these rows instead, training on all of NLU")
    args = parser.parse_args()
    examples = load_data(str(args.nlu)).intent_examples
    gold = [m.get("intent") for m in examples]
    texts = [m.get("text") for m in examples]
    if args.held_in:
        rows = json.loads(args.held_in.read_text(encoding="utf-8"))
        ranked = held_in(args.config, list(zip(texts, gold, strict=True)), rows, args.folds, args.jobs)
        args.out.write_text(json.dumps(ranked, ensure_ascii=False), encoding="utf-8")
        return
    runs = []
    for seed in args.seeds:
        folds = StratifiedKFold(n_splits=args.folds, shuffle=True, random_state=seed)
        splits = list(folds.split(examples, gold))
        predicted = in_folds(
            args.config, splits, lambda train: [(texts[i], gold[i]) for i in train], texts, args.jobs, f"seed {seed}"
        )
        runs.append(
            {
                "seed": seed,
                "predictions": [
                    {"text": t, "intent": g, "intent_prediction": p}
                    for t, g, p in zip(texts, gold, predicted, strict=True)
                ],
            }
        )
    args.out.write_text(json.dumps(runs, ensure_ascii=False), encoding="utf-8")


if __name__ == "__main__":
    main()
