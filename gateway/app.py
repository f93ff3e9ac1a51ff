"""The gateway: the only door residents and coordinators use.

``uvicorn gateway.app:app`` serves it with the collaborators ``gateway.services``
builds from the settings; ``create_app`` takes others from a test.
"""

from __future__ import annotations

import asyncio
import gc
import logging
from contextlib import asynccontextmanager

from fastapi import FastAPI, HTTPException, Request
from fastapi.responses import FileResponse, HTMLResponse

from common import langid
from gateway import health, metrics, privacy, store
from gateway.channels import sms
from gateway.channels.web import WIDGET
from gateway.channels.web import page as web_page
from gateway.db import session_scope
from gateway.headers import SecurityHeaders
from gateway.logs import configure_logging
from gateway.middleware import RequestContext
from gateway.services import Services, build
from gateway.settings import Settings, get_settings

log = logging.getLogger("hubguide.gateway")


def create_app(settings: Settings | None = None, services: Services | None = None):
    """The gateway with ``services`` (gateway/services.py), or the real ones built from ``settings``."""
    settings = settings or get_settings()
    configure_logging(settings.log_level, json=settings.json_logs)
    services = services or build(settings)
    metrics.observe(services.outbox.senders)  # each reply timed, and logged under its request id

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        with session_scope() as session:
            store.sync_hubs(session)
        await asyncio.to_thread(langid.preload)  # seconds once, not on a resident's first turn
        # The models, modules and tables loaded so far live as long as the process: kept out of the
        # collector's passes, which otherwise walked them all in a full collection during a burst of
        # webhooks (acknowledgement p99 over 100 ms in bench.sms_load; under 100 with this).
        gc.freeze()
        app.state.outbox, app.state.conversations = services.outbox, services.conversations
        app.state.events, app.state.intake = services.events, services.intake
        app.state.rasa = services.rasa
        services.web.app_state = app.state
        async with services.running():
            log.info(
                "gateway ready; SMS %s",
                "dry-run (no Twilio account set)" if settings.sms_dry_run else "live through Twilio",
            )
            app.state.serving = True  # /readyz
            try:
                yield
            finally:
                app.state.serving = False

    # Swagger UI and ReDoc load their scripts from a CDN without integrity (review L8): development only.
    docs = settings.app_env == "development"
    api = FastAPI(
        title="Hub guide gateway",
        lifespan=lifespan,
        docs_url="/docs" if docs else None,
        redoc_url="/redoc" if docs else None,
    )
    api.add_middleware(SecurityHeaders, settings=settings)
    api.add_middleware(RequestContext)  # added last: the outermost, so it times the whole answer
    api.state.settings = settings
    api.include_router(sms.router)
    api.include_router(health.router)  # /healthz, /readyz: for the load balancer
    api.include_router(metrics.router)  # /metrics: for Prometheus, from METRICS_ALLOWED or with METRICS_TOKEN
    api.include_router(privacy.router)  # /privacy: what is kept, how long, how to erase it
    # --- the coordinator inbox (/inbox) and its JSON API (/api): everything in gateway/inbox ---
    from gateway import inbox

    inbox.install(api)
    # --- end of the inbox ---

    @api.get("/health", tags=["ops"])
    async def bot_health(request: Request) -> dict:
        """The gateway is up (always 200 while it is); ``bot`` says whether the
        Rasa server and the action server answer, as the gateway last saw them."""
        started = getattr(request.app.state, "conversations", None) is not None
        ready = started and await services.rasa.ready()
        return {"status": "ok", "bot": "ready" if ready else "unavailable"}

    @api.get("/", response_class=HTMLResponse, include_in_schema=False)
    async def index(lang: str | None = None) -> str:
        return web_page(lang)

    @api.get("/static/webchat.js", include_in_schema=False)
    async def widget() -> FileResponse:
        if not WIDGET.exists():
            raise HTTPException(404, "the web chat widget is not installed; run `make setup`")
        return FileResponse(WIDGET, media_type="text/javascript")

    return services.web.asgi(api)


def __getattr__(name: str):  # ``gateway.app:app`` for uvicorn, built on first use
    if name == "app":
        return create_app()
    raise AttributeError(name)
