"""Live updates for the inbox: server-sent events fed by the gateway's event bus
(with REDIS_URL, every replica's events: gateway.events.RedisBus).

Each event names what changed by id only (``{"handoff": 12}``); the page
fetches what it needs from the API, which applies the same visibility rules.
A coordinator gets the events of their own hub, an admin all of them. The
stream ends after ``STREAM_SECONDS`` (the browser reconnects by itself and the
page then re-reads its list), and when the session stops being good: it is
read again before each event and at each keepalive (``reload_user``, one
primary-key read on the database thread), so a session signed out on any
replica gets nothing more.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable

from sse_starlette import JSONServerSentEvent, ServerSentEvent

from gateway import db
from gateway.events import Bus, Event
from gateway.inbox.security import User

KEEPALIVE_SECONDS = 15.0
STREAM_SECONDS = 300.0
RETRY_MS = 2000


def allowed(user: User, event: Event) -> bool:
    return user.is_admin or (event.hub_id is not None and event.hub_id == user.hub_id)


# sse-starlette encodes the frames. The route sends them with Starlette's StreamingResponse rather
# than sse-starlette's EventSourceResponse: the keepalive here is also when the stream checks the
# session again, which EventSourceResponse's ping, running beside the stream, could not do.
def frame(kind: str, data: dict, event_id: int | None = None, retry: int | None = None) -> str:
    """An event whose data keeps only the ids in ``data``: residents' words never go out here."""
    ids = {key: value for key, value in data.items() if isinstance(value, int) and not isinstance(value, bool)}
    event = JSONServerSentEvent(ids, event=kind, id=None if event_id is None else str(event_id), retry=retry, sep="\n")
    return event.encode().decode()


KEEPALIVE = ServerSentEvent(comment="keepalive", sep="\n").encode().decode()


async def event_stream(
    bus: Bus,
    user: User,
    reload_user: Callable[[], User | None],
    keepalive: float = KEEPALIVE_SECONDS,
    lifetime: float = STREAM_SECONDS,
) -> AsyncIterator[str]:
    loop = asyncio.get_running_loop()
    with bus.listen() as queue:
        # Listening already: anything published after the page sees "ready" reaches it.
        yield frame("ready", {}, retry=RETRY_MS)
        deadline, sequence = loop.time() + lifetime, 0
        while (remaining := deadline - loop.time()) > 0:
            try:
                event = await asyncio.wait_for(queue.get(), min(keepalive, remaining))
            except asyncio.TimeoutError:
                event = None
            user = await db.run(reload_user)  # signed out, deactivated, or moved to another hub, meanwhile?
            if user is None:
                yield frame("signed_out", {})
                return
            if event is None:
                yield KEEPALIVE
            elif allowed(user, event):
                sequence += 1
                yield frame(event.kind, event.data, sequence)
