"""One real stack for the end-to-end tests: the Rasa server with the trained
model, the action server and the gateway, on free ports, with their own data
directory. Started once per test session (the Rasa server takes 20-60 s)."""

from __future__ import annotations

import pytest
import socketio

from gateway import db
from gateway.settings import Settings
from stack import model
from stack.processes import Stack, free_port
from tests.conftest import reset_caches


@pytest.fixture(scope="session")
def stack(tmp_path_factory):
    if not model.is_fresh():
        pytest.skip("no up-to-date model; `make test` trains one first")
    data = tmp_path_factory.mktemp("stack")
    gateway_port = free_port()
    settings = Settings(
        _env_file=None,
        app_env="test",
        data_dir=data,
        database_url=f"sqlite:///{data / 'hubguide.db'}",
        public_base_url=f"http://127.0.0.1:{gateway_port}",
        twilio_account_sid="",
    )
    running = Stack(
        settings, rasa_port=free_port(), action_port=free_port(), gateway_port=gateway_port, log_dir=data / "logs"
    )
    with pytest.MonkeyPatch.context() as env:
        env.setenv("DATABASE_URL", settings.sqlalchemy_url)
        reset_caches()
        running.start()
        try:
            yield running
        finally:
            running.stop()
            db.engine().dispose()
            reset_caches()


@pytest.fixture
def web(stack):
    """A web chat resident: a socket.io client of the stack's gateway."""
    client = socketio.SimpleClient()
    client.connect(stack.gateway_url, transports=["websocket"])
    yield client
    client.disconnect()
