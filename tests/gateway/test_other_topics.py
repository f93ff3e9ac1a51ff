"""After an answer the model was unsure of, the bot offers the next likeliest topics
(actions.conversation.ActionOfferHandoff), before its offer of a person: numbered in the SMS
as many as fit its segment budget, left out when not even one does, and a bare number chooses
one."""

from common.custom import OPTIONAL
from gateway.channels import sms as sms_channel
from gateway.channels.gsm import SMS_SEGMENTS, budget, segments
from gateway.rasa_client import BotReply, parse
from gateway.services import build
from tests.conftest import CannedRasa, Recorder, running
from tests.gateway.channels.test_sms import post, sms

OFFER = "Vill du att en koordinator på närmaste hubb kontaktar dig? Svara JA eller NEJ."
CHOICES = BotReply(
    "Eller menade du:",
    [{"title": "CSN", "payload": "/study_finance"}, {"title": "Ersättning under program", "payload": "/benefits"}],
    optional=True,
)


def test_the_marker_after_a_reply_makes_that_reply_optional_and_is_not_a_reply_itself():
    items = [
        {"recipient_id": "r", "text": "Svar."},
        {"recipient_id": "r", "text": "Eller menade du:", "buttons": CHOICES.buttons},
        {"recipient_id": "r", "custom": OPTIONAL},
        {"recipient_id": "r", "custom": {"handoff": {"area": "Hjällbo"}}},
    ]
    assert parse(items) == [
        BotReply("Svar."),
        CHOICES,
        BotReply("", [], {"handoff": {"area": "Hjällbo"}}),
    ]
    assert parse([{"recipient_id": "r", "custom": OPTIONAL}]) == []  # nothing before it: nothing to mark


def answering(answer: str) -> CannedRasa:
    return CannedRasa(
        lambda said: (
            [BotReply("Svar på " + said)]
            if said.startswith("/")
            else [
                BotReply(answer),
                CHOICES,
                BotReply(OFFER),
            ]
        )
    )


def turn(gateway, settings, sender: Recorder, body: str) -> str:
    sender.delivered.clear()
    assert post(gateway, settings, sms(body)).status_code == 200
    assert sender.delivered.wait(10), "nothing was sent"
    return sender.sent[-1][1]


def test_the_choices_are_numbered_in_the_sms_when_they_fit_and_a_bare_number_chooses_one(settings):
    bot, sender = answering("Kronofogden hjälper dig med skulder: kronofogden.se."), Recorder()
    with running(settings, build(settings, rasa=bot, sms=sender)) as gateway:
        first = turn(gateway, settings, sender, "hur mycket får jag låna")
        assert f"Eller menade du:\n1 CSN\n2 Ersättning under program\n\n{OFFER}" in first
        assert segments(first) <= SMS_SEGMENTS
        assert turn(gateway, settings, sender, "1") == "Svar på /study_finance"
    assert [said for said, _ in bot.heard] == ["hur mycket får jag låna", "/study_finance"]


def answer_of(length: int) -> str:
    return ("Kronofogden hjälper dig med skulder. " * 20)[:length]


def test_only_the_likeliest_choice_is_offered_when_both_would_take_the_sms_past_its_budget(settings):
    choices = "Eller menade du:\n1 CSN\n2 Ersättning under program"
    room = budget("x", SMS_SEGMENTS) - len(f"\n\n{OFFER}\n\n{choices}")  # GSM-7: a character a unit
    long_answer = answer_of(room + 1)  # one too many with both choices
    bot, sender = answering(long_answer), Recorder()
    with running(settings, build(settings, rasa=bot, sms=sender)) as gateway:
        turn(gateway, settings, sender, "hur mycket får jag låna")  # the privacy notice comes with the first
        reply = turn(gateway, settings, sender, "och om jag inte kan betala")
        assert reply == f"{long_answer}\n\nEller menade du:\n1 CSN\n\n{OFFER}"
        assert segments(reply) <= SMS_SEGMENTS
        assert turn(gateway, settings, sender, "1").startswith("Svar på /study_finance")  # then the notice
    # The choice left out is no choice: a "2" would be what the resident wrote.
    assert sms_channel.render([BotReply(long_answer), CHOICES, BotReply(OFFER)])[1] == CHOICES.buttons[:1]


def test_the_choices_are_left_out_when_not_even_one_fits_the_sms_budget(settings):
    one_choice = "Eller menade du:\n1 CSN"
    room = budget("x", SMS_SEGMENTS) - len(f"\n\n{OFFER}\n\n{one_choice}")
    long_answer = answer_of(room + 1)  # one too many with one choice
    bot, sender = answering(long_answer), Recorder()
    with running(settings, build(settings, rasa=bot, sms=sender)) as gateway:
        turn(gateway, settings, sender, "hur mycket får jag låna")
        reply = turn(gateway, settings, sender, "och om jag inte kan betala")
        assert reply == f"{long_answer}\n\n{OFFER}"
        assert segments(reply) <= SMS_SEGMENTS
        turn(gateway, settings, sender, "1")  # no choices were offered: "1" is what the resident wrote
    assert [said for said, _ in bot.heard][-1] == "1"
