"""What the benchmarks share: a stack of their own, on free ports, with a
temporary data directory, SQLite and dry-run SMS, whose database this
process reads too; webhooks signed as Twilio signs them; process figures
(memory, CPU time) of a process with its children, from psutil."""

from __future__ import annotations

import json
import os
import tempfile
import uuid
from collections.abc import Callable
from datetime import datetime
from pathlib import Path

import psutil
from twilio.request_validator import RequestValidator

from gateway import db
from gateway.settings import ROOT, Settings, get_settings
from stack.processes import Stack, free_port

# Debian's Chromium, driven by Playwright, for the web chat and inbox in a real browser
# (bench/handoff.py and the browser tests in tests/e2e).
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]

TO_NUMBER = "+46700000000"  # the hub's number residents text


def use_database(url: str) -> None:
    """Point this process's sessions at ``url``."""
    os.environ["DATABASE_URL"] = url
    get_settings.cache_clear(), db.engine.cache_clear(), db._session_factory.cache_clear()


def bench_stack(prefix: str, log_level: str = "WARNING") -> Stack:
    data = Path(tempfile.mkdtemp(prefix=prefix))
    port = free_port()
    settings = Settings(
        _env_file=None,
        app_env="test",
        data_dir=data,
        database_url=f"sqlite:///{data / 'hubguide.db'}",
        public_base_url=f"http://127.0.0.1:{port}",
        twilio_account_sid="",
        log_level=log_level,
    )
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


class Signer:
    """Twilio's webhook form for one incoming SMS, and its X-Twilio-Signature
    computed by twilio's own RequestValidator for the gateway's public URL."""

    def __init__(self, settings: Settings) -> None:
        self.url = settings.public_base_url.rstrip("/") + "/sms/webhook"
        self.validator = RequestValidator(settings.twilio_auth_token.get_secret_value())

    def __call__(self, number: str, body: str, sid: str | None = None) -> tuple[dict[str, str], dict[str, str]]:
        """The form fields and the headers, to post with ``httpx``'s ``data=``."""
        sid = sid or "SM" + uuid.uuid4().hex
        form = {
            "From": number,
            "To": TO_NUMBER,
            "Body": body,
            "MessageSid": sid,
            "NumMedia": "0",
            "SmsSid": sid,
            "AccountSid": "AC" + "0" * 32,
        }
        return form, {"X-Twilio-Signature": self.validator.compute_signature(self.url, form)}


def process_tree(pid: int) -> list[psutil.Process]:
    """A process and all its descendants (an empty list once it is gone)."""
    try:
        root = psutil.Process(pid)
        return [root, *root.children(recursive=True)]
    except psutil.NoSuchProcess:
        return []


def rss_mb(pid: int) -> float:
    """Resident memory of a process and all its descendants, MiB."""
    total = 0
    for process in process_tree(pid):
        try:
            total += process.memory_info().rss
        except (psutil.NoSuchProcess, psutil.AccessDenied):  # ended while we looked
            pass
    return total / 2**20


def cpu_seconds(pid: int) -> tuple[float, float]:
    """User and system CPU time of a process and its live descendants."""
    user = system = 0.0
    for process in process_tree(pid):
        try:
            times = process.cpu_times()
        except (psutil.NoSuchProcess, psutil.AccessDenied):
            continue
        user, system = user + times.user, system + times.system
    return user, system
