"""The privacy notice (gateway/privacy.py, GDPR Art. 13): a line in a resident's first SMS reply
that has room for it, in their language, once; never on a crisis line or a STOP confirmation;
and the page it links, which says who is responsible, what is kept, how long and how to erase
it, from the settings."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from common.languages import LANGUAGES
from common.texts import text
from gateway import privacy
from gateway.channels.gsm import segments
from gateway.db import session_scope
from gateway.models import Message, Resident
from gateway.rasa_client import BotReply
from gateway.replies import queue_replies
from gateway.services import build
from gateway.settings import Settings
from tests.conftest import CannedRasa, Recorder, running, wait_for
from tests.gateway.channels.test_sms import NUMBER, post, settle, sms
from tests.test_rasa_project import sms_turn, turns

SHORT = "Hej! Vad kan jag hjälpa dig med?"
LONG = "Så här söker du jobb. " * 20  # 440 characters: no room for the notice


@pytest.fixture
def phone(settings):
    """What the resident is sent, turn by turn; the bot answers what ``phone.answers`` holds next."""
    sender, answers = Recorder(), []
    rasa = CannedRasa(lambda said: [BotReply(answers.pop(0) if answers else SHORT)])
    with running(settings, build(settings, rasa=rasa, sms=sender)) as gateway:

        def say(body: str) -> list[str]:
            before = len(sender.sent)
            assert post(gateway, settings, sms(body)).status_code == 200
            settle(gateway)
            wait_for(lambda: not queued(), what="the outbox to deliver")
            return [sent for _, sent in sender.sent[before:]]

        say.answers = answers
        yield say


def queued() -> int:
    with session_scope() as session:
        return session.query(Message).filter_by(status="queued").count()


def test_the_first_reply_carries_the_notice_once_in_the_residents_language(phone, settings):
    notice = privacy.notice("sv")
    assert notice == text("privacy_notice", "sv").format(days=90, url="https://hubguide.example.org/privacy?lang=sv")
    assert phone("Hej, jag söker jobb") == [f"{SHORT}\n\n{notice}"]
    assert phone("Tack") == [SHORT]
    assert phone("I want to study English") == [SHORT]  # once per resident, whatever the language
    with session_scope() as session:
        assert session.scalars(select(Resident.notified_at)).one() is not None


def test_a_reply_without_room_goes_as_it_is_and_a_later_one_carries_the_notice(phone):
    phone.answers += [LONG, SHORT]
    assert phone("Hur söker jag jobb?") == [LONG]
    assert phone("ja") == [f"{SHORT}\n\n{privacy.notice('sv')}"]


def test_the_third_reply_brings_the_notice_on_its_own_if_none_had_room(phone):
    phone.answers += [LONG, LONG, LONG + "\n1 Jobb"]
    assert phone("Hur söker jag jobb?") == [LONG]
    assert phone("Och studier?") == [LONG]
    assert phone("Och företag?") == [privacy.notice("sv"), LONG + "\n1 Jobb"]
    assert phone("Och mer?") == [SHORT]


def test_a_crisis_line_and_an_opt_out_confirmation_go_without_it(phone):
    phone.answers.append(LONG)
    assert phone("Hur söker jag jobb?") == [LONG]  # the language is known, the notice not given yet
    assert phone("jag vill ta mitt liv") == [text("crisis_suicide", "sv")]
    assert phone("STOPP") == [text("opted_out", "sv")]
    assert phone("STARTA") == [text("opted_in", "sv")]
    with session_scope() as session:
        assert session.scalars(select(Resident.notified_at)).one() is None


def test_a_reply_to_someone_whose_language_is_unknown_waits_for_it(settings):
    with session_scope() as session:
        resident = Resident(channel="sms", address=NUMBER)
        session.add(resident)
        session.flush()
        queue_replies(session, resident, [BotReply("Välj språk / Choose language:")], sender="system")
        resident.language = "ar"
        queue_replies(session, resident, [BotReply("مرحبا")])
        bodies = session.scalars(select(Message.body).order_by(Message.id)).all()
    assert bodies == ["Välj språk / Choose language:", f"مرحبا\n\n{privacy.notice('ar')}"]


def test_the_web_chat_links_the_page_instead(settings):
    with session_scope() as session:
        resident = Resident(channel="web", address="session-1", language="sv")
        session.add(resident)
        session.flush()
        queue_replies(session, resident, [BotReply(SHORT)])
        assert session.scalars(select(Message.body)).all() == [SHORT] and resident.notified_at is None


@pytest.mark.parametrize("language", list(LANGUAGES))
def test_in_every_language_the_notice_keeps_every_sms_in_its_budget(language):
    """Every SMS turn of the domain with the notice added as the gateway adds it, under a long
    public address: each SMS fits its budget; and the short replies that come early (the area
    question, the note, "did you mean") have room for it."""
    settings = Settings(_env_file=None, app_env="test", public_base_url="https://hubbguiden.goteborgs-stad.se")
    line = privacy.notice(language, settings)
    assert line != privacy.notice("sv", settings) or language == "sv"
    assert "{" not in line and "https://hubbguiden.goteborgs-stad.se/privacy?lang=" + language in line
    roomy = set()
    for turn in turns():
        body = sms_turn(list(turn), language)
        joined = f"{body}\n\n{line}"
        parts = [joined] if segments(joined) <= privacy.SMS_SEGMENTS else [line, body]
        assert all(segments(part) <= privacy.SMS_SEGMENTS for part in parts), turn
        roomy |= {turn} if len(parts) == 1 else set()
    assert {("utter_ask_area",), ("utter_ask_note",), ("utter_did_you_mean",)} <= roomy


# --- the page -------------------------------------------------------------------------------------


def test_the_page_says_who_what_how_long_and_how_to_erase(settings, monkeypatch):
    monkeypatch.setenv("RETENTION_MESSAGES_DAYS", "60")
    monkeypatch.setenv("RETENTION_HANDOFFS_DAYS", "200")
    monkeypatch.setenv("CONTROLLER_NAME", "Göteborgs Stad <Arbetsmarknad>")
    monkeypatch.setenv("CONTROLLER_CONTACT", "dataskydd@example.se")
    with running(Settings(_env_file=None)) as gateway:
        response = gateway.get("/privacy?lang=ar")
    page = response.text
    assert response.status_code == 200 and "script-src" not in response.headers["content-security-policy"]
    assert '<html lang="ar" dir="rtl">' in page and text("web_privacy_title", "ar") in page
    assert text("web_privacy_messages", "ar").format(days=90) in page  # the tracker's 90 are the longer
    assert text("web_privacy_handoffs", "ar").format(days=200, summary_days=90) in page
    assert "Göteborgs Stad &lt;Arbetsmarknad&gt;" in page and "dataskydd@example.se" in page  # escaped
    assert text("web_privacy_erase", "ar").format(minutes=10) in page
    assert all(f'href="/privacy?lang={code}"' in page for code in LANGUAGES)


def test_without_a_controller_set_the_page_names_no_one(settings):
    with running(settings) as gateway:
        page = gateway.get("/privacy?lang=xx").text  # unknown: Swedish
    assert '<html lang="sv" dir="ltr">' in page
    assert 'id="controller"' not in page and 'id="contact"' not in page and "{name}" not in page
    assert text("web_privacy_messages", "sv").format(days=90) in page
