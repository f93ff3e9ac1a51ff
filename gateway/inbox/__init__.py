"""The coordinator inbox: sign-in, the handoff list and pages, the JSON API,
live updates (server-sent events) and statistics, served by the gateway.

``install(app)`` adds it to the gateway's FastAPI app; ``python -m gateway.inbox
create-admin`` makes the first admin account.
"""

from __future__ import annotations

from fastapi import FastAPI


def install(app: FastAPI) -> None:
    """Add the inbox pages (``/inbox``) and the API (``/api``) to the gateway."""
    from gateway.inbox import api, pages, sign_in_pages
    from gateway.inbox.security import PageError, SignInRequired, Throttles

    app.state.inbox_throttles = Throttles.shared(app.state.settings.redis_url)
    app.include_router(pages.router)
    app.include_router(sign_in_pages.router)
    app.include_router(api.router)
    from gateway.inbox import hub_facts

    app.include_router(hub_facts.router)
    # Starlette types a handler as taking any Exception, so one for a subclass does not match
    # (Kludex/starlette#2417); Starlette calls it only for that class.
    app.add_exception_handler(SignInRequired, pages.sign_in_required)  # type: ignore[arg-type]
    app.add_exception_handler(PageError, pages.page_error)  # type: ignore[arg-type]
