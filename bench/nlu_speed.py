"""The model's two speed goals (issue 11), reported by ``bench.devset``:

- **Full training** as a fresh clone's first one: ``make train``'s ``rasa train`` (``stack.model``)
  run from an empty folder, so neither Rasa's training cache nor this machine's embedding cache
  (both under ``.rasa/`` of the working folder) helps; only the embeddings that ship in the
  repository (``nlu/``) do, as on a fresh clone. Goal: 90 s or less.
- **``/model/parse``** over HTTP on a real Rasa server with the trained model, one request at a
  time: p50 and p95 after a warm-up. Goal: p95 50 ms or less. The texts are residents' messages
  from the load bench (``bench.sms_load.workload``), never the dev set's questions, so the
  server's log holds nothing of it.
"""

from __future__ import annotations

import dataclasses
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

import httpx

from bench.common import bench_stack
from bench.sms_load.workload import TEXTS
from common.paths import ROOT
from stack import model

TRAINING_GOAL_SECONDS = 90.0
PARSE_GOAL_P95_MS = 50.0
WARM_UP, ROUNDS = 20, 10  # ROUNDS times every text of every language


def training_seconds() -> float:
    with tempfile.TemporaryDirectory(prefix="nlu-speed-") as folder:
        started = time.monotonic()
        subprocess.run(
            [
                *model.train_command(Path(folder) / "models", Path(folder) / model.TRAINING_CACHE.relative_to(ROOT)),
                "--quiet",
            ],
            cwd=folder,  # .rasa/ (both caches) starts empty here
            check=True,
            env=model.rasa_environment(),
            stdout=subprocess.DEVNULL,
        )
        return time.monotonic() - started


def parse_milliseconds(model_path: Path) -> list[float]:
    stack = dataclasses.replace(bench_stack("nlu-speed-"), model_path=model_path)
    rasa = next(s for s in stack.build() if s.name == "Rasa server")
    rasa.start(stack.environment(), to_terminal=False)
    try:
        rasa.wait_ready(progress=False)
        token = stack.settings.rasa_token.get_secret_value()
        texts = [text for language in sorted(TEXTS) for text in TEXTS[language]]
        with httpx.Client(base_url=stack.rasa_url, timeout=30, params={"token": token}) as client:
            for text in texts[:WARM_UP]:
                client.post("/model/parse", json={"text": text}).raise_for_status()
            times = []
            for _ in range(ROUNDS):
                for text in texts:
                    started = time.perf_counter()
                    client.post("/model/parse", json={"text": text}).raise_for_status()
                    times.append((time.perf_counter() - started) * 1000)
        return times
    finally:
        rasa.stop()


def measure(model_path: Path) -> dict:
    print("== timing a fresh clone's full training and /model/parse", flush=True)
    seconds = training_seconds()
    times = sorted(parse_milliseconds(model_path))
    p95 = times[max(0, round(0.95 * len(times)) - 1)]
    return {
        "training_seconds": round(seconds, 1),
        "training_goal_seconds": TRAINING_GOAL_SECONDS,
        "parse_requests": len(times),
        "parse_p50_ms": round(statistics.median(times), 1),
        "parse_p95_ms": round(p95, 1),
        "parse_goal_p95_ms": PARSE_GOAL_P95_MS,
    }


def render(speed: dict) -> list[str]:
    def met(ok: bool) -> str:
        return "met" if ok else "NOT met"

    return [
        "## Speed (bench/nlu_speed.py)",
        "",
        f"- full training, as a fresh clone's first: {speed['training_seconds']:.0f} s "
        f"(goal ≤ {speed['training_goal_seconds']:.0f} s: "
        f"{met(speed['training_seconds'] <= speed['training_goal_seconds'])})",
        f"- /model/parse, {speed['parse_requests']} requests one at a time: p50 {speed['parse_p50_ms']:.0f} ms, "
        f"p95 {speed['parse_p95_ms']:.0f} ms (goal ≤ {speed['parse_goal_p95_ms']:.0f} ms: "
        f"{met(speed['parse_p95_ms'] <= speed['parse_goal_p95_ms'])})",
        "",
    ]
