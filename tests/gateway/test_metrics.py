"""Prometheus metrics at /metrics (gateway/metrics.py): who may read them, and what they count.
The registry is the process's own, so each test compares a value before and after."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from prometheus_client import REGISTRY
from prometheus_client.parser import text_string_to_metric_families
from pydantic import SecretStr

from gateway.app import create_app
from gateway.db import session_scope
from gateway.models import Handoff, Message, utcnow
from gateway.outbox import TransientError
from gateway.rasa_client import RasaClient, RasaUnavailable
from gateway.services import build
from stack.processes import free_port
from tests.conftest import CannedRasa, Recorder, reset_caches, resident, running
from tests.gateway.channels.test_sms import post, sms
from tests.gateway.rasa_stand_in import rasa_stand_in

TOKEN = "m" * 32


def value(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


def scrape(settings, client=("127.0.0.1", 40000), headers=None):
    with TestClient(create_app(settings, build(settings, rasa=CannedRasa())), client=client) as gateway:
        return gateway.get("/metrics", headers=headers or {})


def test_metrics_are_for_the_allowed_addresses_or_the_token_only(settings):
    from_here = scrape(settings)
    assert from_here.status_code == 200
    assert from_here.headers["content-type"].startswith("text/plain")
    names = {family.name for family in text_string_to_metric_families(from_here.text)}
    assert {"hubguide_webhooks", "hubguide_sms_ack_seconds", "hubguide_outbox_depth", "process_cpu_seconds"} <= names
    assert scrape(settings, client=("203.0.113.9", 40000)).status_code == 403
    # Through a load balancer on this machine (a trusted proxy), the client is the one it names.
    assert scrape(settings, headers={"X-Forwarded-For": "203.0.113.9"}).status_code == 403
    with_token = settings.model_copy(update={"metrics_token": SecretStr(TOKEN)})
    outside = ("203.0.113.9", 40000)
    assert scrape(with_token, client=outside, headers={"Authorization": f"Bearer {TOKEN}"}).status_code == 200
    assert scrape(with_token, client=outside, headers={"Authorization": "Bearer " + "x" * 32}).status_code == 403
    assert scrape(settings, client=outside, headers={"Authorization": "Bearer "}).status_code == 403  # no token set
    monitoring = settings.model_copy(update={"metrics_allowed": "10.20.0.0/16"})
    assert scrape(monitoring, client=("10.20.3.4", 40000)).status_code == 200
    assert scrape(monitoring).status_code == 403  # loopback is no longer in the list


def test_webhooks_are_counted_by_outcome_and_accepted_ones_timed(gateway, settings):
    accepted = ("hubguide_webhooks_total", {"channel": "sms", "outcome": "accepted"})
    refused = ("hubguide_webhooks_total", {"channel": "sms", "outcome": "refused"})
    before = [value(n, **labels) for n, labels in (accepted, refused)] + [value("hubguide_sms_ack_seconds_count")]
    assert post(gateway, settings, sms(), signature=False).status_code == 403
    assert post(gateway, settings, sms()).status_code == 200
    assert post(gateway, settings, sms()).status_code == 200
    after = [value(n, **labels) for n, labels in (accepted, refused)] + [value("hubguide_sms_ack_seconds_count")]
    assert [b - a for a, b in zip(before, after, strict=True)] == [2, 1, 2]


def test_a_reply_is_timed_once_from_the_residents_message_to_its_sender_even_when_retried(settings):
    sender = Recorder(failures=[TransientError("twilio 503")])  # the first attempt fails, the retry succeeds
    before = value("hubguide_reply_seconds_count", channel="sms")
    with running(settings, build(settings, rasa=CannedRasa(), sms=sender)) as gateway:
        assert post(gateway, settings, sms()).status_code == 200
        assert sender.delivered.wait(30), "the reply was not delivered"
    assert len(sender.sent) == 1
    assert value("hubguide_reply_seconds_count", channel="sms") - before == 1
    assert value("hubguide_reply_seconds_bucket", channel="sms", le="1800.0") - before == 1


def test_the_outbox_and_waiting_handoffs_are_read_from_the_database_at_each_scrape(settings):
    now = utcnow()
    with session_scope() as session:
        someone = resident(session, "sms", "+46701234567")
        for created, retry_at in ((60, None), (120, now + timedelta(minutes=5)), (30, now - timedelta(seconds=1))):
            session.add(
                Message(
                    resident_id=someone.id,
                    direction="out",
                    channel="sms",
                    sender="bot",
                    body="Hej",
                    status="queued",
                    created_at=now - timedelta(seconds=created),
                    next_attempt_at=retry_at,
                )
            )
        session.add(Message(resident_id=someone.id, direction="out", channel="sms", sender="bot", status="sent"))
        for created, state in ((300, "open"), (100, "open"), (900, "claimed"), (2000, "closed")):
            session.add(
                Handoff(
                    resident_id=someone.id,
                    channel="sms",
                    language="sv",
                    status=state,
                    created_at=now - timedelta(seconds=created),
                )
            )
    assert value("hubguide_outbox_depth", channel="sms") == 3
    assert value("hubguide_outbox_depth", channel="web") == 0
    # The message waiting 120 s is not due yet: its retry comes in five minutes.
    assert 60 <= value("hubguide_outbox_oldest_due_seconds") < 90
    assert value("hubguide_handoffs_waiting") == 2
    assert 300 <= value("hubguide_handoffs_oldest_waiting_seconds") < 330
    assert value("hubguide_database_up") == 1


def test_a_database_that_cannot_be_read_shows_as_down_and_the_scrape_still_answers(settings, monkeypatch):
    monkeypatch.setenv("DATABASE_URL", f"postgresql+psycopg://nobody:nothing@127.0.0.1:{free_port()}/none")
    reset_caches()
    assert value("hubguide_database_up") == 0
    assert REGISTRY.get_sample_value("hubguide_outbox_depth", {"channel": "sms"}) is None


def ask(url: str, actions: str | None = None):
    """One turn through the real client."""

    async def turn():
        client = RasaClient(url, "token", 5.0, actions)
        try:
            return await client.send("c0ffee", "hej", {"language": "sv"})
        finally:
            await client.close()

    return asyncio.run(turn())


def test_rasa_calls_are_timed_and_failures_counted_by_reason():
    answered = value("hubguide_rasa_request_seconds_count")
    with rasa_stand_in() as url:
        assert ask(url, url + "/webhook")[0].text.startswith("Hej")
    assert value("hubguide_rasa_request_seconds_count") - answered == 1
    nothing = f"http://127.0.0.1:{free_port()}"
    with rasa_stand_in(status=500) as failing, rasa_stand_in() as working:
        for reason, url, actions in (
            ("http_error", failing, None),
            ("unreachable", nothing, None),
            ("actions_down", working, nothing + "/webhook"),
        ):
            before = value("hubguide_rasa_errors_total", reason=reason)
            with pytest.raises(RasaUnavailable):
                ask(url, actions)
            assert value("hubguide_rasa_errors_total", reason=reason) - before == 1, reason
    assert value("hubguide_rasa_request_seconds_count") - answered == 1  # a failure is not timed as an answer
