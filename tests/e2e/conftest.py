"""One real stack for the end-to-end tests: the Rasa server with the trained
model, the action server and the gateway, on free ports, with their own data
directory. Started once per test session (the Rasa server takes 20-60 s)."""

from __future__ import annotations

import uuid

import httpx
import pytest
import socketio
from sqlalchemy import select
from twilio.request_validator import RequestValidator

from common.languages import LANGUAGES
from gateway import db, privacy
from gateway.db import session_scope
from gateway.models import Message, Resident
from gateway.settings import Settings
from stack import model
from stack.processes import Stack, free_port
from tests.conftest import reset_caches, wait_for


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


class SmsResident:
    """A phone that texts the gateway the way Twilio would, signed. ``ask`` gives a turn's reply
    without the privacy notice (gateway/privacy.py) that one of the first replies carries, at its
    end or as an SMS of its own; the notices taken off are kept in ``notices``."""

    def __init__(self, stack, number: str):
        self.stack, self.number = stack, number
        self.url = stack.settings.public_base_url + "/sms/webhook"
        self.validator = RequestValidator(stack.settings.twilio_auth_token.get_secret_value())
        self.known = [privacy.notice(code, stack.settings) for code in LANGUAGES]
        self.notices: list[str] = []

    def send(self, body: str) -> httpx.Response:
        params = {
            "From": self.number,
            "To": "+46700000000",
            "Body": body,
            "MessageSid": f"SM{uuid.uuid4().hex}",
            "NumMedia": "0",
        }
        signature = self.validator.compute_signature(self.url, params)
        return httpx.post(
            self.stack.gateway_url + "/sms/webhook", data=params, headers={"X-Twilio-Signature": signature}
        )

    def outbox(self) -> list[str]:
        with session_scope() as session:
            return list(
                session.scalars(
                    select(Message.body)
                    .join(Resident)
                    .where(Resident.address == self.number, Message.direction == "out", Message.status == "dry_run")
                    .order_by(Message.id)
                )
            )

    def split(self, body: str) -> tuple[str, str | None]:
        """An SMS as the reply it carries and the notice line at its end (or None)."""
        for line in self.known:
            if body == line or body.endswith("\n\n" + line):
                return body.removesuffix(line).removesuffix("\n\n"), line
        return body, None

    def ask(self, body: str) -> str:
        before = len(self.outbox())
        assert self.send(body).status_code == 200

        # A notice of its own goes out just before the reply: wait for an SMS that is more than a
        # notice, or the notice sent with the reply still in the outbox would count as the turn.
        def replied() -> list[tuple[str, str | None]] | None:
            sent = [self.split(sms) for sms in self.outbox()[before:]]
            return sent if any(reply for reply, _ in sent) else None

        sent = wait_for(replied, what=f"a reply to {body!r}")
        self.notices += [line for _, line in sent if line]
        replies = [reply for reply, _ in sent if reply]
        assert len(replies) == 1, "one SMS per turn"
        return replies[0]
