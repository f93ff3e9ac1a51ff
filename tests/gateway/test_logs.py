"""Log lines with a request id that follows a resident's message from its webhook to its reply
(gateway/logs.py, gateway/middleware.py), as text or JSON lines, and never a phone number."""

from __future__ import annotations

import json
import logging
import subprocess
import sys

from sqlalchemy import select

from common.paths import ROOT
from gateway.db import session_scope
from gateway.logs import json_formatter, valid
from gateway.models import Message
from gateway.rasa_client import RasaClient
from gateway.services import build
from tests.conftest import running, wait_for
from tests.gateway.channels.test_sms import NUMBER, post, sms
from tests.gateway.rasa_stand_in import rasa_stand_in


def outbound_statuses() -> list[str]:
    with session_scope() as session:
        return list(session.scalars(select(Message.status).where(Message.direction == "out")))


def test_one_request_id_follows_an_sms_from_its_webhook_through_rasa_to_its_reply(settings, caplog):
    caplog.set_level(logging.INFO)
    with rasa_stand_in() as rasa_url:
        bot = RasaClient(rasa_url, "token", 5.0, rasa_url + "/webhook")  # the real client, the real SMS sender
        with running(settings, build(settings, rasa=bot)) as gateway:
            response = post(gateway, settings, sms("jag vill ha jobb"))
            assert response.status_code == 200
            gateway.portal.call(gateway.state.conversations.idle)
            wait_for(lambda: (s := outbound_statuses()) and set(s) == {"dry_run"}, what="the reply handed to Twilio")
    request_id = response.headers["X-Request-ID"]
    assert valid(request_id)
    traced = [r for r in caplog.records if getattr(r, "request_id", None) == request_id]
    said = {(r.name, r.getMessage().split(" ")[0]) for r in traced}
    assert ("hubguide.requests", "sms") in said  # "sms webhook accepted (200) in 3.1 ms"
    assert ("hubguide.rasa", "the") in said  # "the bot answered in 12 ms with 1 message(s)"
    assert ("hubguide.replies", "message") in said  # "message 2 handed to the sms sender, 80 ms after ..."
    assert ("hubguide.sms", "dry-run") in said  # the sender's own line: "dry-run SMS to +46•••••••67: ..."
    lines = [json_formatter().format(record) for record in caplog.records]
    assert {json.loads(line)["request_id"] for line in lines if request_id in line} == {request_id}
    national = NUMBER.removeprefix("+46")
    assert not [line for line in lines if NUMBER in line or national in line]


def test_a_valid_request_id_from_the_load_balancer_is_kept_and_anything_else_replaced(gateway):
    given = "4f1c2a9e8b7d6c5a4f1c2a9e8b7d6c5a"  # nginx's $request_id
    assert gateway.get("/healthz", headers={"X-Request-ID": given}).headers["X-Request-ID"] == given
    for forged in ("x", "a" * 65, "abcdefgh\r\nINFO forged line", "../../etc/passwd", "abc def ghi"):
        answered = gateway.get("/healthz", headers={"X-Request-ID": forged}).headers["X-Request-ID"]
        assert answered != forged and valid(answered)
    first, second = (gateway.get("/healthz").headers["X-Request-ID"] for _ in range(2))
    assert first != second


def test_json_lines_carry_the_request_id_and_uvicorn_writes_them_too():
    """In a process of its own, set up as uvicorn sets logging up before it loads the app."""
    script = """
import logging, logging.config
from uvicorn.config import LOGGING_CONFIG
logging.config.dictConfig(LOGGING_CONFIG)
from gateway.logs import begin, configure_logging
configure_logging("INFO", json=True)
logging.getLogger("uvicorn.error").info("Started server process")
begin("4f1c2a9e8b7d6c5a4f1c2a9e8b7d6c5a")
logging.getLogger("hubguide.sms").warning("a line for %s", "a message")
"""
    done = subprocess.run(
        [sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, timeout=60, check=True
    )
    uvicorn_line, ours = (json.loads(line) for line in done.stderr.splitlines())
    assert uvicorn_line["logger"] == "uvicorn.error" and uvicorn_line["request_id"] is None
    assert ours["request_id"] == "4f1c2a9e8b7d6c5a4f1c2a9e8b7d6c5a"
    assert (ours["level"], ours["logger"], ours["message"]) == ("WARNING", "hubguide.sms", "a line for a message")
    assert ours["time"].endswith("+00:00")  # ISO 8601, UTC


def test_text_is_the_default_and_json_is_for_production(settings):
    assert not settings.json_logs
    assert settings.model_copy(update={"app_env": "production"}).json_logs
    assert settings.model_copy(update={"log_format": "json"}).json_logs
    assert not settings.model_copy(update={"app_env": "production", "log_format": "text"}).json_logs
