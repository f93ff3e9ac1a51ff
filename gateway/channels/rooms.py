"""Where the web chat's sockets are: socket.io's client managers, with the one question
the gateway asks them that socket.io has no answer for across servers.

A reply goes to a conversation's room, and the outbox must know whether it reached anyone
(else it waits for the resident to come back). ``reach`` answers that. ``Rooms`` is one
process's (socket.io's in-memory manager). ``RedisRooms`` is socket.io's Redis manager, so
a reply emitted on one replica reaches a socket connected to another, and its ``reach``
also asks the other replicas: python-socketio can emit across servers but, unlike the
JavaScript server's ``fetchSockets``, cannot count a room's sockets there (its
``get_participants`` sees this server only). So the question rides on socket.io's own
Redis channel: the emit carries a question id, each other replica answers with how many of
its sockets were in the room, and ``reach`` waits for as many answers as Redis counted
listeners (a replica that died is not counted; one that hangs is waited for
``ANSWER_SECONDS`` at most).
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid

import socketio

ANSWER_SECONDS = 2.0
CHANNEL = "hubguide-web-chat"


def present(manager: socketio.AsyncManager, room: str | None, namespace: str = "/") -> int:
    """Sockets in ``room`` on this server."""
    return sum(1 for _ in manager.get_participants(namespace, room))


class Rooms(socketio.AsyncManager):
    """One process's rooms (socket.io's default manager)."""

    def start(self) -> None:
        """Nothing to listen to in one process."""

    async def close(self) -> None:
        """Nothing to let go of."""

    async def reach(self, event: str, data, room: str, namespace: str = "/") -> bool:
        """``event`` to everyone in ``room``; True when anyone was in it."""
        if not present(self, room, namespace):
            return False
        await self.emit(event, data, namespace=namespace, room=room)
        return True


class RedisRooms(socketio.AsyncRedisManager):
    """Every replica's rooms, through socket.io's Redis manager (see the module's note)."""

    def __init__(self, redis_url: str) -> None:
        super().__init__(redis_url, channel=CHANNEL)
        self._answers: dict[str, asyncio.Queue[int]] = {}

    def start(self) -> None:
        """Listen to the other replicas from now on; socket.io would start at the first
        connection to this one, and the answers to ``reach`` come that way."""
        if not self.server.manager_initialized:
            self.server.manager_initialized = True
            self.initialize()

    async def close(self) -> None:
        listening = getattr(self, "thread", None)  # the manager's listening task, once started
        if listening is not None:
            listening.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await listening
        if self.redis is not None:
            await self.redis.aclose()

    async def reach(self, event: str, data, room: str, namespace: str = "/") -> bool:
        """``event`` to everyone in ``room`` on every replica; True when anyone was in it."""
        if present(self, room, namespace):  # here: no need to wait for the others' answers
            await self.emit(event, data, namespace=namespace, room=room)
            return True
        question = uuid.uuid4().hex
        answers: asyncio.Queue[int] = asyncio.Queue()
        self._answers[question] = answers
        # socket.io's own emit message (AsyncPubSubManager.emit), with the question added: its
        # emit neither takes extra keys nor returns how many listened.
        message = {
            "method": "emit",
            "event": event,
            "data": [data],
            "binary": False,
            "namespace": namespace,
            "room": room,
            "skip_sid": None,
            "callback": None,
            "host_id": self.host_id,
            "question": question,
        }
        try:
            listeners = await self._publish(message) or 0
            hearing_itself = self.pubsub is not None and self.pubsub.subscribed
            others = listeners - 1 if hearing_itself else listeners

            async def anyone() -> bool:
                for _ in range(others):
                    if await answers.get():
                        return True
                return False

            # asyncio.wait, not wait_for: see gateway/outbox.py (CPython gh-86296).
            waiting = asyncio.ensure_future(anyone())
            try:
                done, _ = await asyncio.wait({waiting}, timeout=ANSWER_SECONDS)
            finally:
                waiting.cancel()
            return bool(done) and waiting.result()
        finally:
            del self._answers[question]

    async def _handle_emit(self, message) -> None:
        """Another replica's emit: sent to the sockets here, and its question answered."""
        question = message.get("question")
        here = present(self, message.get("room"), message.get("namespace") or "/") if question else 0
        await super()._handle_emit(message)
        if question:
            # socket.io's "callback" messages reach every replica; only the asking one reads this.
            await self._publish({"method": "callback", "host_id": message["host_id"], "answer": question, "n": here})

    async def _handle_callback(self, message) -> None:
        if "answer" not in message:
            await super()._handle_callback(message)
        elif message.get("host_id") == self.host_id and message["answer"] in self._answers:
            self._answers[message["answer"]].put_nowait(int(message.get("n") or 0))


def manager(redis_url: str) -> Rooms | RedisRooms:
    """The rooms of every replica sharing ``redis_url``; of this process only without one."""
    return RedisRooms(redis_url) if redis_url else Rooms()
