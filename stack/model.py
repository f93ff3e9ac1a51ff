"""The trained Rasa model: train it when its inputs changed since the last one.

``python -m stack.model`` (``make train``) trains only when the fingerprint of
the training inputs differs from the one stored beside the model, so
``make run`` and ``make test`` are quick when nothing changed.
"""
from __future__ import annotations

import hashlib
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

# Everything that changes what the model learns or how it reads messages.
INPUTS = ("config.yml", "domain", "data/nlu", "data/rules", "data/stories",
          "nlu/components.py", "common/langid.py", "common/languages.py", "data/languages.yml")


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


def train(force: bool = False) -> Path:
    if not force and is_fresh():
        print(f"model is up to date: {MODEL.relative_to(ROOT)}")
        return MODEL
    print("training the Rasa model (the data or config changed; one to two minutes)…", flush=True)
    started = time.monotonic()
    expected = fingerprint()
    subprocess.run(
        [str(RASA), "train", "--fixed-model-name", MODEL_NAME, "--out", str(MODEL_DIR),
         "--domain", "domain", "--data", "data/nlu", "data/rules", "data/stories"],
        cwd=ROOT, check=True,
    )
    FINGERPRINT.write_text(expected)
    print(f"model trained in {time.monotonic() - started:.0f} s: {MODEL.relative_to(ROOT)}")
    return MODEL


if __name__ == "__main__":
    try:
        train(force="--force" in sys.argv)
    except subprocess.CalledProcessError as exc:
        sys.exit(f"training failed (exit {exc.returncode}); see the Rasa output above")
