"""The gateway's collaborators, made in one place from the settings.

``build(settings)`` makes the real ones (``uvicorn gateway.app:app`` and
``python -m stack`` use those); a test hands ``create_app`` the same with a
stand-in for a part that cannot run there, e.g. ``build(settings, rasa=...)``
for a bot without a trained model, or ``sms=...`` for a sender that records.
With REDIS_URL set, the web chat's rooms and limits and the inbox's live events
are shared with every other replica through Redis (gateway/shared_state.py).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass

from gateway import ordering
from gateway.channels.sms import SmsSender
from gateway.channels.web import WebChannel
from gateway.conversation import Conversations
from gateway.db import engine
from gateway.events import Bus, RedisBus
from gateway.intake import Intake
from gateway.outbox import Outbox, Sender
from gateway.rasa_client import Bot, RasaClient
from gateway.retention import Retention
from gateway.settings import Settings

log = logging.getLogger("hubguide.gateway")

RETRY_UNANSWERED_SECONDS = 10.0


@dataclass(frozen=True)
class Services:
    rasa: Bot
    web: WebChannel  # a channel in and a sender out: the app is served through it
    outbox: Outbox
    events: Bus
    conversations: Conversations
    intake: Intake
    retention: Retention | None = None  # deletes what is past its retention period, at start and daily

    @contextlib.asynccontextmanager
    async def running(self) -> AsyncIterator[Services]:
        """Intake, delivery, retries and retention run inside; leaving finishes the turns
        under way, delivers what is due and closes the bot's connection."""
        self.intake.start()
        self.web.rooms.start()
        tasks = [asyncio.create_task(self.outbox.run()), asyncio.create_task(_retry_loop(self.conversations))]
        if self.retention is not None:
            tasks.append(asyncio.create_task(self.retention.daily()))
        tasks.append(asyncio.create_task(self.events.run()))  # stopped last: the others' events still go out
        yield self
        self.intake.stop()  # after the server stopped taking requests: nothing more arrives
        await self.conversations.idle()
        await self.outbox.deliver_due()
        for task in tasks:
            await _stop(task)
        await self.web.rooms.close()
        await self.conversations.resident_locks.close()
        await self.rasa.close()


def build(settings: Settings, *, rasa: Bot | None = None, sms: Sender | None = None) -> Services:
    """The gateway's collaborators from ``settings``; ``rasa`` and ``sms`` replace the
    Rasa client and the Twilio sender."""
    rasa = rasa or RasaClient(
        settings.rasa_url,
        settings.rasa_token.get_secret_value(),
        settings.rasa_timeout_seconds,
        settings.action_server_url,
    )
    web = WebChannel(redis_url=settings.redis_url)
    outbox = Outbox({"sms": sms or SmsSender(settings), "web": web})
    events = RedisBus(settings.redis_url) if settings.redis_url else Bus()
    locks = ordering.ResidentLocks(settings.redis_url)  # one turn per resident at a time, across replicas
    conversations = Conversations(
        rasa, outbox, events, settings.public_base_url, locks=locks, turns_at_once=settings.turns_at_once
    )
    return Services(rasa, web, outbox, events, conversations, Intake(engine()), Retention(settings))


async def _stop(task: asyncio.Task) -> None:
    """Cancel ``task`` and wait until it is done."""
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task


async def _retry_loop(conversations: Conversations) -> None:
    while True:
        try:
            count = await conversations.retry_unanswered()
            if count:
                log.info("retrying %d unanswered message(s)", count)
        except Exception:
            log.exception("retrying unanswered messages failed")
        await asyncio.sleep(RETRY_UNANSWERED_SECONDS)
