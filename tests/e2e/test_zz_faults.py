"""Faults, run last in the session because they stop parts of the stack:
with the action server or the Rasa server down, a resident's message is
kept, the resident gets a short apology in their language at once, and the
message is answered when the bot is back."""

from __future__ import annotations

import httpx
import pytest
from sqlalchemy import select

from common.texts import text
from gateway.db import session_scope
from gateway.models import Message, Resident
from tests.conftest import wait_for
from tests.e2e.conftest import SmsResident

pytestmark = pytest.mark.e2e


def inbound_status(number: str) -> str:
    with session_scope() as session:
        return session.scalars(
            select(Message.status).join(Resident).where(Resident.address == number, Message.direction == "in")
        ).one()


def bot_status(stack) -> str:
    return httpx.get(stack.gateway_url + "/health", timeout=10).json()["bot"]


@pytest.mark.parametrize("down", ["action server", "Rasa server"])
def test_a_message_sent_while_the_bot_is_down_is_kept_apologised_for_and_answered_later(stack, down):
    stack.service(down).stop()
    wait_for(lambda: bot_status(stack) == "unavailable", what="the gateway to notice")
    phone = SmsResident(stack, "+4670990000" + ("1" if down == "Rasa server" else "2"))
    assert phone.ask("jag vill ha jobb") == text("bot_unavailable", "sv")
    assert inbound_status(phone.number) == "bot_unavailable"
    stack.restart(down)
    # The gateway retries unanswered messages once the bot is ready again.
    answer = wait_for(lambda: phone.outbox()[1:], timeout=90, what="the answer after the bot came back")
    assert "arbetsformedlingen.se" in answer[0]
    assert inbound_status(phone.number) == "answered"
