"""What several gateway replicas share through Redis (REDIS_URL), in each library's spelling.

Without a Redis URL every store here is this process's memory: right for one process
(`make run`), wrong for two. The web chat's rooms (``gateway.channels.rooms``), the inbox's
live events (``gateway.events``) and the sign-in limits (``gateway.inbox.throttles``) take the
same URL.
"""

from __future__ import annotations

import limits.aio.storage
import limits.storage


def limits_uri(redis_url: str, *, on_event_loop: bool) -> str:
    """``redis_url`` as ``limits`` names its Redis storages (``async+redis://…`` for limits.aio)."""
    scheme, rest = redis_url.split("://", 1)
    scheme = "redis+unix" if scheme == "unix" else scheme
    return f"{'async+' if on_event_loop else ''}{scheme}://{rest}"


def rate_limits(redis_url: str) -> limits.aio.storage.Storage:
    """Counts for ``limits.aio``'s limiters: in Redis when ``redis_url`` is set, every replica
    counting together; else in this process."""
    if not redis_url:
        return limits.aio.storage.MemoryStorage()
    # redis-py, already installed for socket.io and the live events (limits' default is coredis).
    return limits.aio.storage.RedisStorage(limits_uri(redis_url, on_event_loop=True), implementation="redispy")


def rate_limits_sync(redis_url: str) -> limits.storage.Storage:
    """The same for ``limits``' synchronous limiters."""
    if not redis_url:
        return limits.storage.MemoryStorage()
    return limits.storage.RedisStorage(limits_uri(redis_url, on_event_loop=False))
