"""A turn wakes the outbox when it has queued something to send, and only then: for a message
the bot answers, once the answer is stored, not before the bot is asked (a scan of the outbox
then found nothing to send, one database transaction per message for nothing)."""

from __future__ import annotations

import asyncio

from sqlalchemy import event, select

from gateway import db
from gateway.conversation import Conversations
from gateway.db import session_scope
from gateway.intake import Inbound, store_now
from gateway.models import Handoff, Hub, Message
from gateway.outbox import Outbox
from tests.conftest import Recorder
from tests.conftest import resident as resident_of
from tests.gateway.test_ordering import TEXTS, Rasa, store


class Watched(Outbox):
    """Counts its wake-ups."""

    def __init__(self) -> None:
        super().__init__({"sms": Recorder()})
        self.wakes = 0

    def wake(self) -> None:
        self.wakes += 1
        super().wake()


class Asked(Rasa):
    """Notes how often the outbox had been woken when the bot is asked."""

    def __init__(self, outbox: Watched) -> None:
        super().__init__()
        self.outbox, self.woken_before = outbox, []

    async def send(self, *args):
        self.woken_before.append(self.outbox.wakes)
        return await super().send(*args)


def turn(number: str, said: str) -> tuple[int, list[int]]:
    """The outbox's wake-ups during one message's turn, and those before the bot was asked (if it was)."""
    outbox = Watched()
    bot = Asked(outbox)

    async def scenario() -> None:
        turns = Conversations(bot, outbox)
        ((message, resident),) = store(number, said)
        turns.submit(message, resident)
        await turns.idle()

    asyncio.run(scenario())
    return outbox.wakes, bot.woken_before


def outbound() -> list[str]:
    with session_scope() as session:
        return list(session.scalars(select(Message.body).where(Message.direction == "out")))


def test_a_message_the_bot_answers_wakes_the_outbox_once_its_answer_is_stored(settings):
    assert turn("+46701120001", TEXTS[0]) == (1, [0])
    (reply,) = outbound()
    assert reply.startswith(f"svar: {TEXTS[0]}")


def test_a_message_answered_without_the_bot_wakes_the_outbox_for_what_it_queued(settings):
    assert turn("+46701120002", "RADERA") == (1, [])  # the erasure's code, to send back
    assert len(outbound()) == 1


def test_a_turn_that_queued_nothing_does_not_wake_the_outbox(settings):
    assert turn("+46701120003", "STOP") == (0, [])  # Twilio confirms its own STOP itself
    assert outbound() == []


class Held(Rasa):
    """Keeps every turn that asks it waiting until ``go`` is set; ``entered`` is set once ``expect`` are waiting."""

    def __init__(self, expect: int) -> None:
        super().__init__()
        self.expect, self.waiting, self.most = expect, 0, 0
        self.entered, self.go = asyncio.Event(), asyncio.Event()

    async def send(self, *args):
        self.waiting += 1
        self.most = max(self.most, self.waiting)
        if self.waiting >= self.expect:
            self.entered.set()
        await self.go.wait()
        self.waiting -= 1
        return await super().send(*args)


def test_a_burst_of_residents_is_answered_a_few_turns_at_a_time(settings):
    """The others wait for a slot, stored, not on the bot: a webhook is not queued behind them all."""
    residents = [store(f"+467011300{n:02d}", TEXTS[n % len(TEXTS)])[0] for n in range(10)]
    bot = Held(expect=3)

    async def scenario() -> int:
        turns = Conversations(bot, Outbox({"sms": Recorder()}), turns_at_once=3)
        for message, resident in residents:
            turns.submit(message, resident)
        await bot.entered.wait()
        # The database thread is first come, first served: once this is done, every turn that was
        # let in has read its message and asked the bot (those let in before the bound were).
        await db.run(lambda: None)
        waiting = bot.waiting
        bot.go.set()
        await turns.idle()
        return waiting

    assert asyncio.run(scenario()) == 3
    assert bot.most == 3
    assert len(outbound()) == 10


class Told(Rasa):
    """Notes what the bot is told beside each message."""

    def __init__(self) -> None:
        super().__init__()
        self.metadata: list[dict] = []

    async def send(self, conversation_id, said, metadata):
        self.metadata.append(metadata)
        return await super().send(conversation_id, said, metadata)


def told(number: str, said: str, provider_id: str) -> dict:
    bot = Told()

    async def scenario() -> None:
        turns = Conversations(bot, Outbox({"sms": Recorder()}))
        stored = store_now(db.engine(), Inbound("sms", number, said, provider_id))
        turns.submit(stored.message_id, stored.resident_id)
        await turns.idle()
        await turns.resident_locks.close()

    asyncio.run(scenario())
    (metadata,) = bot.metadata
    return metadata


def test_the_bot_is_told_the_hub_of_the_residents_latest_handoff_that_has_one(settings):
    number = "+46701120010"
    assert "hub" not in told(number, TEXTS[0], "SM-a")  # never handed over
    with session_scope() as session:
        first = Hub(slug="hjallbo", name="Hjällbo", municipality="Göteborg")
        second = Hub(slug="norrby", name="Norrby", municipality="Borås")
        handed = resident_of(session, "sms", number)
        for hub in (first, second):
            session.add(Handoff(resident=handed, hub=hub, channel="sms", language="sv", status="closed"))
    assert told(number, TEXTS[1], "SM-b")["hub"] == second.slug
    with session_scope() as session:  # a crisis before their hub was known: the one before it counts
        handed = resident_of(session, "sms", number)
        session.add(Handoff(resident=handed, hub=None, channel="sms", language="sv", status="closed", topic="crisis"))
    assert told(number, TEXTS[2], "SM-c")["hub"] == second.slug


def test_a_returning_residents_turn_is_five_statements(settings):
    """What a turn asks of the database, each a round trip on PostgreSQL that the database thread
    waits for (issue 15): the unanswered messages with their resident, the latest handoff with its
    hub; after the bot, the message again (erased meanwhile?), its status, the reply."""
    told("+46701120020", TEXTS[0], "SM-first")  # known from now on, the privacy notice sent
    stored = store_now(db.engine(), Inbound("sms", "+46701120020", TEXTS[1], "SM-second"))
    statements: list[str] = []

    def count(_conn, _cursor, statement, *_args) -> None:
        statements.append(statement.split(None, 1)[0].upper())

    async def scenario() -> None:
        turns = Conversations(Rasa(), Outbox({"sms": Recorder()}))
        turns.submit(stored.message_id, stored.resident_id)
        await turns.idle()
        await turns.resident_locks.close()

    event.listen(db.engine(), "before_cursor_execute", count)
    try:
        asyncio.run(scenario())
    finally:
        event.remove(db.engine(), "before_cursor_execute", count)
    assert statements == ["SELECT", "SELECT", "SELECT", "UPDATE", "INSERT"]
