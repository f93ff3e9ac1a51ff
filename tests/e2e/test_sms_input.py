"""Every odd thing a phone can send gets a clear answer or a deliberate
silence, through the real gateway and bot, and nothing is lost."""

from __future__ import annotations

import uuid

import httpx
import pytest
from sqlalchemy import select
from twilio.request_validator import RequestValidator

from common.texts import text
from gateway.db import session_scope
from gateway.models import Message, Resident
from tests.conftest import wait_for
from tests.e2e.conftest import SmsResident
from tests.e2e.test_languages import variant

pytestmark = pytest.mark.e2e


def inbound(number: str) -> list[tuple[str, str]]:
    with session_scope() as session:
        return session.execute(
            select(Message.body, Message.status)
            .join(Resident)
            .where(Resident.address == number, Message.direction == "in")
            .order_by(Message.id)
        ).all()


def test_stop_is_confirmed_once_and_then_nothing_is_sent_until_start(stack):
    phone = SmsResident(stack, "+46704440001")
    phone.ask("jag vill ha jobb")
    assert phone.ask("Stopp") == text("opted_out", "sv")
    assert phone.send("jag vill ha jobb igen").status_code == 200
    wait_for(lambda: inbound(phone.number)[-1][1] == "opted_out", what="the message stored as opted out")
    assert phone.ask("STARTA") == text("opted_in", "sv")
    assert "arbetsformedlingen.se" in phone.ask("jobb")


def test_twilio_handles_its_own_english_stop_word(stack):
    phone = SmsResident(stack, "+46704440002")
    assert phone.send("STOP").status_code == 200
    wait_for(lambda: inbound(phone.number) == [("STOP", "keyword")], what="STOP recorded")
    with session_scope() as session:
        resident = session.scalars(select(Resident).where(Resident.address == phone.number)).one()
        assert resident.opted_out
    assert phone.outbox() == []  # Twilio confirms; a reply from us would fail with 21610


@pytest.mark.parametrize("word, language", [("HJÄLP", "sv"), ("help", "en"), ("caawimaad", "so")])
def test_help_says_what_this_is_and_how_to_stop_then_the_menu(stack, word, language):
    phone = SmsResident(stack, f"+4670445{uuid.uuid4().int % 10000:04d}")
    answer = phone.ask(word)
    assert answer.startswith(text("help_keyword", language))
    assert "\n1 " in answer and "\n4 " in answer


def test_a_picture_without_text_gets_a_polite_answer(stack):
    phone = SmsResident(stack, "+46704440003")
    url = stack.settings.public_base_url + "/sms/webhook"
    params = {
        "From": phone.number,
        "To": "+46700000000",
        "Body": "",
        "MessageSid": f"MM{uuid.uuid4().hex}",
        "NumMedia": "1",
        "MediaContentType0": "image/jpeg",
        "MediaUrl0": "https://api.twilio.com/2010-04-01/Accounts/AC1/Messages/MM1/Media/ME1",
    }
    signature = RequestValidator(stack.settings.twilio_auth_token.get_secret_value()).compute_signature(url, params)
    assert (
        httpx.post(
            stack.gateway_url + "/sms/webhook", data=params, headers={"X-Twilio-Signature": signature}
        ).status_code
        == 200
    )
    wait_for(lambda: phone.outbox(), what="the media answer")
    assert phone.outbox() == [text("media_only", None)]
    with session_scope() as session:
        stored = session.scalars(select(Message).join(Resident).where(Resident.address == phone.number)).first()
        assert stored.extra == {"media": 1, "media_types": ["image/jpeg"]}  # the media URL is not kept


@pytest.mark.parametrize("body", ["", "   "])
def test_an_empty_message_gets_the_not_understood_answer(stack, body):
    phone = SmsResident(stack, f"+4670446{uuid.uuid4().int % 10000:04d}")
    assert phone.ask(body) == variant("utter_default", "sv", "sms")
    assert inbound(phone.number)[0][0] == body


@pytest.mark.parametrize("body", ["🙂🙂🙂", "?!"])
def test_a_first_message_without_letters_gets_the_language_menu(stack, body):
    phone = SmsResident(stack, f"+4670447{uuid.uuid4().int % 10000:04d}")
    assert phone.ask(body).startswith(text("language_menu", "sv"))
    assert inbound(phone.number)[0] == (body, "language_menu")


def test_a_1600_character_message_is_stored_whole_and_answered(stack):
    phone = SmsResident(stack, "+46704440004")
    body = ("Hej! Jag har bott i Sverige i två år och jag söker jobb som busschaufför eller i lager. " * 20)[:1600]
    answer = phone.ask(body)
    assert answer
    assert inbound(phone.number)[0] == (body, "answered")


@pytest.mark.parametrize("sender", ["+46 (0)70-123 45 67", "0701234567", "HUBGUIDE", "+1-202-555-0143"])
def test_a_number_in_an_unusual_format_is_answered(stack, sender):
    phone = SmsResident(stack, sender)
    assert "arbetsformedlingen.se" in phone.ask("jag vill ha jobb")
