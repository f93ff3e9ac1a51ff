"""Run in the Rasa environment by tests/nlu/test_held_in.py. Prints JSON: the
rankings bench.rasa_folds.held_in gives rows that each carry an intent of their
own, on a small pipeline of Rasa's components."""

import json
import tempfile
from pathlib import Path

from bench.rasa_folds import held_in

CONFIG = """\
pipeline:
  - name: WhitespaceTokenizer
  - name: CountVectorsFeaturizer
  - name: LogisticRegressionClassifier
"""
EXAMPLES = [(t, "greet") for t in ("hi", "hello", "hey there", "good morning")] + [
    (t, "goodbye") for t in ("bye", "goodbye", "see you", "good night")
]
# Each row's intent is its own, so a ranking names it only if that row was trained on.
ROWS = [{"text": f"question number {i}", "intent": f"row_{i}"} for i in range(6)]
ROWS.append({"text": "question with no intent", "intent": None})


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        config = Path(tmp, "config.yml")
        config.write_text(CONFIG, encoding="utf-8")
        ranked = held_in(config, EXAMPLES, ROWS, folds=3, jobs=1)
    print(json.dumps({"rows": ROWS, "ranked": ranked}))


if __name__ == "__main__":
    main()
