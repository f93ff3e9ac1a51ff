"""Publish/subscribe for live updates (the coordinator inbox's server-sent
events). Events carry ids, never personal data, and listeners read what they
need from the database.

``Bus`` keeps them in this process; ``RedisBus`` (REDIS_URL set) also hands them
to every other replica through Redis pub/sub, so a coordinator whose page is
connected to one replica sees what happened on another.
"""

from __future__ import annotations

import asyncio
import json
import logging
import uuid
from collections.abc import AsyncIterator
from contextlib import contextmanager
from dataclasses import dataclass, field

import redis.asyncio
from redis.exceptions import RedisError

log = logging.getLogger("hubguide.events")

CHANNEL = "hubguide:inbox-events"
RECONNECT_SECONDS = 1.0
OUTGOING = 1000  # events waiting for Redis; beyond it they stay in this replica (the pages re-read their lists)


@dataclass(frozen=True)
class Event:
    kind: str  # handoff_created | handoff_updated | message_in | message_out | delivery
    hub_id: int | None
    data: dict = field(default_factory=dict)


class Bus:
    def __init__(self, queue_size: int = 100) -> None:
        self._queues: set[asyncio.Queue[Event]] = set()
        self._queue_size = queue_size

    def publish(self, event: Event) -> None:
        self._hand_out(event)

    def _hand_out(self, event: Event) -> None:
        """To this process's listeners."""
        for queue in list(self._queues):
            try:
                queue.put_nowait(event)
            except asyncio.QueueFull:  # a stalled listener loses updates, never blocks others
                pass

    @contextmanager
    def listen(self):
        queue: asyncio.Queue[Event] = asyncio.Queue(self._queue_size)
        self._queues.add(queue)
        try:
            yield queue
        finally:
            self._queues.discard(queue)

    async def stream(self) -> AsyncIterator[Event]:
        with self.listen() as queue:
            while True:
                yield await queue.get()

    @property
    def listeners(self) -> int:
        return len(self._queues)

    async def run(self) -> None:
        """Relays events between processes until cancelled; one process has none to relay."""


class RedisBus(Bus):
    """The bus of every replica sharing one Redis: an event published on one reaches the
    listeners of all. Each replica hands its own listeners its own events at once (and skips
    them when Redis brings them back); one task sends them out, in the order published."""

    def __init__(self, redis_url: str, queue_size: int = 100) -> None:
        super().__init__(queue_size)
        self.redis = redis.asyncio.Redis.from_url(redis_url)
        self.origin = uuid.uuid4().hex
        self.subscribed = asyncio.Event()  # set while this replica hears the others' events
        self._outgoing: asyncio.Queue[Event] = asyncio.Queue(OUTGOING)

    def publish(self, event: Event) -> None:
        super().publish(event)
        try:
            self._outgoing.put_nowait(event)
        except asyncio.QueueFull:
            log.warning("a live event was not shared with the other replicas: Redis is not keeping up")

    async def run(self) -> None:
        try:
            await asyncio.gather(self._send(), self._receive())
        finally:
            await self.redis.aclose()

    async def _send(self) -> None:
        while True:
            event = await self._outgoing.get()
            message = {"origin": self.origin, "kind": event.kind, "hub_id": event.hub_id, "data": event.data}
            try:
                await self.redis.publish(CHANNEL, json.dumps(message))
            except RedisError as exc:
                log.warning("a live event was not shared with the other replicas: %s", exc)

    async def _receive(self) -> None:
        while True:
            try:
                async with self.redis.pubsub() as pubsub:
                    await pubsub.subscribe(CHANNEL)
                    async for message in pubsub.listen():
                        if message["type"] == "subscribe":  # Redis confirmed: the others' events come from now on
                            self.subscribed.set()
                        elif message["type"] == "message":
                            self._arrived(message["data"])
            except RedisError as exc:
                self.subscribed.clear()
                log.warning("not hearing the other replicas' live events (%s); trying again", exc)
                await asyncio.sleep(RECONNECT_SECONDS)  # a bounded pause before reconnecting to Redis

    def _arrived(self, data: bytes) -> None:
        try:
            message = json.loads(data)
            event = Event(message["kind"], message["hub_id"], message["data"])
        except (ValueError, KeyError, TypeError):
            log.warning("an unreadable live event on %s was ignored", CHANNEL)
            return
        if message.get("origin") != self.origin:
            self._hand_out(event)
