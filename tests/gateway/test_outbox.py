"""The outbox delivers each resident's messages in order, retries transient
failures with backoff, and gives up on permanent ones. The senders here stand
in for Twilio, which cannot run on this machine."""

import asyncio
from datetime import timedelta

from gateway.db import session_scope
from gateway.models import Message, Resident, utcnow
from gateway.outbox import MAX_ATTEMPTS, NotConnected, Outbox, PermanentError, TransientError
from gateway.store import queue_outbound
from tests.conftest import Recorder, resident


def queue(address, *bodies, channel="sms"):
    with session_scope() as session:
        to = resident(session, channel, address)
        for body in bodies:
            queue_outbound(session, to, body)


def statuses():
    with session_scope() as session:
        return [(m.body, m.status, m.attempts) for m in session.query(Message).order_by(Message.id)]


def drain(outbox):
    async def run():
        while await outbox.deliver_due() == 0.0:
            pass

    asyncio.run(run())


def test_each_residents_messages_arrive_in_order(settings):
    queue("+46700000001", "a1", "a2", "a3")
    queue("+46700000002", "b1", "b2")
    sender = Recorder()
    drain(Outbox({"sms": sender}))
    for address, expected in (("+46700000001", ["a1", "a2", "a3"]), ("+46700000002", ["b1", "b2"])):
        assert [body for to, body in sender.sent if to == address] == expected
    assert {s for _, s, _ in statuses()} == {"sent"}


def test_a_transient_failure_is_retried_later_and_holds_back_the_next_message(settings):
    queue("+46700000001", "first", "second")
    sender = Recorder([TransientError("twilio 503")])
    outbox = Outbox({"sms": sender})
    wait = asyncio.run(outbox.deliver_due())
    assert sender.sent == []
    assert asyncio.run(outbox.deliver_due()) > 0  # nothing due before the backoff
    assert statuses() == [("first", "queued", 1), ("second", "queued", 0)]
    assert wait == 0.0
    with session_scope() as session:  # let the backoff pass
        for message in session.query(Message):
            message.next_attempt_at = utcnow() - timedelta(seconds=1)
    drain(outbox)
    assert [body for _, body in sender.sent] == ["first", "second"]


def test_a_message_that_keeps_failing_is_marked_failed(settings):
    queue("+46700000001", "doomed")
    outbox = Outbox({"sms": Recorder([TransientError("down")] * MAX_ATTEMPTS)})
    for _ in range(MAX_ATTEMPTS):
        with session_scope() as session:
            session.query(Message).update({"next_attempt_at": None})
        asyncio.run(outbox.deliver_due())
    assert statuses() == [("doomed", "failed", MAX_ATTEMPTS)]


def test_an_opted_out_number_is_marked_and_gets_nothing_more(settings):
    queue("+46700000001", "one", "two")
    sender = Recorder([PermanentError("21610", opted_out=True)])
    drain(Outbox({"sms": sender}))
    assert statuses() == [("one", "failed", 1), ("two", "suppressed", 0)]
    with session_scope() as session:
        assert session.query(Resident).one().opted_out
    assert sender.sent == []


def test_a_web_reply_waits_for_the_resident_to_come_back(settings):
    queue("session-0123456789abcdef", "hello", channel="web")
    outbox = Outbox({"web": Recorder([NotConnected()])})
    asyncio.run(outbox.deliver_due())
    assert statuses() == [("hello", "awaiting_connection", 0)]


def test_a_message_erased_while_it_is_sent_does_not_hold_back_the_batch(settings):
    """Erasure deletes a resident's messages, also one the outbox is sending right then: the
    batch's other outcomes are still recorded, so nothing already sent goes out twice."""
    queue("+46700000001", "to be erased")
    queue("+46700000002", "kept")

    class ErasedMidway(Recorder):
        async def send(self, delivery):
            if delivery.body == "to be erased":
                with session_scope() as session:
                    session.query(Message).filter_by(id=delivery.message_id).delete()
            return await super().send(delivery)

    sender = ErasedMidway()
    drain(Outbox({"sms": sender}))
    assert sorted(body for _, body in sender.sent) == ["kept", "to be erased"]
    assert statuses() == [("kept", "sent", 1)]


def test_after_a_batch_the_outbox_looks_again_at_once_only_when_something_may_be_due(settings):
    """A recipient's only message sent: nothing else can be due before the next retry or wake-up,
    so no scan for nothing; a recipient's next message, or a failed attempt, is looked for at once."""
    sender = Recorder()
    outbox = Outbox({"sms": sender})
    queue("+46700000001", "only")
    assert asyncio.run(outbox.deliver_due()) > 0
    queue("+46700000001", "first", "second")
    assert asyncio.run(outbox.deliver_due()) == 0.0  # "second" is due once "first" is sent
    assert asyncio.run(outbox.deliver_due()) > 0
    assert [body for _, body in sender.sent] == ["only", "first", "second"]
    failing = Outbox({"sms": Recorder([TransientError("twilio 503")])})
    queue("+46700000001", "retried")
    assert asyncio.run(failing.deliver_due()) == 0.0  # then the scan finds the backoff's wait


def test_a_message_queued_while_a_batch_is_sent_goes_out_without_waiting_for_a_timeout(settings):
    """The loop does not look again after a batch with nothing left: a message queued meanwhile
    wakes it."""
    queue("+46700000001", "first")
    during = asyncio.Event()

    class QueuesDuringTheSend(Recorder):
        async def send(self, delivery):
            if delivery.body == "first":
                queue("+46700000002", "queued meanwhile")
                outbox.wake()
            elif delivery.body == "queued meanwhile":
                during.set()
            return await super().send(delivery)

    outbox = Outbox({"sms": QueuesDuringTheSend()})

    async def run():
        loop = asyncio.create_task(outbox.run())
        try:
            await asyncio.wait_for(during.wait(), 5)  # the loop's own wait is 30 s: woken, not timed out
        finally:
            loop.cancel()

    asyncio.run(run())
    assert [body for _, body in outbox.senders["sms"].sent] == ["first", "queued meanwhile"]
