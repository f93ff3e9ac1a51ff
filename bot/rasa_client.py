"""The gateway's client for the Rasa server's REST channel."""
from __future__ import annotations

from dataclasses import dataclass, field

import httpx


class RasaUnavailable(Exception):
    """The Rasa server did not answer in time, or answered with an error."""


@dataclass
class BotReply:
    text: str
    buttons: list[dict] = field(default_factory=list)


class RasaClient:
    def __init__(self, base_url: str, token: str, timeout: float) -> None:
        self._http = httpx.AsyncClient(base_url=base_url, timeout=timeout)
        self._token = token

    async def send(self, conversation_id: str, text: str, metadata: dict) -> list[BotReply]:
        """One resident turn; the replies Rasa utters in answer."""
        payload = {"sender": conversation_id, "message": text, "metadata": metadata}
        try:
            response = await self._http.post("/webhooks/rest/webhook", json=payload)
            response.raise_for_status()
        except httpx.HTTPError as exc:
            raise RasaUnavailable(f"{type(exc).__name__}: {exc}") from exc
        return [
            BotReply(item.get("text", ""), item.get("buttons") or [])
            for item in response.json()
            if item.get("text")
        ]

    async def ready(self) -> bool:
        """True when the server is up with a model loaded."""
        try:
            response = await self._http.get("/status", params={"token": self._token})
        except httpx.HTTPError:
            return False
        return response.status_code == 200 and bool(response.json().get("model_file"))

    async def close(self) -> None:
        await self._http.aclose()
