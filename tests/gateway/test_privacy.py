"""What leaves the gateway for Rasa (and so Rasa's tracker store) and for the logs
carries no phone number or personal identity number a resident wrote; the
stored message and the handoff, which coordinators read, keep the real text."""

import asyncio
import logging
import re

import pytest
from sqlalchemy.exc import IntegrityError

from common.redact import PERSONAL_NUMBER, PHONE
from gateway.db import make_engine, session_scope
from gateway.models import Handoff, Message, Resident
from gateway.outbox import Outbox
from gateway.rasa_client import BotReply
from gateway.services import build
from tests.conftest import CannedRasa, Recorder, running
from tests.gateway.channels.test_sms import post, settle, sms

SAID = "Hej! Jag söker jobb. Ring mig på 070-987 65 43 eller +46 73 555 12 34, personnummer 19850709-9805."
# Each number as written and its digits alone, as a log line or a tracker might hold them.
SECRETS = (
    "070-987 65 43",
    "0709876543",
    "709876543",
    "+46 73 555 12 34",
    "46735551234",
    "735551234",
    "19850709-9805",
    "850709-9805",
    "8507099805",
)


def hand_over(said):
    """The bot's answer: the handoff action's payload, as action_handoff sends it."""
    return [
        BotReply(
            "Klart, en koordinator hör av sig.",
            custom={"handoff": {"hub": "hjallbo", "language": "sv", "topic": "job_search"}},
        )
    ]


def test_rasa_never_hears_the_numbers_and_coordinators_still_read_them(settings, caplog):
    rasa = CannedRasa(hand_over)
    with running(settings, build(settings, rasa=rasa, sms=Recorder())) as gateway:
        caplog.set_level(logging.DEBUG)
        caplog.set_level(logging.DEBUG, logger="hubguide")  # the app set its own level on start
        assert post(gateway, settings, sms(SAID)).status_code == 200
        settle(gateway)
    ((heard, metadata),) = rasa.heard
    assert heard == (f"Hej! Jag söker jobb. Ring mig på {PHONE} eller {PHONE}, personnummer {PERSONAL_NUMBER}.")
    assert not re.search(r"\d", heard) and metadata["language"] == "sv"
    with session_scope() as session:
        inbound = session.query(Message).filter_by(direction="in").one()
        handoff = session.query(Handoff).one()
        assert inbound.body == SAID  # the inbox shows the message as it was written
        assert SAID in handoff.summary
    logged = caplog.text
    assert caplog.records  # the turn did log (delivery lines), so the check below means something
    assert not [secret for secret in SECRETS if secret in logged]


def test_a_database_error_shows_no_bound_values(settings):
    with pytest.raises(IntegrityError) as error:
        with session_scope() as session:
            session.add(Resident(channel="sms", address="+46709876543"))
            session.flush()
            session.add(Resident(channel="sms", address="+46709876543"))
            session.flush()
    assert "709876543" not in str(error.value)
    assert "hidden" in str(error.value)


def test_every_engine_hides_bound_values():
    assert make_engine("sqlite://").hide_parameters
    assert make_engine("postgresql+psycopg://hub@127.0.0.1:1/hub").hide_parameters


class Crashing:
    """A sender with a bug whose message quotes the number it was given."""

    async def send(self, delivery):
        raise ValueError(f"cannot route {delivery.address}")


def test_a_crashing_senders_error_is_stored_and_logged_without_the_number(settings, caplog):
    caplog.set_level(logging.DEBUG)
    with session_scope() as session:
        session.add(
            Message(
                resident=Resident(channel="sms", address="+46709876543"),
                direction="out",
                channel="sms",
                sender="bot",
                body="Hej",
                status="queued",
            )
        )
    asyncio.run(Outbox({"sms": Crashing()}).deliver_due())
    with session_scope() as session:
        assert session.query(Message).one().error == f"ValueError: cannot route {PHONE}"
    assert "sender crashed" in caplog.text and "in send" in caplog.text  # where it happened, still
    assert "709876543" not in caplog.text
