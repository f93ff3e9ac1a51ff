"""The handoff's promise as the gateway adds it to the bot's "Klart..." (gateway/promise.py): every
SMS stays within its segment budget in every language, whatever the day and the hours; what to
expect is never dropped; the web chat also gets the hub's address, phone, drop-in and languages; in
Borås, which has no hubs, Borås Stad's staff answer, not a coordinator."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta

import pytest

from common.hours import TZ, parse_closed, parse_week
from common.languages import LANGUAGES
from common.texts import text
from gateway import promise
from gateway.channels.gsm import segments
from gateway.channels.sms import render
from gateway.privacy import SMS_SEGMENTS
from gateway.rasa_client import BotReply
from gateway.store import HubFacts
from tests.test_municipality import folded, words
from tests.test_rasa_project import CHANNELS, DOMAIN, FILLS, matches

LONGEST_NAME = FILLS["{hub_name}"]
# Hours that make the longest description: no two neighbouring days alike, two intervals each.
BUSY = parse_week(
    "mon 9-11:30, 12:30-16:30; tue 9:30-11, 13-16; wed 9-11:30, 12:30-16:30; thu 9:30-11, 13-16; "
    "fri 9-11:30, 12:30-15:30; sat 10:30-12, 13-14:30; sun 11:30-12:30, 13:30-15"
)
WEEKDAYS = parse_week("mon-fri 9-16")
FACTS = HubFacts(
    name=LONGEST_NAME,
    address="Rymdtorget 4, Bergsjön",
    phone="031-123 45 67",
    hours=WEEKDAYS,
    drop_in=parse_week("tue 13-16"),
    languages=("ar", "so"),
    closed_days=parse_closed("2026-12-24 - 2026-12-26"),
)


def in_borås(facts: HubFacts, **changes) -> HubFacts:
    """As the database has it for Borås's outreach points (data/hubs.yml)."""
    return replace(facts, municipality="Borås", **changes)


def done(language: str, channel: str) -> BotReply:
    variants = DOMAIN["responses"]["utter_handoff_done"]
    variant = next(v for v in variants if matches(v, {"language": language, "channel": channel}))
    return BotReply(variant["text"].replace("{hub_name}", LONGEST_NAME))


def moments():
    """Every hour of a year's evenings, mornings and middays: each weekday, month and closed day."""
    start = datetime(2026, 12, 1, tzinfo=TZ)
    for days in range(366):
        for hour in (7, 12, 18):
            yield start + timedelta(days=days, hours=hour)


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize("borås", [False, True], ids=["göteborg", "borås"])
def test_every_handoff_sms_fits_its_budget_and_always_says_when(language, borås, monkeypatch):
    reply = done(language, "sms")
    with_hours = 0
    for facts in (FACTS, HubFacts(name=LONGEST_NAME, hours=BUSY), HubFacts(name=LONGEST_NAME)):
        facts = in_borås(facts) if borås else facts  # the longest name still: the budget's worst case
        for now in moments():
            monkeypatch.setattr(promise, "clock", lambda now=now: now)
            body = render(promise.add([BotReply(""), reply], facts, language, "sms"))[0]
            assert segments(body) <= SMS_SEGMENTS, f"{segments(body)} segments: {body!r}"
            assert body.startswith(reply.text + " ")
            if facts.hours is None:
                assert body.endswith(text("handoff_hours_unknown", language))
            with_hours += body.count(text("handoff_hours", language, "boras" if borås else None).split("{")[0])
    assert with_hours, "the hours never fit: the SMS always drops them"


def test_when_the_hours_fit_the_sms_says_them_too(monkeypatch):
    monkeypatch.setattr(promise, "clock", lambda: datetime(2026, 12, 19, 11, tzinfo=TZ))
    body = render(promise.add([done("sv", "sms")], FACTS, "sv", "sms"))[0]
    assert body.endswith(
        "Koordinatorn svarar måndag-fredag 9-16. Det är lördag nu, så räkna med svar måndag 21 december."
    )
    assert "Rymdtorget" not in body and "031-123 45 67" not in body  # the web's extras are not in an SMS


def test_the_web_chat_also_gets_the_hubs_address_phone_drop_in_and_languages(monkeypatch):
    monkeypatch.setattr(promise, "clock", lambda: datetime(2026, 12, 15, 10, tzinfo=TZ))
    buttons = [{"title": "Ja", "payload": "/affirm"}]
    first, (joined,) = BotReply("Hej"), promise.add([BotReply("Klart.", buttons)], FACTS, "en", "web")
    assert joined.buttons == buttons
    assert joined.text == (
        "Klart. The coordinator answers Monday-Friday 9-16. The hub is open now, so expect an answer today. "
        "Address: Rymdtorget 4, Bergsjön. Phone: 031-123 45 67. Drop-in without an appointment: Tuesday 13-16. "
        "The staff there speak Arabic and Somali."
    )
    # Joined to the last reply with text; a turn without one gets the promise as its own reply.
    assert promise.add([first, BotReply("", custom={"handoff": {}})], HubFacts(name="x"), "en", "web")[0].text == (
        "Hej " + text("handoff_hours_unknown", "en")
    )
    assert promise.add([], HubFacts(name="x"), "en", "web") == [BotReply(text("handoff_hours_unknown", "en"))]


@pytest.mark.parametrize("language", LANGUAGES)
def test_in_borås_the_promise_names_borås_stads_staff_never_a_coordinator_or_a_hub(language):
    coordinator, hub = words()[language]
    said: set[str] = set()
    summer_break = parse_closed("2027-06-01 - 2027-09-30")  # longer than the next opening is looked for
    for facts in (
        in_borås(FACTS),
        in_borås(FACTS, hours=None),
        in_borås(FACTS, closed_days=FACTS.closed_days + summer_break),
    ):
        for now in moments():
            for channel in CHANNELS:
                said.update(promise.sentences(facts, language, channel, now))
    assert not [s for s in said if coordinator in folded(s) or hub in folded(s)], said
    # Every Borås text was said: the hours, open now, a few days closed, closed for a while.
    borås = [text(key, language, "boras") for key in ("handoff_expect_now", "handoff_expect_unknown")]
    assert set(borås) <= said, borås
    for key in ("handoff_hours", "handoff_expect_closed"):
        start = text(key, language, "boras").split("{")[0]
        assert any(s.startswith(start) for s in said), (key, start)


def test_the_hubs_municipality_chooses_who_answers(monkeypatch):
    monkeypatch.setattr(promise, "clock", lambda: datetime(2026, 12, 19, 11, tzinfo=TZ))
    göteborg = replace(FACTS, name="Framtidshubben Hjällbo", municipality="Göteborg")
    borås = replace(FACTS, name="Borås Stad, Hässleholmen", municipality="Borås")
    assert render(promise.add([done("sv", "sms")], göteborg, "sv", "sms"))[0].endswith(
        "Koordinatorn svarar måndag-fredag 9-16. Det är lördag nu, så räkna med svar måndag 21 december."
    )
    assert render(promise.add([done("sv", "sms")], borås, "sv", "sms"))[0].endswith(
        "Borås Stads personal svarar måndag-fredag 9-16. Det är lördag nu, så räkna med svar måndag 21 december."
    )
    monkeypatch.setattr(promise, "clock", lambda: datetime(2026, 12, 15, 10, tzinfo=TZ))
    assert promise.add([BotReply("Done.")], borås, "en", "sms")[0].text == (
        "Done. The City of Borås staff answer Monday-Friday 9-16. The staff are working now, so expect an answer today."
    )
