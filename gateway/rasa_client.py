"""The gateway's client for the Rasa server's REST channel.

aiohttp, not httpx: every resident turn makes one call, and httpx's request
path cost the gateway about a third of its CPU under load (bench/sms_load/).
"""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass, field
from typing import Protocol

import aiohttp

from common.custom import OPTIONAL
from gateway import metrics

log = logging.getLogger("hubguide.rasa")


class RasaUnavailable(Exception):
    """The Rasa server did not answer in time, or answered with an error."""


@dataclass
class BotReply:
    text: str
    buttons: list[dict] = field(default_factory=list)
    custom: dict | None = None  # an action's json_message, e.g. {"handoff": {...}}
    # Left out over SMS when it would take the reply past its segment budget (gateway.channels.sms):
    # the "did you mean another topic" choices after an answer (actions.conversation).
    optional: bool = False


def parse(items: list[dict]) -> list[BotReply]:
    """Rasa's REST answer as replies: text and buttons, or an action's json_message. Rasa's REST
    channel sends an utterance's json_message as a message of its own, after it
    (``OutputChannel.send_response``), so the marker ``OPTIONAL`` is a message too: it marks the
    reply before it."""
    replies: list[BotReply] = []
    for item in items:
        custom = item.get("custom")
        if custom == OPTIONAL:
            if replies:
                replies[-1].optional = True
        elif item.get("text") or isinstance(custom, dict):
            replies.append(BotReply(item.get("text") or "", item.get("buttons") or [], custom))
    return replies


class Bot(Protocol):
    """What the gateway asks of the bot: ``RasaClient``, or a stand-in a test hands in."""

    async def send(self, conversation_id: str, text: str, metadata: dict) -> list[BotReply]: ...

    async def ready(self) -> bool: ...

    async def close(self) -> None: ...


def failure(exc: BaseException) -> str:
    """The reason a call failed, for ``hubguide_rasa_errors_total``."""
    if isinstance(exc, asyncio.TimeoutError):
        return "timeout"
    if isinstance(exc, (aiohttp.ContentTypeError, ValueError)):
        return "bad_answer"
    if isinstance(exc, aiohttp.ClientResponseError):
        return "http_error"
    return "unreachable"


class RasaClient:
    def __init__(self, base_url: str, token: str, timeout: float, action_server_url: str | None = None) -> None:
        self._base_url = base_url.rstrip("/")
        self._timeout = aiohttp.ClientTimeout(total=timeout)
        self._session: aiohttp.ClientSession | None = None
        self._token = token
        # Without the action server Rasa still answers, but cannot set the
        # language slot or run forms: treat that as the bot being unavailable.
        self._actions_health = action_server_url.rsplit("/", 1)[0] + "/health" if action_server_url else None
        self._actions_checked: tuple[float, bool] = (0.0, False)

    @property
    def _http(self) -> aiohttp.ClientSession:
        if self._session is None:  # made on the event loop that uses it
            self._session = aiohttp.ClientSession(timeout=self._timeout)
        return self._session

    async def _get_ok(self, url: str, timeout: float | None = None, **params) -> dict | None:
        """The JSON of a 200 answer, else None."""
        limit = aiohttp.ClientTimeout(total=timeout) if timeout else self._timeout  # the session's own by default
        try:
            async with self._http.get(url, params=params or None, timeout=limit) as response:
                return await response.json(content_type=None) if response.status == 200 else None
        except (aiohttp.ClientError, asyncio.TimeoutError, ValueError):
            return None

    async def actions_up(self) -> bool:
        if self._actions_health is None:
            return True
        checked_at, up = self._actions_checked
        now = time.monotonic()
        if now - checked_at < (5.0 if up else 1.0):
            return up
        up = await self._get_ok(self._actions_health, timeout=2.0) is not None
        self._actions_checked = (now, up)
        return up

    async def send(self, conversation_id: str, text: str, metadata: dict) -> list[BotReply]:
        """One resident turn; the replies Rasa utters in answer."""
        payload = {"sender": conversation_id, "message": text, "metadata": metadata}
        if not await self.actions_up():
            metrics.RASA_ERRORS.labels("actions_down").inc()
            raise RasaUnavailable("the action server does not answer its health check")
        started = time.perf_counter()
        try:
            async with self._http.post(self._base_url + "/webhooks/rest/webhook", json=payload) as response:
                response.raise_for_status()
                items = await response.json()
        except (asyncio.TimeoutError, aiohttp.ClientError, ValueError) as exc:
            reason = failure(exc)
            metrics.RASA_ERRORS.labels(reason).inc()
            raise RasaUnavailable("timed out" if reason == "timeout" else f"{type(exc).__name__}: {exc}") from exc
        seconds = time.perf_counter() - started
        metrics.RASA.observe(seconds)
        replies = parse(items)
        log.info("the bot answered in %.0f ms with %d message(s)", seconds * 1000, len(replies))
        return replies

    async def ready(self) -> bool:
        """True when the server is up with a model loaded."""
        status = await self._get_ok(self._base_url + "/status", token=self._token)
        return bool(status and status.get("model_file")) and await self.actions_up()

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
