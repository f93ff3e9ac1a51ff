"""Runs a probe module of tests/nlu in the Rasa environment, where the components live."""

import json
import subprocess

from common.paths import ROOT
from stack import model


def probe(module: str, *args: str) -> dict:
    """The JSON the probe prints last."""
    result = subprocess.run(
        [str(model.RASA.with_name("python")), "-m", f"tests.nlu.{module}", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"},
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return json.loads(result.stdout.strip().splitlines()[-1])
