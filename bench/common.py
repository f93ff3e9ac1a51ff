"""What the benchmarks share: a stack of their own, on free ports, with a
temporary data directory, SQLite and dry-run SMS, whose database this
process reads too."""
from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Callable
from datetime import datetime
from pathlib import Path

from gateway import db
from gateway.settings import ROOT, Settings, get_settings
from stack.processes import Stack, free_port


def use_database(url: str) -> None:
    """Point this process's sessions at ``url``."""
    os.environ["DATABASE_URL"] = url
    get_settings.cache_clear(), db.engine.cache_clear(), db._session_factory.cache_clear()


def bench_stack(prefix: str, log_level: str = "WARNING") -> Stack:
    data = Path(tempfile.mkdtemp(prefix=prefix))
    port = free_port()
    settings = Settings(_env_file=None, app_env="test", data_dir=data,
                        database_url=f"sqlite:///{data / 'hubguide.db'}",
                        public_base_url=f"http://127.0.0.1:{port}", twilio_account_sid="", log_level=log_level)
    use_database(settings.sqlalchemy_url)
    return Stack(settings, rasa_port=free_port(), action_port=free_port(), gateway_port=port)


def write_report(name: str, result: dict, render: Callable[[dict], str] | str) -> Path:
    """reports/<name>-<time>.json, then .md (``render(result)``, or the text
    given): the numbers are on disk even if rendering fails. Prints the text
    and where it went; returns the path without suffix."""
    reports = ROOT / "reports"
    reports.mkdir(exist_ok=True)
    stem = reports / f"{name}-{datetime.now():%Y%m%d-%H%M%S}"
    stem.with_suffix(".json").write_text(json.dumps(result, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    text = render(result) if callable(render) else render
    stem.with_suffix(".md").write_text(text.rstrip("\n") + "\n", encoding="utf-8")
    print(text)
    print(f"\nreport: {stem.relative_to(ROOT)}.md / .json")
    return stem


def process_tree(pid: int) -> list[int]:
    """A process and all its descendants, from /proc."""
    children: dict[int, list[int]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
            children.setdefault(int(fields[1]), []).append(int(stat.parent.name))
        except (OSError, IndexError, ValueError):
            continue
    pids, todo = [], [pid]
    while todo:
        current = todo.pop()
        pids.append(current)
        todo += children.get(current, [])
    return pids
