"""In-process publish/subscribe for live updates (the coordinator inbox's
server-sent events). Each gateway process has its own bus; events carry ids,
never personal data, and listeners read what they need from the database."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import contextmanager
from dataclasses import dataclass, field


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
