"""One resident turn: decide the language, ask the bot, queue the replies.

Each resident's messages are handled one at a time, in the order they were
stored; different residents are handled concurrently.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
from collections import defaultdict
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.orm import joinedload

from common import crisis, hubs, keywords, langid
from common.languages import explicit_choice
from common.redact import redact
from common.texts import language_menu, text
from gateway import db, erasure, ordering, promise
from gateway.db import session_scope
from gateway.events import Bus, Event
from gateway.handoff import (
    HandoffError,
    HandoffRequest,
    alert_coordinators,
    alert_crisis,
    latest_handoff,
    open_crisis,
    open_handoff,
)
from gateway.handoff import create as create_handoff
from gateway.models import Handoff, Hub, Message, aware, utcnow
from gateway.outbox import Delivery, Outbox
from gateway.rasa_client import Bot, BotReply, RasaUnavailable
from gateway.replies import button_choice, queue_replies
from gateway.settings import TURNS_AT_ONCE
from gateway.store import HubFacts, queued

log = logging.getLogger("hubguide.conversation")

# Inbound messages in these states still need the bot.
UNANSWERED = ("received", "bot_unavailable")
# A message still "received" this long after it came has no live turn: its replica died mid-turn
# (a dead replica's hold on the resident runs out after ordering.LEASE_SECONDS).
ABANDONED = timedelta(seconds=30)
# What the bot is given for an empty message: its "not understood" answer.
EMPTY = "/nlu_fallback"
# NLU reads the start of a long message; the whole message stays stored.
MAX_BOT_TEXT = 1000
# Turns under way at once in one replica; the others wait their turn, their messages stored and
# acknowledged. Without a bound, a burst of 150 residents put 150 turns on the event loop at once,
# each waking it several times, and a webhook waited behind them all: acknowledgement p99 over
# 200 ms on two cores (bench/cluster_load.py, the stand-in bot). A few turns at once keep the bot
# busy (a turn mostly waits for it), so throughput does not suffer; and a slow bot is asked by
# this many turns at a time, not by the whole backlog, each waiting out its timeout. The setting
# TURNS_AT_ONCE sets it per replica (gateway/settings.py, where its default is).


@dataclass
class Plan:
    """What ``_prepare`` decided for one message: ``language`` is set only
    when the bot is to be asked; ``said`` is what the bot is given, with phone
    and personal identity numbers, e-mail addresses and cards masked
    (common.redact): Rasa keeps it in its tracker store."""

    said: str = ""
    language: str | None = None
    conversation_id: str = ""
    channel: str = ""
    first_attempt: bool = True
    prefix: list[BotReply] = field(default_factory=list)
    events: list[Event] = field(default_factory=list)
    erase: tuple[int, str] | None = None  # (resident, address): the resident confirmed their erasure
    queued: bool = False  # a message to someone (a reply, a coordinator's alert) was queued and committed
    metadata: dict = field(default_factory=dict)  # what Rasa is told beside the message (rasa_metadata)


class Conversations:
    def __init__(
        self,
        rasa: Bot,
        outbox: Outbox,
        events: Bus | None = None,
        public_base_url: str = "",
        locks: ordering.ResidentLocks | None = None,
        turns_at_once: int = TURNS_AT_ONCE,
    ) -> None:
        self.rasa = rasa
        self.outbox = outbox
        self.events = events or Bus()
        self.public_base_url = public_base_url
        self._locks: defaultdict[int, asyncio.Lock] = defaultdict(asyncio.Lock)
        # Shared with the other replicas when given Redis (gateway.services.build does, with REDIS_URL);
        # without, one process: nothing to share.
        self.resident_locks = locks or ordering.ResidentLocks()
        self._in_flight: set[int] = set()
        self._failed: set[int] = set()  # turns that failed here: retry_unanswered takes them again
        self._tasks: set[asyncio.Task] = set()
        self._slots = asyncio.Semaphore(turns_at_once)

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

    @contextlib.asynccontextmanager
    async def alone(self, resident_id: int) -> AsyncIterator[None]:
        """No other turn of this resident runs meanwhile, in this process (first come, first
        served) or in another replica (gateway.ordering): a turn, or an erasure from the inbox."""
        lock = self._locks[resident_id]
        try:
            async with lock, self.resident_locks.held(resident_id):
                yield
        finally:
            if not lock.locked() and not lock._waiters:  # forget idle residents
                self._locks.pop(resident_id, None)

    async def _handle(self, message_id: int, resident_id: int, chosen: str | None) -> None:
        try:
            # The resident's lock first: a turn that waits for the resident's earlier one takes no slot.
            async with self.alone(resident_id), self._slots:
                # The resident's earlier messages first, oldest first: another replica's turn for
                # one may still wait for the lock, or one waits for its retry (bot unavailable).
                earlier, plan = await db.run(self._oldest_first, resident_id, message_id, chosen)
                for row in earlier:
                    await self._turn(row.id, chosen if row.id == message_id else None, plan)
                    plan = None  # the next one's is made when its turn comes
                    if row.id != message_id and await db.run(ordering.holds_back, row.id, row.created_at, UNANSWERED):
                        break  # the bot did not answer it: the later ones wait for its retry, in order
        except Exception:
            log.exception("turn for message %s failed; it stays stored for retry", message_id)
            self._failed.add(message_id)
        finally:
            self._in_flight.discard(message_id)

    def _oldest_first(self, resident_id: int, message_id: int, chosen: str | None) -> tuple[list, Plan | None]:
        """The resident's unanswered messages up to ``message_id``, oldest first, and the oldest
        one's plan, read in one transaction (a transaction less for each message)."""
        with session_scope() as session:
            earlier = list(ordering.unanswered(session, resident_id, message_id, UNANSWERED))
            if not earlier:
                return earlier, None
            oldest = earlier[0].id
            plan = self._plan(session, oldest, chosen if oldest == message_id else None)
        plan.queued = queued(session)  # once committed
        return earlier, plan

    async def _turn(self, message_id: int, chosen: str | None, plan: Plan | None = None) -> None:
        # Database and detection work runs in a worker thread, so the event loop
        # stays free to acknowledge webhooks at once whatever the bot is doing.
        if plan is None:
            plan = await db.run(self._prepare, message_id, chosen)
        # The outbox is woken only when something was queued: for a message the bot answers, that
        # is its answer, after the call (a wake now found nothing to send: a transaction for nothing).
        self._emit(plan.events, wake=plan.queued)
        if plan.erase is not None:
            await self._erase(plan, *plan.erase)
            return
        if plan.language is None:  # handled without the bot (keyword, menu, coordinator...)
            return
        try:
            replies = await self.rasa.send(plan.conversation_id, plan.said[:MAX_BOT_TEXT], plan.metadata)
            if not [r for r in replies if r.text]:
                raise RasaUnavailable("no reply (is the action server down?)")
        except RasaUnavailable as exc:
            log.warning("bot unavailable for message %s: %s", message_id, exc)
            await db.run(self._apologise, message_id, plan, str(exc))
            self.outbox.wake()
            return
        # Written again on a new connection when the server closed the one it got: Rasa has
        # answered, and a lost answer would be asked for again (retry_unanswered).
        events = await db.run(db.again_if_closed, self._answer, message_id, plan, replies)
        self._emit(events)

    async def _erase(self, plan: Plan, resident_id: int, address: str) -> None:
        """Erase the resident who sent their code, then say so on their channel directly: a stored
        message would keep their number. If the erasure fails, the code stays stored and answered
        again (``retry_unanswered``) while it is good."""
        erased = await db.in_session(
            functools.partial(erasure.erase, action=erasure.ERASE_KEYWORD), resident_id, erasure.tracker_store()
        )
        self._emit(
            [Event("handoff_updated", hub, {"handoff": handoff}) for handoff, hub in erased.handoffs] if erased else []
        )
        done = Delivery(0, plan.channel, address, text("erase_done", plan.language), None)
        try:
            await self.outbox.senders[plan.channel].send(done)
        except Exception as exc:  # the erasure stands; only its confirmation is lost (no number in the log)
            log.warning("the confirmation of an erasure was not delivered (%s)", type(exc).__name__)

    def _emit(self, events: list[Event], wake: bool = True) -> None:
        """On the event loop: publish what a worker thread decided, and deliver."""
        for event in events:
            self.events.publish(event)
        if wake:
            self.outbox.wake()

    def _prepare(self, message_id: int, chosen: str | None) -> Plan:
        with session_scope() as session:
            plan = self._plan(session, message_id, chosen)
        plan.queued = queued(session)  # once committed
        return plan

    def _plan(self, session, message_id: int, chosen: str | None) -> Plan:
        """Route a stored message: keywords, opt-out, media, an open handoff and
        the language menu are handled here; anything else is planned for the bot."""
        plan = Plan()
        message = session.get(Message, message_id, options=[joinedload(Message.resident)])
        if message is None or message.status not in UNANSWERED:
            return plan
        resident = message.resident
        assert resident is not None  # an inbound message is always a resident's (gateway.intake)
        plan.first_attempt = message.status == "received"
        found = crisis.detect(message.body)
        if found is not None:  # before anything else, during a handoff and after STOP too
            self._crisis(session, message, resident, found, plan)
            return plan
        keyword = keywords.match(message.body)
        if self._erasure(session, message, resident, keyword, plan):
            return plan
        if keyword and keyword[0] in ("stop", "start"):
            self._opt(session, message, resident, keyword)
            handoff = open_handoff(session, resident)
            if handoff is not None:  # an open inbox page shows at once that replies cannot reach them
                plan.events.append(Event("handoff_updated", handoff.hub_id, {"handoff": handoff.id}))
            return plan
        if resident.opted_out:  # kept, never answered: they asked for no more messages
            message.status = "opted_out"
            return plan
        if not message.body.strip() and (message.extra or {}).get("media"):
            message.status = "answered"
            queue_replies(session, resident, [BotReply(text("media_only", resident.language))], sender="system")
            return plan
        if keyword:  # help: what this is and how to stop, then the bot's menu
            plan.prefix.append(BotReply(text("help_keyword", resident.language or keyword[1])))
        latest = latest_handoff(session, resident)
        handoff = latest if latest is not None and latest.status != "closed" else None
        if handoff is not None and not keyword and not explicit_choice(message.body):
            message.status, message.handoff_id = "to_coordinator", handoff.id
            plan.events.append(Event("message_in", handoff.hub_id, {"handoff": handoff.id}))
            return plan
        said = button_choice(session, resident, message.body) or message.body.strip() or EMPTY
        language: str | None
        if resident.language and len(said.split()) <= 3 and (hubs.match_place(said) or hubs.names_shared_place(said)):
            language = resident.language  # "Hjällbo" is the answer to our question, not Swedish
        else:
            language = langid.decide(said, resident.language, chosen)
        if language is None:  # a language we do not speak: the menu, never a guess
            message.status = "language_menu"
            menu, buttons = language_menu()
            queue_replies(session, resident, [BotReply(menu, buttons)], sender="system")
            return plan
        # Set only when it changes: setting an attribute, even to the value it has, makes the
        # session flush (its whole unit of work, for no statement) before the next query.
        if resident.language != language:
            resident.language = language
        if message.language != language:
            message.language = language
        if handoff is not None:  # help or a language keyword while a coordinator has the floor
            message.status = "keyword"
            municipality = handoff.hub.municipality if handoff.hub is not None else None  # Borås: its staff
            said_open = text("handoff_open", language, municipality)
            queue_replies(session, resident, plan.prefix or [BotReply(said_open)], sender="system")
            return plan
        plan.said, plan.language = redact(said), language
        plan.conversation_id, plan.channel = resident.pseudonym, resident.channel
        plan.metadata = rasa_metadata(session, resident, language, latest)
        return plan

    def _crisis(self, session, message, resident, found: crisis.Crisis, plan: Plan) -> None:
        """112 and the right line in the language the resident wrote in, and a
        person alerted; the bot does not answer a crisis with a topic."""
        language = found.language
        handoff, state = open_crisis(session, resident, found.kind, language, message.body)
        message.status, message.language, message.handoff_id = "crisis", language, handoff.id
        queue_replies(
            session, resident, [BotReply(text(f"crisis_{found.kind}", language))], sender="system", notice=False
        )
        if state != "already":
            alert_crisis(session, handoff, self.public_base_url)
        kind = {"created": "handoff_created", "flagged": "handoff_updated"}.get(state, "message_in")
        plan.events.append(Event(kind, handoff.hub_id, {"handoff": handoff.id}))

    def _apologise(self, message_id: int, plan: Plan, error: str) -> None:
        with session_scope() as session:
            message = session.get(Message, message_id, options=[joinedload(Message.resident)])
            if message is None:  # erased meanwhile
                return
            message.status, message.error = "bot_unavailable", error[:500]
            if plan.first_attempt:  # one apology per message, not per retry
                queue_replies(
                    session,
                    message.resident,
                    plan.prefix + [BotReply(text("bot_unavailable", plan.language))],
                    sender="system",
                )

    def _answer(self, message_id: int, plan: Plan, replies: list[BotReply]) -> list[Event]:
        events: list[Event] = []
        with session_scope() as session:
            message = session.get(Message, message_id, options=[joinedload(Message.resident)])
            if message is None or message.status not in UNANSWERED:  # erased meanwhile, or a first
                return events  # try's commit went through before its connection was lost
            message.status, message.error = "answered", None
            resident = message.resident
            try:
                replies, created = self._open_handoffs(session, resident, replies)
            except HandoffError as exc:
                log.error("handoff for message %s not stored: %s", message_id, exc)
                replies, created = [BotReply(text("handoff_failed", plan.language))], None
            queue_replies(session, resident, plan.prefix + replies)
            if created is not None:
                events.append(Event("handoff_created", created[1], {"handoff": created[0]}))
        return events

    def _open_handoffs(self, session, resident, replies: list[BotReply]):
        """Store the handoff a turn asks for (``{"handoff": ...}`` from
        action_handoff) before the resident is told it is done, and when to
        expect an answer, from the hub's facts as they are now (gateway.promise)."""
        created, kept, facts = None, [], None
        for reply in replies:
            payload = (reply.custom or {}).get("handoff")
            if isinstance(payload, dict):
                handoff = create_handoff(session, resident, HandoffRequest.from_payload(payload))
                alert_coordinators(session, handoff, self.public_base_url)
                created = (handoff.id, handoff.hub_id)
                facts = HubFacts.of(handoff.hub) if handoff.hub is not None else None
            if reply.text:
                kept.append(reply)
        if facts is not None:
            kept = promise.add(kept, facts, resident.language, resident.channel)
        return kept, created

    def _opt(self, session, message, resident, keyword: tuple[str, str]) -> None:
        """STOP and START: recorded, confirmed once (Twilio confirms its own
        English words over SMS, and would refuse ours after a STOP)."""
        kind, keyword_language = keyword
        message.status = "keyword"
        resident.opted_out = kind == "stop"
        resident.opted_out_at = utcnow() if kind == "stop" else None
        if resident.channel == "sms" and keywords.handled_by_twilio(message.body):
            return
        confirmation = text("opted_out" if kind == "stop" else "opted_in", resident.language or keyword_language)
        queue_replies(session, resident, [BotReply(confirmation)], sender="system", notice=False)

    def _erasure(self, session, message, resident, keyword: tuple[str, str] | None, plan: Plan) -> bool:
        """The erase keyword (a code to send back) and the answer to it (gateway.erasure):
        True when the message is handled. Also after STOP: the replies are the system's."""
        now = utcnow()
        language = resident.language or (keyword[1] if keyword else None)
        verdict = erasure.answer(resident, message.body, now)
        if verdict == "confirmed":  # the message stays unanswered until the erasure is done
            plan.erase, plan.channel, plan.language = (resident.id, resident.address), resident.channel, language
            return True
        if verdict in ("late", "cancelled") and not keyword:  # a keyword drops the request quietly
            queue_replies(session, resident, [BotReply(text("erase_cancelled", language))], sender="system")
        if keyword and keyword[0] == "erase":
            message.status, resident.language = "keyword", language
            confirm = text("erase_confirm", language).format(
                code=erasure.request(resident, now), minutes=int(erasure.CONFIRM.total_seconds() // 60)
            )
            queue_replies(session, resident, [BotReply(confirm)], sender="system")
            return True
        if verdict == "late":  # the code, too late: told, and not given to the bot
            message.status = "keyword"
            return True
        return False

    async def retry_unanswered(self) -> int:
        """Submit stored messages the bot has not answered that no turn is handling, oldest first,
        once the bot is ready: those the bot failed on (an outage), those whose turn failed here,
        those that came over ABANDONED ago (their replica died), and the resident's others with
        them, in order. Not the messages other replicas' turns are handling right now: every
        replica runs this every RETRY_UNANSWERED_SECONDS, and each of those, taken again, waited
        on the resident's lock in Redis (polling it every 50 ms) to find it answered; under the
        cluster bench's load, about a hundred a replica each time. Returns how many."""
        rows = await db.run(_unanswered)
        failed, self._failed = self._failed, set()
        stale = utcnow() - ABANDONED
        due = {
            r.resident_id
            for r in rows
            if r.status == "bot_unavailable" or r.id in failed or aware(r.created_at) < stale
        }
        pending = [(r.id, r.resident_id) for r in rows if r.resident_id in due and r.id not in self._in_flight]
        if not pending or not await self.rasa.ready():
            self._failed |= failed & {r.id for r in rows}  # still unanswered: next time
            return 0
        for message_id, resident_id in pending:
            self.submit(message_id, resident_id)
        return len(pending)


def rasa_metadata(session, resident, language: str, latest: Handoff | None) -> dict:
    """What Rasa is given beside a resident's message: the language decided here, the channel,
    and the slug of the hub of the resident's latest handoff with a hub, if any
    (actions/municipality.py: a resident handed over to Borås's staff before is answered with
    Borås's services). ``latest``: their latest handoff (``latest_handoff``). Never the number."""
    metadata = {"language": language, "channel": resident.channel}
    if latest is None:
        return metadata
    hub = (
        latest.hub.slug
        if latest.hub is not None
        else session.scalars(  # a crisis whose hub was not known: the one before it, if any
            select(Hub.slug)
            .join(Handoff, Handoff.hub_id == Hub.id)
            .where(Handoff.resident_id == resident.id)
            .order_by(Handoff.id.desc())
            .limit(1)
        ).first()
    )
    if hub is not None:
        metadata["hub"] = hub
    return metadata


def _unanswered() -> list:
    with session_scope() as session:
        return list(
            session.execute(
                select(Message.id, Message.resident_id, Message.status, Message.created_at)
                .where(Message.direction == "in", Message.status.in_(UNANSWERED))
                .order_by(Message.id)
            ).all()
        )
