"""The gateway's client for the Rasa server's REST channel."""
from __future__ import annotations

import time
from dataclasses import dataclass, field

import httpx


class RasaUnavailable(Exception):
    """The Rasa server did not answer in time, or answered with an error."""


@dataclass
class BotReply:
    text: str
    buttons: list[dict] = field(default_factory=list)
    custom: dict | None = None  # an action's json_message, e.g. {"handoff": {...}}


class RasaClient:
    def __init__(self, base_url: str, token: str, timeout: float, action_server_url: str | None = None) -> None:
        self._http = httpx.AsyncClient(base_url=base_url, timeout=timeout)
        self._token = token
        # Without the action server Rasa still answers, but cannot set the
        # language slot or run forms: treat that as the bot being unavailable.
        self._actions_health = action_server_url.rsplit("/", 1)[0] + "/health" if action_server_url else None
        self._actions_checked: tuple[float, bool] = (0.0, False)

    async def actions_up(self) -> bool:
        if self._actions_health is None:
            return True
        checked_at, up = self._actions_checked
        now = time.monotonic()
        if now - checked_at < (5.0 if up else 1.0):
            return up
        try:
            up = (await self._http.get(self._actions_health, timeout=2.0)).status_code == 200
        except httpx.HTTPError:
            up = False
        self._actions_checked = (now, up)
        return up

    async def send(self, conversation_id: str, text: str, metadata: dict) -> list[BotReply]:
        """One resident turn; the replies Rasa utters in answer."""
        payload = {"sender": conversation_id, "message": text, "metadata": metadata}
        if not await self.actions_up():
            raise RasaUnavailable("the action server does not answer its health check")
        try:
            response = await self._http.post("/webhooks/rest/webhook", json=payload)
            response.raise_for_status()
        except httpx.HTTPError as exc:
            raise RasaUnavailable(f"{type(exc).__name__}: {exc}") from exc
        return [
            BotReply(item.get("text") or "", item.get("buttons") or [], item.get("custom"))
            for item in response.json()
            if item.get("text") or isinstance(item.get("custom"), dict)
        ]

    async def ready(self) -> bool:
        """True when the server is up with a model loaded."""
        try:
            response = await self._http.get("/status", params={"token": self._token})
        except httpx.HTTPError:
            return False
        return response.status_code == 200 and bool(response.json().get("model_file")) and await self.actions_up()

    async def close(self) -> None:
        await self._http.aclose()
