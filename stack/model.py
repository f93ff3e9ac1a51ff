"""The trained Rasa model: train it when its inputs changed since the last one.

``python -m stack.model`` (``make train``) trains only when the fingerprint of
the training inputs differs from the one stored beside the model, so
``make run`` and ``make test`` are quick when nothing changed.
``python -m stack.model --ship-embeddings`` also copies the training examples'
sentence embeddings into the repository (``nlu/``), where a fresh clone's first
training finds them instead of spending a minute embedding every example.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

from common.paths import ROOT

MODEL_DIR = ROOT / "models"
MODEL_NAME = "hubguide"
MODEL = MODEL_DIR / f"{MODEL_NAME}.tar.gz"
FINGERPRINT = MODEL_DIR / f"{MODEL_NAME}.fingerprint"
RASA = ROOT / ".venv" / "rasa" / "bin" / "rasa"
# Rasa's command line with the launcher's warning filters (stack/rasa_cli.py).
RASA_CLI = [str(RASA.with_name("python")), "-m", "stack.rasa_cli"]
# The embedding cache of nlu.components.SentenceEmbeddingFeaturizer, and where the repository keeps a copy.
EMBEDDINGS_CACHE, EMBEDDINGS_SHIPPED = ROOT / ".rasa", ROOT / "nlu"
# Rasa's training cache (its default place, under the folder training runs in): the outputs of
# components whose inputs have not changed since an earlier training.
TRAINING_CACHE = ROOT / ".rasa" / "cache" / "cache.db"

# Everything that changes what the model learns or how it reads messages; the lock file
# because a model saved by one scikit-learn may not load in another.
INPUTS = (
    "config.yml",
    "domain",
    "data/nlu",
    "data/rules",
    "data/stories",
    # Every module of nlu/ (the components and what they use), as nlu.components.OurSources hashes them.
    *sorted(f"nlu/{module.name}" for module in (ROOT / "nlu").glob("*.py")),
    "common/langid.py",
    "common/languages.py",
    "data/languages.yml",
    "requirements/rasa.lock",
)


def shown(path: Path) -> Path:
    """A path as a newcomer types it: from the project folder when inside it."""
    return path.relative_to(ROOT) if path.is_relative_to(ROOT) else path


def fingerprint(root: Path = ROOT) -> str:
    digest = hashlib.sha256()
    for name in INPUTS:
        path = root / name
        files = sorted(p for p in path.rglob("*") if p.is_file()) if path.is_dir() else [path]
        for file in files:
            digest.update(str(file.relative_to(root)).encode())
            digest.update(file.read_bytes())
    return digest.hexdigest()


def is_fresh() -> bool:
    return MODEL.exists() and FINGERPRINT.exists() and FINGERPRINT.read_text() == fingerprint()


def rasa_environment() -> dict[str, str]:
    return {
        **os.environ,
        "PYTHONPATH": str(ROOT),  # Rasa imports our components (nlu/) from here
        "RASA_TELEMETRY_ENABLED": "false",
    }  # no usage data leaves the machine


def train_command(out: Path, cache: Path) -> list[str]:
    """Rasa's training of this project's model into the folder ``out``, with
    Rasa's training cache (under ``.rasa/`` of the folder it runs in) at ``cache``."""
    return [
        *RASA_CLI,
        "train",
        # The tests run `rasa data validate` on the same files (failing on warnings,
        # tests/test_rasa_project.py); in training it read all the data a second time (13 s).
        "--skip-validation",
        # With no training cache yet (a fresh clone, CI), Rasa would first fingerprint every
        # component's inputs to find outputs it could reuse, and there are none (6 s).
        *([] if cache.exists() else ["--force"]),
        "--fixed-model-name",
        MODEL_NAME,
        "--out",
        str(out),
        "--config",
        str(ROOT / "config.yml"),
        "--domain",
        str(ROOT / "domain"),
        "--data",
        *(str(ROOT / "data" / part) for part in ("nlu", "rules", "stories")),
    ]


def train(force: bool = False) -> Path:
    if not force and is_fresh():
        print(f"model is up to date: {shown(MODEL)}")
        return MODEL
    print("== training the Rasa model (its data or config changed; about a minute)", flush=True)
    started = time.monotonic()
    expected = fingerprint()
    subprocess.run(train_command(MODEL.parent, TRAINING_CACHE), cwd=ROOT, check=True, env=rasa_environment())
    FINGERPRINT.write_text(expected)
    print(f"model trained in {time.monotonic() - started:.0f} s: {shown(MODEL)}")
    return MODEL


def ship_embeddings() -> list[Path]:
    """Copy the embedding cache, which the last training left holding exactly
    its examples, over the repository's copy (to be committed)."""
    shipped = []
    for cache in sorted(EMBEDDINGS_CACHE.glob("embeddings-*.npz")):
        shipped.append(Path(shutil.copyfile(cache, EMBEDDINGS_SHIPPED / cache.name)))
        print(f"{shown(cache)} → {shown(shipped[-1])} ({cache.stat().st_size / 1e6:.1f} MB)")
    return shipped


if __name__ == "__main__":
    try:
        train(force="--force" in sys.argv)
    except subprocess.CalledProcessError as exc:
        sys.exit(f"training failed (exit {exc.returncode}); see the Rasa output above")
    if "--ship-embeddings" in sys.argv and not ship_embeddings():
        sys.exit(
            f"no embedding cache in {shown(EMBEDDINGS_CACHE)}: the last training embedded nothing new, "
            f"so {shown(EMBEDDINGS_SHIPPED)}/ already holds every example"
        )
