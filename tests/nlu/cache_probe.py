"""Run in the Rasa environment by tests/nlu/test_embedding_cache.py. Prints JSON: two
nlu.embedding_cache writers on one file, the second writing between the first's write and its
rename (as two folds of bench.rasa_folds can), with a stand-in encoder."""

import json
import tempfile
from pathlib import Path

import numpy as np

from nlu.embedding_cache import EmbeddingCache


def embed(texts: list[str]) -> np.ndarray:
    return np.array([[len(t), 1.0] for t in texts])


def main() -> None:
    found = {}
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp, "cache.npz")
        first, second = EmbeddingCache(path).__enter__(), EmbeddingCache(path).__enter__()
        first.get(["a", "bb"], embed)
        second.get(["ccc"], embed)
        save = np.savez_compressed

        def interleaved(*args, **kwargs):
            save(*args, **kwargs)
            np.savez_compressed = save
            second.__exit__(None, None, None)  # the other writer, start to end, before this one renames

        np.savez_compressed = interleaved
        try:
            first.__exit__(None, None, None)
            found["error"] = None
        except OSError as error:
            found["error"] = repr(error)
        finally:
            np.savez_compressed = save
        with np.load(path) as stored:
            found["texts"] = stored["texts"].tolist()
        found["left"] = sorted(p.name for p in Path(tmp).iterdir())
    print(json.dumps(found))


if __name__ == "__main__":
    main()
