import asyncio

from gateway.events import Bus, Event


def test_every_listener_gets_each_event_and_a_full_queue_does_not_block():
    async def run():
        bus = Bus(queue_size=1)
        with bus.listen() as first, bus.listen() as second:
            bus.publish(Event("handoff_created", 1, {"id": 7}))
            bus.publish(Event("handoff_created", 1, {"id": 8}))  # dropped for full queues
            assert (await first.get()).data == {"id": 7}
            assert (await second.get()).data == {"id": 7}
            assert bus.listeners == 2
        assert bus.listeners == 0

    asyncio.run(run())
