"""The coordinator inbox: sign-in, the handoff list and pages, the JSON API,
live updates (server-sent events) and statistics, served by the gateway.

``install(app)`` adds it to the gateway's FastAPI app; ``python -m gateway.inbox
create-admin`` makes the first admin account.
"""
from __future__ import annotations

from fastapi import FastAPI


def install(app: FastAPI) -> None:
    """Add the inbox pages (``/inbox``) and the API (``/api``) to the gateway."""
    from gateway.inbox import api, pages
    from gateway.inbox.security import PageError, SignInRequired, Throttles

    app.state.inbox_throttles = Throttles.default()
    app.include_router(pages.router)
    app.include_router(api.router)
    app.add_exception_handler(SignInRequired, pages.sign_in_required)
    app.add_exception_handler(PageError, pages.page_error)
