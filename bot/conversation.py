"""One resident turn: decide the language, ask the bot, queue the replies.

Each resident's messages are handled one at a time, in the order they were
stored; different residents are handled concurrently.
"""
from __future__ import annotations

import asyncio
import logging
from collections import defaultdict

from sqlalchemy import select

from bot import langid
from bot.db import session_scope
from bot.models import Message
from bot.outbox import Outbox
from bot.rasa_client import BotReply, RasaClient, RasaUnavailable
from bot.store import queue_outbound
from bot.texts import language_menu, text
from channels import sms

log = logging.getLogger("hubguide.conversation")

# Inbound messages in these states still need the bot.
UNANSWERED = ("received", "bot_unavailable")


class Conversations:
    def __init__(self, rasa: RasaClient, outbox: Outbox) -> None:
        self.rasa = rasa
        self.outbox = outbox
        self._locks: defaultdict[int, asyncio.Lock] = defaultdict(asyncio.Lock)
        self._in_flight: set[int] = set()
        self._tasks: set[asyncio.Task] = set()

    def submit(self, message_id: int, resident_id: int, chosen_language: str | None = None) -> None:
        """Handle a stored inbound message in the background."""
        if message_id in self._in_flight:
            return
        self._in_flight.add(message_id)
        task = asyncio.create_task(self._handle(message_id, resident_id, chosen_language))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def idle(self) -> None:
        """Wait until every submitted turn is done (shutdown, tests)."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)

    async def _handle(self, message_id: int, resident_id: int, chosen: str | None) -> None:
        lock = self._locks[resident_id]
        try:
            async with lock:
                await self._turn(message_id, chosen)
        except Exception:
            log.exception("turn for message %s failed; it stays stored for retry", message_id)
        finally:
            self._in_flight.discard(message_id)
            if not lock.locked() and not lock._waiters:  # forget idle residents
                self._locks.pop(resident_id, None)

    async def _turn(self, message_id: int, chosen: str | None) -> None:
        with session_scope() as session:
            message = session.get(Message, message_id)
            if message is None or message.status not in UNANSWERED:
                return
            resident = message.resident
            first_attempt = message.status == "received"
            said = button_choice(session, resident, message.body) or message.body
            language = langid.decide(said, resident.language, chosen)
            if language is None:  # a language we do not speak: the menu, never a guess
                message.status = "language_menu"
                menu, buttons = language_menu()
                queue_replies(session, resident, [BotReply(menu, buttons)], sender="system")
                self.outbox.wake()
                return
            resident.language = message.language = language
            conversation_id, channel = resident.pseudonym, resident.channel
        metadata = {"language": language, "channel": channel}
        try:
            replies = await self.rasa.send(conversation_id, said, metadata)
        except RasaUnavailable as exc:
            log.warning("bot unavailable for message %s: %s", message_id, exc)
            with session_scope() as session:
                message = session.get(Message, message_id)
                message.status, message.error = "bot_unavailable", str(exc)[:500]
                if first_attempt:  # one apology per message, not per retry
                    queue_outbound(session, message.resident, text("bot_unavailable", language),
                                   sender="system")
            self.outbox.wake()
            return
        with session_scope() as session:
            message = session.get(Message, message_id)
            message.status, message.error = "answered", None
            queue_replies(session, message.resident, replies)
        self.outbox.wake()

    async def retry_unanswered(self) -> int:
        """Submit stored messages the bot has not answered (after an outage or a
        restart), oldest first, once the bot is ready. Returns how many."""
        with session_scope() as session:
            pending = session.execute(
                select(Message.id, Message.resident_id)
                .where(Message.direction == "in", Message.status.in_(UNANSWERED))
                .order_by(Message.id)
            ).all()
        pending = [p for p in pending if p.id not in self._in_flight]
        if not pending or not await self.rasa.ready():
            return 0
        for message_id, resident_id in pending:
            self.submit(message_id, resident_id)
        return len(pending)


def queue_replies(session, resident, replies: list[BotReply], sender: str = "bot") -> None:
    """Queue a turn's replies: one SMS for the whole turn (cheaper, and in
    order), or one web message per reply with its quick-reply buttons."""
    if resident.channel == "sms":
        body, buttons = sms.render(replies)
        if body:
            queue_outbound(session, resident, body, sender=sender,
                           extra={"buttons": buttons} if buttons else None)
        return
    for reply in replies:
        queue_outbound(session, resident, reply.text, sender=sender,
                       extra={"buttons": reply.buttons} if reply.buttons else None)


def button_choice(session, resident, body: str) -> str | None:
    """The payload of the button a bare number chooses ("2"), when the last
    message the resident got had buttons; otherwise None."""
    number = body.strip().rstrip(".)")
    if not number.isdigit():
        return None
    last = session.scalars(
        select(Message).where(Message.resident_id == resident.id, Message.direction == "out")
        .order_by(Message.id.desc()).limit(1)
    ).first()
    buttons = (last.extra or {}).get("buttons") if last is not None else None
    if buttons and 1 <= int(number) <= len(buttons):
        return buttons[int(number) - 1]["payload"]
    return None
