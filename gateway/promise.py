"""After a handoff, when the resident can expect an answer (issue 12 §6), and on the web the hub's
facts: composed here because the gateway holds both what they come from, the facts the hub's
coordinators keep in the inbox (``gateway.store.HubFacts``) and the clock. The words are
``common.when``'s; the bot's own "Klart..." (``utter_handoff_done``) says nothing about hours.
They are the hub's municipality's: in Borås, which has no hubs, Borås Stad's staff answer, not a
coordinator (common/texts.py's Borås variants).

Read from the database at each handoff, so a fact saved in the inbox reaches the very next
resident: no retraining, no restart."""

from __future__ import annotations

from datetime import datetime

from common import when
from common.texts import text
from gateway.channels.gsm import SMS_SEGMENTS, segments
from gateway.channels.sms import render
from gateway.models import utcnow
from gateway.rasa_client import BotReply
from gateway.store import HubFacts

clock = utcnow  # tests set the time here


def sentences(facts: HubFacts, language: str | None, channel: str, now: datetime) -> list[str]:
    """The hours and what to expect; on the web the address, phone, drop-in and languages too."""
    hours, expect = when.promise(facts.hours, facts.closed_days, now, language, facts.municipality)
    said = [s for s in (hours, expect) if s]
    if channel == "sms":
        return said
    known = {
        "hub_address": {"address": facts.address},
        "hub_phone": {"phone": facts.phone},
        "hub_drop_in": {"hours": when.hours(facts.drop_in, language) if facts.drop_in else None},
        "hub_languages": {"languages": when.languages(facts.languages, language) if facts.languages else None},
    }
    return said + [text(key, language).format(**fields) for key, fields in known.items() if all(fields.values())]


def add(replies: list[BotReply], facts: HubFacts, language: str | None, channel: str) -> list[BotReply]:
    """``replies`` with the promise joined to the last one that has text (the bot's "Klart...").
    Over SMS, where the turn is one message, the hours are left out if the whole would not fit
    ``SMS_SEGMENTS``; what to expect always stays."""
    said = sentences(facts, language, channel, clock())
    last = max((i for i, reply in enumerate(replies) if reply.text), default=None)
    if last is None:
        return [*replies, BotReply(" ".join(said))]

    def joined(parts: list[str]) -> list[BotReply]:
        reply = replies[last]
        return [
            *replies[:last],
            BotReply(" ".join([reply.text, *parts]), reply.buttons, reply.custom, reply.optional),
            *replies[last + 1 :],
        ]

    result = joined(said)
    if channel == "sms" and len(said) > 1 and segments(render(result)[0]) > SMS_SEGMENTS:
        result = joined(said[-1:])
    return result
