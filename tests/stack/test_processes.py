"""stack.processes: what `make run` prints, and a server that will never be ready."""

import http.server
import sys
import threading
import time
from pathlib import Path

import pytest
from sqlalchemy.orm import Session

from gateway.db import make_engine
from gateway.models import Coordinator
from stack.processes import Service, Stack, StackError, inbox_admins, summary


def test_the_summary_says_where_everything_is_and_how_to_make_the_first_admin(settings):
    stack = Stack(settings, gateway_port=8123)
    text = summary(stack, [], 14.2)
    assert "14 s to start" in text
    assert "web chat:           http://127.0.0.1:8123/\n" in text
    assert "coordinator inbox:  http://127.0.0.1:8123/inbox\n" in text
    assert ".venv/app/bin/python -m gateway.inbox create-admin --email" in text
    assert "set-password" not in text


def test_the_summary_names_the_admins_there_are(settings):
    text = summary(Stack(settings), ["ada@example.org", "bo@example.org"], 9)
    assert "sign in as ada@example.org, bo@example.org" in text
    assert "gateway.inbox set-password --email ada@example.org" in text
    assert "create-admin" not in text


def test_the_inbox_admins_are_the_active_admin_accounts(settings):
    engine = make_engine(settings.sqlalchemy_url)
    with Session(engine) as session:
        session.add_all(
            [
                Coordinator(name="Ada", email="ada@example.org", password_hash="x", role="admin"),
                Coordinator(name="Cy", email="cy@example.org", password_hash="x", role="coordinator"),
                Coordinator(name="Di", email="di@example.org", password_hash="x", role="admin", active=False),
            ]
        )
        session.commit()
    engine.dispose()
    assert inbox_admins(settings.sqlalchemy_url) == ["ada@example.org"]


class Conflict(http.server.BaseHTTPRequestHandler):
    """What the Rasa server answers on /status when it could not load its model."""

    def do_GET(self):
        self.send_response(409)
        self.end_headers()

    def log_message(self, *args):
        pass


@pytest.fixture
def rasa_without_model():
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Conflict)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}/status"
    server.shutdown()


def test_a_server_that_started_without_its_model_is_reported_at_once(tmp_path: Path, rasa_without_model):
    service = Service(
        "Rasa server",
        [sys.executable, "-c", "import time; time.sleep(60)"],
        rasa_without_model,
        ready_seconds=60,
        log_path=tmp_path / "rasa.log",
        failed_status=409,
    )
    service.start({}, to_terminal=False)
    started = time.monotonic()
    try:
        with pytest.raises(StackError, match="Rasa server started but is not usable .*rasa.log"):
            service.wait_ready(progress=False)
        assert time.monotonic() - started < 10  # not the 60 s a slow start may take
    finally:
        service.stop()


def test_no_process_is_started_with_the_rasa_token_on_its_command_line(settings, monkeypatch):
    """``ps`` shows every user the command lines: the token goes through the environment."""
    monkeypatch.setenv("RASA_TOKEN", "a-token-ps-must-not-show")
    from gateway.settings import get_settings
    from tests.conftest import reset_caches

    reset_caches()
    stack = Stack(get_settings())
    services = stack.build()
    assert services  # the Rasa server among them
    for service in services:
        assert not any("a-token-ps-must-not-show" in arg for arg in service.command), service.name
    assert stack.environment()["RASA_TOKEN"] == "a-token-ps-must-not-show"
    (rasa,) = [service.command for service in services if service.name == "Rasa server"]
    assert rasa[rasa.index("--auth-token-env") + 1] == "RASA_TOKEN"  # stack.rasa_cli reads it there
