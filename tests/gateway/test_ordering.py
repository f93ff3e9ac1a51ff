"""One resident's messages answered one at a time and in the order they came, also when they
reach different replicas: the resident's lock in a real Redis (Debian's redis-server, started
here), two replicas' ``Conversations`` on one PostgreSQL database, and one Rasa stand-in that
both replicas ask (it records what it was asked, and when two turns of one conversation
overlap). Those tests are skipped, saying why, without Redis or PostgreSQL; the order kept
across the bot's failures is checked in one process, on SQLite."""

from __future__ import annotations

import asyncio
from collections import defaultdict
from datetime import timedelta

import pytest
import redis.asyncio
from sqlalchemy import select, update

from gateway import db, ordering
from gateway.conversation import ABANDONED, Conversations
from gateway.db import session_scope
from gateway.intake import Inbound, store_now
from gateway.models import Message, utcnow
from gateway.ordering import Busy, ResidentLocks
from gateway.outbox import Outbox
from gateway.rasa_client import BotReply, RasaUnavailable
from tests.conftest import Recorder
from tests.gateway.test_replica_delivery import on_postgres_only  # noqa: F401  (fixtures)
from tests.gateway.test_replicas import needs_redis, postgres_server, redis_server, redis_url  # noqa: F401

# Swedish, as residents write it (bench/sms_load/workload.py), so that each is given to the bot.
TEXTS = [
    "jag söker jobb",
    "jag vill lära mig svenska",
    "jag vill starta företag",
    "hej, jag har en fråga",
    "tack så mycket",
    "hur hittar jag jobb",
]


class Rasa:
    """One Rasa server for every replica. A turn takes a moment (``delay``), so that two turns
    of one conversation would overlap; a text in ``gates`` waits until its event is set; a text
    in ``failing`` fails (as when the server is down), once for each time it is listed."""

    def __init__(self, delay: float = 0.0) -> None:
        self.delay, self.gates, self.failing = delay, {}, []
        self.heard: dict[str, list[str]] = defaultdict(list)  # per conversation, every attempt
        self.busy: dict[str, int] = defaultdict(int)
        self.overlapped = False
        self.asked = asyncio.Event()

    async def send(self, conversation_id: str, said: str, metadata: dict) -> list[BotReply]:
        self.heard[conversation_id].append(said)
        self.asked.set()
        self.busy[conversation_id] += 1
        self.overlapped |= self.busy[conversation_id] > 1
        try:
            if said in self.gates:
                await self.gates[said].wait()
            await asyncio.sleep(self.delay)
            if said in self.failing:
                self.failing.remove(said)
                raise RasaUnavailable("the Rasa server is down")
            return [BotReply(f"svar: {said}")]
        finally:
            self.busy[conversation_id] -= 1

    async def ready(self) -> bool:
        return True


def replicas(bot: Rasa, redis_url: str = "", count: int = 2) -> list[Conversations]:  # noqa: F811
    """``count`` replicas' turns, sharing the database, ``bot`` and (with ``redis_url``) the resident's lock."""
    return [Conversations(bot, Outbox({"sms": Recorder()}), locks=ResidentLocks(redis_url)) for _ in range(count)]


def store(number: str, *texts: str) -> list[tuple[int, int]]:
    """The messages as the intake stores them: (message id, resident id) each."""
    stored = [store_now(db.engine(), Inbound("sms", number, said, f"SM{number}{n}")) for n, said in enumerate(texts)]
    return [(s.message_id, s.resident_id) for s in stored if s is not None]


def statuses() -> list[str]:
    with session_scope() as session:
        return list(session.scalars(select(Message.status).where(Message.direction == "in").order_by(Message.id)))


async def done(*conversations: Conversations) -> None:
    for conversation in conversations:
        await conversation.idle()
        await conversation.resident_locks.close()


# --- the lock ---------------------------------------------------------------------------------------


@needs_redis
def test_the_residents_lock_lets_one_replica_in_at_a_time(redis_url):  # noqa: F811
    async def scenario() -> list[str]:
        one, other, steps = ResidentLocks(redis_url), ResidentLocks(redis_url), []
        inside = asyncio.Event()

        async def first():
            async with one.held(7):
                steps.append("one in")
                inside.set()
                await asyncio.sleep(0.2)  # a turn under way while the other replica asks
                steps.append("one out")

        async def second():
            await inside.wait()
            async with other.held(7):
                steps.append("other in")

        await asyncio.gather(first(), second())
        for locks in (one, other):
            await locks.close()
        return steps

    assert asyncio.run(scenario()) == ["one in", "one out", "other in"]


@needs_redis
def test_a_dead_replicas_lock_runs_out_and_a_live_ones_is_renewed_for_as_long_as_its_turn(redis_url):  # noqa: F811
    async def scenario() -> None:
        client = redis.asyncio.Redis.from_url(redis_url)
        assert await client.lock(ordering.KEY.format(7), timeout=0.5).acquire()  # and its replica dies
        live, other = ResidentLocks(redis_url, lease=0.5, wait=5), ResidentLocks(redis_url, lease=0.5, wait=1.5)
        loop = asyncio.get_running_loop()
        asked = loop.time()
        async with live.held(7):
            assert loop.time() - asked >= 0.3  # not before the dead one's lock ran out
            with pytest.raises(Busy):  # three leases long: renewed all the while
                async with other.held(7):
                    pass
        async with other.held(7):  # and free once the turn is done
            pass
        for locks in (live, other):
            await locks.close()
        await client.aclose()

    asyncio.run(scenario())


# --- turns in order -------------------------------------------------------------------------------


@needs_redis
def test_the_turn_that_gets_the_lock_first_answers_the_residents_earlier_messages_first(
    on_postgres_only,  # noqa: F811
    redis_url,  # noqa: F811
):
    """The first message is with the bot on one replica; the second arrives at the other, the
    third at the first. When the first turn ends, the first replica's waiting turn (the third
    message's) is the likely winner of the lock: it answers the second message before its own."""
    bot = Rasa()

    async def scenario() -> None:
        one, other = replicas(bot, redis_url)
        (first, resident), second, third = store("+46701110001", *TEXTS[:3])
        bot.gates[TEXTS[0]] = gate = asyncio.Event()
        one.submit(first, resident)
        await bot.asked.wait()
        one.submit(third[0], resident)
        gate.set()
        await one.idle()
        other.submit(second[0], resident)  # late, as a slow replica's would be: answered already
        await done(one, other)

    asyncio.run(scenario())
    assert list(bot.heard.values()) == [TEXTS[:3]]
    assert statuses() == ["answered"] * 3


@needs_redis
def test_two_replicas_given_residents_messages_in_any_order_answer_each_once_in_order(
    on_postgres_only,  # noqa: F811
    redis_url,  # noqa: F811
):
    bot = Rasa(delay=0.02)  # long enough for two replicas' turns of one resident to overlap, were they let

    async def scenario() -> None:
        one, other = replicas(bot, redis_url)
        stored = [m for n in range(3) for m in store(f"+4670111000{n}", *TEXTS)]
        # Each resident's messages handed out newest first, to the two replicas in turn.
        for n, (message, resident) in enumerate(reversed(stored)):
            (one, other)[n % 2].submit(message, resident)
        await asyncio.gather(done(one), done(other))

    asyncio.run(scenario())
    assert not bot.overlapped
    assert list(bot.heard.values()) == [TEXTS] * 3
    assert statuses() == ["answered"] * 18


def test_an_earlier_message_the_bot_failed_on_holds_back_the_later_ones_until_its_retry(settings):
    bot = Rasa()

    async def scenario() -> None:
        (turns,) = replicas(bot, count=1)
        (first, resident), (second, _), (third, _) = store("+46701110002", *TEXTS[:3])
        bot.failing = [TEXTS[0]]
        turns.submit(first, resident)  # the bot is down: an apology, kept for retry
        await turns.idle()
        bot.failing = [TEXTS[0]]
        turns.submit(second, resident)  # the first again (down still): the second is not given to the bot
        await turns.idle()
        assert statuses() == ["bot_unavailable", "received", "received"]
        turns.submit(third, resident)  # the bot is back: all three, in order
        await done(turns)

    asyncio.run(scenario())
    assert list(bot.heard.values()) == [[TEXTS[0]] * 3 + TEXTS[1:3]]
    assert statuses() == ["answered"] * 3


def test_a_message_the_bot_has_failed_on_for_long_holds_back_nothing(settings):
    bot = Rasa()

    async def scenario() -> None:
        (turns,) = replicas(bot, count=1)
        (first, resident), (second, _) = store("+46701110003", *TEXTS[:2])
        bot.failing = [TEXTS[0], TEXTS[0]]  # it fails on this one every time
        turns.submit(first, resident)
        await turns.idle()
        with session_scope() as session:
            session.execute(update(Message).values(created_at=utcnow() - ordering.HOLD - timedelta(minutes=1)))
        turns.submit(second, resident)
        await done(turns)

    asyncio.run(scenario())
    assert list(bot.heard.values()) == [[TEXTS[0], TEXTS[0], TEXTS[1]]]
    assert statuses() == ["bot_unavailable", "answered"]


# --- the retry ------------------------------------------------------------------------------------


def test_the_retry_leaves_alone_a_message_another_replicas_turn_is_handling(settings):
    """Every replica retries every 10 s. A message that came a moment ago is another replica's
    turn under way (here: with the bot): not taken again. Once it is older than ABANDONED with
    no answer, its replica died mid-turn, and the retry takes it."""
    bot = Rasa()

    async def scenario() -> None:
        one, other = replicas(bot)
        ((message, resident),) = store("+46701110004", TEXTS[0])
        bot.gates[TEXTS[0]] = asyncio.Event()  # the turn stays with the bot: its replica then dies
        one.submit(message, resident)
        await bot.asked.wait()
        assert await other.retry_unanswered() == 0
        with session_scope() as session:
            session.execute(update(Message).values(created_at=utcnow() - ABANDONED - timedelta(seconds=1)))
        bot.gates.clear()
        assert await other.retry_unanswered() == 1
        await done(other)
        for task in list(one._tasks):  # the dead replica's turn, still waiting for the bot
            task.cancel()
        await asyncio.gather(*one._tasks, return_exceptions=True)

    asyncio.run(scenario())
    assert list(bot.heard.values()) == [[TEXTS[0], TEXTS[0]]]  # the bot heard it on both replicas
    assert statuses() == ["answered"]


def test_the_retry_takes_a_resident_whose_message_the_bot_failed_on_with_all_their_messages(settings):
    bot = Rasa()

    async def scenario() -> None:
        (turns,) = replicas(bot, count=1)
        (first, resident), (second, _) = store("+46701110005", *TEXTS[:2])
        bot.failing = [TEXTS[0], TEXTS[0]]
        turns.submit(first, resident)
        await turns.idle()
        turns.submit(second, resident)  # the first fails again: the second waits behind it, unasked
        await turns.idle()
        assert statuses() == ["bot_unavailable", "received"]
        assert await turns.retry_unanswered() == 2  # the second came a moment ago, and is taken too
        await done(turns)

    asyncio.run(scenario())
    assert list(bot.heard.values()) == [[TEXTS[0], TEXTS[0], TEXTS[0], TEXTS[1]]]
    assert statuses() == ["answered"] * 2
