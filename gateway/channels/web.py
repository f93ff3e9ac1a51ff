"""The web chat: a socket.io endpoint speaking the rasa-webchat protocol.

``session_request``/``session_confirm`` open a conversation (kept across page
reloads by the widget's stored session id), ``user_uttered`` carries what the
resident writes (with the widget's ``customData``, where the language picker
puts ``language``), ``bot_uttered`` carries replies and quick-reply buttons.
"""
from __future__ import annotations

import base64
import hashlib
import html
import logging
import re
import uuid
from pathlib import Path
from string import Template

import socketio
from sqlalchemy import select, update

from common.languages import DEFAULT_LANGUAGE, LANGUAGES
from common.paths import ROOT
from common.texts import text
from gateway import db
from gateway.channels.gsm import MAX_BODY
from gateway.db import session_scope
from gateway.intake import Inbound
from gateway.models import Message, Resident
from gateway.outbox import Delivery, NotConnected

log = logging.getLogger("hubguide.web")

PAGE = Template((Path(__file__).parent / "web_page.html").read_text(encoding="utf-8"))
# The widget's self-contained bundle, installed from the npm registry (package.json).
WIDGET = ROOT / "node_modules" / "rasa-webchat" / "lib" / "index.js"
SESSION_ID = re.compile(r"^[A-Za-z0-9-]{16,64}$")
MAX_MESSAGE = MAX_BODY  # the same limit as SMS: a chat message is not a document


class WebChannel:
    def __init__(self) -> None:
        self.sio = socketio.AsyncServer(async_mode="asgi", cors_allowed_origins=[])
        self.app_state = None  # set by the gateway
        self.sio.on("session_request", self.session_request)
        self.sio.on("user_uttered", self.user_uttered)

    def asgi(self, other_app) -> socketio.ASGIApp:
        return socketio.ASGIApp(self.sio, other_asgi_app=other_app, socketio_path="socket.io")

    async def session_request(self, sid: str, data: dict | None) -> None:
        requested = (data or {}).get("session_id")
        session_id = requested if isinstance(requested, str) and SESSION_ID.match(requested) \
            else uuid.uuid4().hex
        await self.sio.enter_room(sid, session_id)
        await self.sio.save_session(sid, {"session_id": session_id})
        await self.sio.emit("session_confirm", session_id, to=sid)
        # Replies that waited for this resident to come back go out now.
        await db.run(requeue_waiting, session_id)
        self.app_state.outbox.wake()

    async def user_uttered(self, sid: str, data: dict | None) -> None:
        session_id = (await self.sio.get_session(sid)).get("session_id")
        text = (data or {}).get("message")
        if not session_id or not isinstance(text, str):
            return  # no session_request yet, or not a message: nothing to store
        custom = (data or {}).get("customData") or {}
        chosen = custom.get("language") if isinstance(custom, dict) else None
        stored = await self.app_state.intake.store(Inbound("web", session_id, text[:MAX_MESSAGE]))
        self.app_state.conversations.submit(stored.message_id, stored.resident_id, chosen_language=chosen)

    async def send(self, delivery: Delivery) -> tuple[str, str | None]:
        if not any(True for _ in self.sio.manager.get_participants("/", delivery.address)):
            raise NotConnected()
        payload: dict = {"text": delivery.body}
        buttons = (delivery.extra or {}).get("buttons")
        if buttons:
            payload["quick_replies"] = [
                {"content_type": "text", "title": b["title"], "payload": b["payload"]}
                for b in buttons
            ]
        await self.sio.emit("bot_uttered", payload, room=delivery.address)
        return "sent", None


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
    script = re.search(r"<script>(.*?)</script>", PAGE.template, re.DOTALL).group(1)
    script_hash = base64.b64encode(hashlib.sha256(script.encode("utf-8")).digest()).decode("ascii")
    texts = {key: html.escape(text(f"web_{key}", lang.code))
             for key in ("title", "intro", "picker_label", "picker_button", "hint", "send")}
    return PAGE.substitute(lang=lang.code, dir=lang.direction, options=options,
                           script_hash=script_hash, **texts)


def requeue_waiting(session_id: str) -> None:
    """Replies that waited for this web resident to come back go out again."""
    with session_scope() as session:
        resident = session.scalars(select(Resident).where(
            Resident.channel == "web", Resident.address == session_id)).first()
        if resident is not None:
            session.execute(update(Message).where(
                Message.resident_id == resident.id, Message.status == "awaiting_connection"
            ).values(status="queued"))
