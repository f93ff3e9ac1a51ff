"""stack.rasa_cli: Rasa's command line without the warnings a newcomer cannot act on."""

import subprocess

import pytest

from common.paths import ROOT
from stack import model


def in_rasa(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(model.RASA.with_name("python")), *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"},
    )


def test_rasa_through_the_launcher_answers_without_warnings():
    plain = in_rasa("-m", "rasa", "--version")
    quiet = in_rasa("-m", "stack.rasa_cli", "--version")
    assert quiet.returncode == 0, quiet.stderr[-2000:]
    assert "Rasa Version" in quiet.stdout
    assert "Warning" in plain.stderr  # what there is to silence
    assert "Warning" not in quiet.stderr


def test_deprecations_in_libraries_are_silenced_and_ours_still_show():
    result = in_rasa(
        "-c",
        """
import warnings
from stack import rasa_cli
rasa_cli.quiet()
warnings.warn_explicit("library's deprecation", DeprecationWarning, "sanic/app.py", 1, module="sanic.app")
warnings.warn_explicit("our deprecation", DeprecationWarning, "nlu/components.py", 1, module="nlu.components")
""",
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert "our deprecation" in result.stderr
    assert "library's deprecation" not in result.stderr


def test_the_auth_token_named_by_an_environment_variable_reaches_rasas_arguments_only():
    from stack.rasa_cli import with_auth_token

    argv = ["rasa", "run", "--enable-api", "--auth-token-env", "RASA_TOKEN", "--port", "5005"]
    assert with_auth_token(argv, {"RASA_TOKEN": "s3cret"}) == [
        "rasa",
        "run",
        "--enable-api",
        "--auth-token",
        "s3cret",
        "--port",
        "5005",
    ]
    assert with_auth_token(["rasa", "train", "--fixed-model-name", "x"], {"RASA_TOKEN": "s3cret"}) == [
        "rasa",
        "train",
        "--fixed-model-name",
        "x",
    ]


def test_a_missing_token_variable_stops_rasa_before_it_serves_without_one():
    from stack.rasa_cli import with_auth_token

    with pytest.raises(SystemExit, match="RASA_TOKEN"):
        with_auth_token(["rasa", "run", "--auth-token-env", "RASA_TOKEN"], {})


def test_the_server_gives_the_encoder_one_thread_and_training_keeps_every_core():
    from stack.rasa_cli import serving_threads

    served, trained, chosen = {}, {}, {"OMP_NUM_THREADS": "2"}
    serving_threads(["rasa", "run", "--enable-api"], served)
    serving_threads(["rasa", "train", "nlu"], trained)
    serving_threads(["rasa", "run"], chosen)
    assert served == {"OMP_NUM_THREADS": "1"}
    assert trained == {}
    assert chosen == {"OMP_NUM_THREADS": "2"}  # an operator's own setting stands
