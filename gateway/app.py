"""The gateway: the only door residents and coordinators use.

``uvicorn gateway.app:app`` serves it; ``create_app`` builds it for tests.
"""
from __future__ import annotations

import asyncio
import contextlib
import logging
from contextlib import asynccontextmanager

from fastapi import FastAPI, HTTPException, Request
from fastapi.responses import FileResponse, HTMLResponse

from common import langid
from gateway import store
from gateway.channels import sms
from gateway.channels.web import WIDGET, WebChannel
from gateway.channels.web import page as web_page
from gateway.conversation import Conversations
from gateway.db import engine, session_scope
from gateway.events import Bus
from gateway.intake import Intake
from gateway.outbox import Outbox
from gateway.rasa_client import RasaClient
from gateway.settings import Settings, get_settings

log = logging.getLogger("hubguide.gateway")

RETRY_UNANSWERED_SECONDS = 10.0


async def _retry_loop(conversations: Conversations) -> None:
    while True:
        try:
            count = await conversations.retry_unanswered()
            if count:
                log.info("retrying %d unanswered message(s)", count)
        except Exception:
            log.exception("retrying unanswered messages failed")
        await asyncio.sleep(RETRY_UNANSWERED_SECONDS)


def configure_logging(level: str) -> None:
    logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("hubguide").setLevel(level)
    logging.getLogger("httpx").setLevel(logging.WARNING)  # one line per Rasa call is noise


def create_app(settings: Settings | None = None):
    settings = settings or get_settings()
    configure_logging(settings.log_level)
    web = WebChannel()

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        with session_scope() as session:
            store.sync_hubs(session)
        await asyncio.to_thread(langid.preload)  # seconds once, not on a resident's first turn
        rasa = RasaClient(settings.rasa_url, settings.rasa_token.get_secret_value(),
                          settings.rasa_timeout_seconds, settings.action_server_url)
        outbox = Outbox({"sms": sms.SmsSender(settings), "web": web})
        events = Bus()
        conversations = Conversations(rasa, outbox, events, settings.public_base_url)
        app.state.settings, app.state.outbox, app.state.conversations = settings, outbox, conversations
        app.state.events = events
        app.state.intake = intake = Intake(engine())
        intake.start()
        web.app_state = app.state
        tasks = [asyncio.create_task(outbox.run()), asyncio.create_task(_retry_loop(conversations))]
        log.info("gateway ready; SMS %s", "dry-run (no Twilio account set)" if settings.sms_dry_run
                 else "live through Twilio")
        yield
        intake.stop()  # after the server stopped taking requests: nothing more arrives
        await conversations.idle()
        await outbox.deliver_due()
        for task in tasks:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        await rasa.close()

    api = FastAPI(title="Hub guide gateway", lifespan=lifespan)
    api.state.settings = settings
    api.include_router(sms.router)
    # --- the coordinator inbox (/inbox) and its JSON API (/api): everything in gateway/inbox ---
    from gateway import inbox
    inbox.install(api)
    # --- end of the inbox ---

    @api.get("/health", tags=["ops"])
    async def health(request: Request) -> dict:
        """The gateway is up (always 200 while it is); ``bot`` says whether the
        Rasa server and the action server answer, as the gateway last saw them."""
        rasa = getattr(request.app.state, "conversations", None)
        ready = rasa is not None and await rasa.rasa.ready()
        return {"status": "ok", "bot": "ready" if ready else "unavailable"}

    @api.get("/", response_class=HTMLResponse, include_in_schema=False)
    async def index(lang: str | None = None) -> str:
        return web_page(lang)

    @api.get("/static/webchat.js", include_in_schema=False)
    async def widget() -> FileResponse:
        if not WIDGET.exists():
            raise HTTPException(404, "the web chat widget is not installed; run `make setup`")
        return FileResponse(WIDGET, media_type="text/javascript")

    return web.asgi(api)


def __getattr__(name: str):  # ``gateway.app:app`` for uvicorn, built on first use
    if name == "app":
        return create_app()
    raise AttributeError(name)
