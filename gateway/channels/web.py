"""The web chat: a socket.io endpoint speaking the rasa-webchat protocol.

``session_request``/``session_confirm`` open a conversation (kept across page
reloads by the widget's stored session id), ``user_uttered`` carries what the
resident writes (with the widget's ``customData``, where the language picker
puts ``language``), ``bot_uttered`` carries replies and quick-reply buttons.
``session_end`` is ours, not the widget's: the page's "end conversation" button.

Held against the internet and against the next person at a shared computer
(the security review's M5 and M6):

- only the gateway's own page (PUBLIC_BASE_URL) and the pages in WEB_CHAT_ORIGINS
  may open a socket: engine.io checks the Origin header against them;
- a session id is issued here and signed (itsdangerous, SECRET_KEY, a salt of
  its own); one a client chose or altered gets a fresh one, and a socket is in
  one conversation at a time;
- a conversation nobody has written in for WEB_CHAT_IDLE_MINUTES is over (its
  id starts a fresh one), and an ended one is over at once;
- ``limits`` counts events per socket, per conversation and per address; a
  message over a limit is not taken in, and the resident is told so in the
  page's language, to send it again (storing it to answer later would keep
  the flood's cost: the database and the bot still take every message).
"""

from __future__ import annotations

import base64
import functools
import hashlib
import hmac
import html
import logging
import re
import time
import uuid
from pathlib import Path
from string import Template
from typing import Any

import httpx
import socketio
from itsdangerous import BadData, TimestampSigner
from limits import RateLimitItem, parse
from limits.aio.storage import Storage
from limits.aio.strategies import MovingWindowRateLimiter
from sqlalchemy import select, update

from common.languages import DEFAULT_LANGUAGE, LANGUAGES
from common.paths import ROOT
from common.texts import text
from gateway import db, logs, proxies, shared_state
from gateway.channels import rooms
from gateway.channels.gsm import MAX_BODY
from gateway.db import session_scope
from gateway.events import Event
from gateway.intake import Inbound
from gateway.models import Handoff, Message, Resident, aware, utcnow
from gateway.outbox import Delivery, NotConnected
from gateway.settings import Settings

log = logging.getLogger("hubguide.web")

PAGE = Template((Path(__file__).parent / "web_page.html").read_text(encoding="utf-8"))
# The widget's self-contained bundle, installed from the npm registry (package.json).
WIDGET = ROOT / "node_modules" / "rasa-webchat" / "lib" / "index.js"
MAX_MESSAGE = MAX_BODY  # the same limit as SMS: a chat message is not a document

SALT = "hubguide web chat session"  # a new salt would end every web conversation at once
MAX_SESSION_ID = 200  # a signed id is about 75 characters; a longer one is not even checked
SESSION_LIMIT = parse("10/10 seconds")  # messages in one conversation: faster than anyone types
SOCKET_LIMIT = parse("20/10 seconds")  # every event of one socket, its session requests too
# An ended conversation's resident answers to this prefix and the id: the messages stay for the
# hub's records (and retention), the id brings nothing back.
ENDED = "ended:"
LEFT = "the resident ended the chat"  # the error of a reply that waited for them in vain


class WebChannel:
    def __init__(self, storage: Storage | None = None, redis_url: str = "") -> None:
        """With ``redis_url`` (REDIS_URL) every replica shares the limits' counts, the rooms and
        the replies through that Redis, else they stay in this process; ``storage`` keeps the
        limits' counts (``limits.aio``) instead."""
        self.rooms = rooms.manager(redis_url)  # self.rooms.reach(...): a reply, and whether anyone got it
        self.sio = socketio.AsyncServer(
            async_mode="asgi", cors_allowed_origins=self.allowed_origin, client_manager=self.rooms
        )
        self.limiter = MovingWindowRateLimiter(storage if storage is not None else shared_state.rate_limits(redis_url))
        self.clock = time.time  # tests move it
        self.app_state: Any = None  # the app's state, set by the gateway; its settings are read as used
        for event, handler in (
            ("connect", self.connect),
            ("session_request", self.session_request),
            ("user_uttered", self.user_uttered),
            ("session_end", self.session_end),
        ):
            self.sio.on(event, handler)

    def asgi(self, other_app) -> socketio.ASGIApp:
        return socketio.ASGIApp(self.sio, other_asgi_app=other_app, socketio_path="socket.io")

    @property
    def settings(self) -> Settings:
        return self.app_state.settings

    def allowed_origin(self, origin: str | None, environ: dict) -> bool:
        """engine.io asks for each request that names an Origin (a browser's)."""
        return origin is not None and self.app_state is not None and origin in origins(self.settings)

    async def connect(self, sid: str, environ: dict, auth=None) -> bool:
        address = await client_address(environ.get("asgi.scope") or {}, self.settings.trusted_proxies)
        if not await self.limiter.hit(address_limit(self.settings.web_chat_address_limit), "web-address", address):
            log.info("web chat: a connection refused, its address is over the limit")
            return False
        await self.sio.save_session(sid, {"address": address})
        return True

    async def session_request(self, sid: str, data) -> None:
        session = await self.sio.get_session(sid)
        if not await self.allowed(sid, session):
            return  # no confirmation yet: the widget waits, and nothing the resident wrote is lost
        requested = field(data, "session_id")
        last = await self.last_activity(requested)
        if last is None:
            await self.start(sid, session)
            return
        await self.join(sid, session, requested, last)
        # Replies that waited for this resident to come back go out now.
        await db.run(requeue_waiting, requested)
        self.app_state.outbox.wake()

    async def user_uttered(self, sid: str, data) -> None:
        logs.begin(resident_message=True)  # a request id and the reply's clock for this message, as a webhook's
        session = await self.sio.get_session(sid)
        session_id, said = session.get("session_id"), field(data, "message")
        if not session_id or not isinstance(said, str):
            return  # no session_request yet, or not a message: nothing to store
        chosen = field(field(data, "customData"), "language")
        chosen = chosen if isinstance(chosen, str) and chosen in LANGUAGES else None  # else decided as usual
        if not await self.allowed(sid, session, session_id):
            await self.sio.emit("bot_uttered", {"text": text("web_slow_down", chosen)}, to=sid)
            return
        if self.expired(session["last"]):  # by this socket's count: the database knows of other tabs, processes
            last = await self.last_activity(session_id)
            if last is None:  # over: a fresh conversation, and the page starts afresh on its confirmation
                await self.start(sid, session)
                return
            session["last"] = last
        stored = await self.app_state.intake.store(Inbound("web", session_id, said[:MAX_MESSAGE]))
        session["last"] = self.clock()
        await self.sio.save_session(sid, session)
        self.app_state.conversations.submit(stored.message_id, stored.resident_id, chosen_language=chosen)

    async def session_end(self, sid: str, data=None) -> bool:
        """The page's "end conversation": its id brings nothing back, and every socket
        still in it (another tab) gets a fresh conversation. True when done."""
        session = await self.sio.get_session(sid)
        if not await self.allowed(sid, session):
            return False
        session_id = session.pop("session_id", None)
        await self.sio.save_session(sid, session)
        if session_id:
            await self.sio.leave_room(sid, session_id)
            left_open = await db.run(end_conversation, session_id)
            for other, _ in list(self.sio.manager.get_participants("/", session_id)):
                await self.start(other, await self.sio.get_session(other))
            for handoff_id, hub_id in left_open:  # an open inbox page shows that the resident left
                self.app_state.events.publish(Event("handoff_updated", hub_id, {"handoff": handoff_id}))
        return True

    async def allowed(self, sid: str, session: dict, session_id: str | None = None) -> bool:
        """Counts an event of this socket, its address (and its conversation, for a message);
        False when one of them is over its limit."""
        checks = [
            (SOCKET_LIMIT, "web-socket", sid),
            (address_limit(self.settings.web_chat_address_limit), "web-address", session.get("address", "")),
        ]
        if session_id:
            checks.append((SESSION_LIMIT, "web-session", session_id))
        for item, *key in checks:
            if not await self.limiter.hit(item, *key):
                return False
        return True

    async def last_activity(self, session_id) -> float | None:
        """When the conversation ``session_id`` names was last written in (or issued, if never),
        or None when this server did not issue it, it ended, or it has been idle too long."""
        issued = self.issued_at(session_id)
        if issued is None:
            return None
        ended, written = await db.run(last_written, session_id)
        last = max(issued, written or 0.0)
        return None if ended or self.expired(last) else last

    def expired(self, last: float) -> bool:
        return self.clock() - last > self.settings.web_chat_idle_minutes * 60

    def issued_at(self, session_id) -> float | None:
        """When this server signed ``session_id``; None for an id it did not (chosen, altered)."""
        if not isinstance(session_id, str) or len(session_id) > MAX_SESSION_ID:
            return None
        signer = self.signer()
        try:
            issued = signer.unsign(session_id, return_timestamp=True)[1]
        except BadData:
            return None
        # base64 lets the signature's last letter be spelt a few ways: only the spelling issued
        # here names a conversation (another would be a second one for the same holder).
        payload, _, signature = session_id.encode().rpartition(signer.sep)
        return issued.timestamp() if hmac.compare_digest(signer.get_signature(payload), signature) else None

    def signer(self) -> TimestampSigner:
        return TimestampSigner(self.settings.secret_key.get_secret_value(), salt=SALT, digest_method=hashlib.sha256)

    async def start(self, sid: str, session: dict) -> None:
        """A fresh conversation for this socket, with an id signed here."""
        await self.join(sid, session, self.signer().sign(uuid.uuid4().hex).decode("ascii"), self.clock())

    async def join(self, sid: str, session: dict, session_id: str, last: float) -> None:
        """The socket leaves its conversation for ``session_id``'s: one at a time."""
        for room in self.sio.rooms(sid):
            if room != sid:  # a socket is always in a room of its own
                await self.sio.leave_room(sid, room)
        await self.sio.enter_room(sid, session_id)
        session.update(session_id=session_id, last=last)
        await self.sio.save_session(sid, session)
        await self.sio.emit("session_confirm", session_id, to=sid)

    async def send(self, delivery: Delivery) -> tuple[str, str | None]:
        payload: dict = {"text": delivery.body}
        extra = delivery.extra or {}
        if extra.get("buttons"):
            # Quick replies go away once chosen or once another message follows; buttons stay
            # (gateway.replies: a turn's earlier set).
            kind = "buttons" if extra.get("stay") else "quick_replies"
            payload[kind] = [
                {"content_type": "text", "title": b["title"], "payload": b["payload"]} for b in extra["buttons"]
            ]
        # Emitted to the room on whichever replica holds its sockets (gateway/channels/rooms.py).
        if not await self.rooms.reach("bot_uttered", payload, delivery.address):
            raise NotConnected()
        return "sent", None


def field(data, name: str):
    """``data[name]`` when a client sent an object, else None (a client may send anything)."""
    return data.get(name) if isinstance(data, dict) else None


def origins(settings: Settings) -> set[str]:
    """The origins (scheme://host[:port], as a browser sends them) of the pages that may open the chat."""
    urls = [settings.public_base_url, *settings.web_chat_origins.split(",")]
    return {origin(url) for url in urls if url.strip()}


def origin(url: str) -> str:
    parts = httpx.URL(url.strip())  # lower case, IDNA, no default port: as browsers send it
    return f"{parts.scheme}://{parts.netloc.decode('ascii')}"


@functools.lru_cache
def address_limit(notation: str) -> RateLimitItem:
    return parse(notation)


async def client_address(scope: dict, trusted_proxies: str) -> str:
    """The client's address as uvicorn's ProxyHeadersMiddleware reads it: X-Forwarded-For
    believed only from ``trusted_proxies`` (as the inbox does)."""
    scope = {"type": "websocket", "headers": [], **scope}  # a copy: the request's own is left alone
    await proxies.resolve(scope, trusted_proxies)
    return (scope.get("client") or ("unknown",))[0]


def page(language: str | None) -> str:
    """The web chat page in ``language``, with the language picker and the widget."""
    lang = LANGUAGES.get(language or "") or LANGUAGES[DEFAULT_LANGUAGE]
    options = "".join(
        f'<option value="{code}" lang="{code}"{" selected" if code == lang.code else ""}>'
        f"{html.escape(other.endonym)}</option>"
        for code, other in LANGUAGES.items()
    )
    # The page's one inline script is the same in every language: its hash in the page's
    # Content-Security-Policy lets it run, and no other inline script.
    inline = re.search(r"<script>(.*?)</script>", PAGE.template, re.DOTALL)
    if inline is None:
        raise RuntimeError("web_page.html has no inline <script>")
    script = inline.group(1)
    script_hash = base64.b64encode(hashlib.sha256(script.encode("utf-8")).digest()).decode("ascii")
    texts = {
        key: html.escape(text(f"web_{key}", lang.code))
        for key in ("title", "intro", "picker_label", "picker_button", "hint", "send", "end", "privacy_link")
    }
    return PAGE.substitute(lang=lang.code, dir=lang.direction, options=options, script_hash=script_hash, **texts)


def requeue_waiting(session_id: str) -> None:
    """Replies that waited for this web resident to come back go out again."""
    with session_scope() as session:
        resident = session.scalars(
            select(Resident).where(Resident.channel == "web", Resident.address == session_id)
        ).first()
        if resident is not None:
            session.execute(
                update(Message)
                .where(Message.resident_id == resident.id, Message.status == "awaiting_connection")
                .values(status="queued")
            )


def last_written(session_id: str) -> tuple[bool, float | None]:
    """Whether the conversation ``session_id`` was ended, and when its resident last wrote
    (epoch seconds; None if they never did)."""
    with session_scope() as session:
        row = session.execute(
            select(Resident.address, Resident.last_seen_at).where(
                Resident.channel == "web", Resident.address.in_((session_id, ENDED + session_id))
            )
        ).first()
    if row is None:
        return False, None
    return row.address != session_id, aware(row.last_seen_at).timestamp()


def end_conversation(session_id: str) -> list[tuple[int, int | None]]:
    """The resident's messages stay (the hub's records, retention) under an address no id names,
    and ``last_seen_at`` says when they left (gateway.handoff.unreachable). Replies that waited for
    them to come back never will reach them: marked failed, for the inbox to show. Returns the
    (id, hub id) of each handoff of theirs still open: its coordinator closes it."""
    with session_scope() as session:
        resident = session.scalars(
            select(Resident).where(Resident.channel == "web", Resident.address == session_id)
        ).first()
        if resident is None:  # a conversation nobody wrote in
            return []
        resident.address, resident.last_seen_at = ENDED + session_id, utcnow()
        session.execute(
            update(Message)
            .where(Message.resident_id == resident.id, Message.status == "awaiting_connection")
            .values(status="failed", error=LEFT)
        )
        return [
            (handoff_id, hub_id)
            for handoff_id, hub_id in session.execute(
                select(Handoff.id, Handoff.hub_id).where(Handoff.resident_id == resident.id, Handoff.status != "closed")
            )
        ]
