"""Security headers on every HTTP answer of the gateway, errors included (review L8).

A pure ASGI middleware (no BaseHTTPMiddleware: answers stream through untouched), added in
gateway/app.py. It sets only what an answer does not say itself:

- ``Strict-Transport-Security`` when the gateway is served over https (PUBLIC_BASE_URL);
- ``X-Content-Type-Options: nosniff``;
- ``frame-ancestors``: only the gateway itself and the pages allowed to embed the web chat
  (WEB_CHAT_ORIGINS) may frame it, on every answer without a policy of its own (the web chat page's
  policy is a meta tag, which cannot carry frame-ancestors);
- the inbox's headers on every ``/inbox`` and ``/api`` answer, so that a 401, 403, 404 or 422
  raised before a route runs carries the same as a 200.
"""

from __future__ import annotations

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from gateway.channels.web import origin
from gateway.inbox.security import SECURITY_HEADERS
from gateway.settings import Settings

HSTS = "max-age=31536000; includeSubDomains"  # a year, as OWASP's HTTP headers cheat sheet advises
INBOX_PATHS = ("/inbox", "/api")


class SecurityHeaders:
    def __init__(self, app: ASGIApp, settings: Settings) -> None:
        self.app = app
        self.https = settings.public_base_url.lower().startswith("https://")
        ancestors = sorted({origin(url) for url in settings.web_chat_origins.split(",") if url.strip()})
        self.frame_ancestors = " ".join(["frame-ancestors 'self'", *ancestors])

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path = scope.get("path", "")
        inbox = any(path == p or path.startswith(p + "/") for p in INBOX_PATHS)

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                self.add(MutableHeaders(scope=message), inbox)
            await send(message)

        await self.app(scope, receive, with_headers)

    def add(self, headers: MutableHeaders, inbox: bool) -> None:
        if inbox:
            for name, value in SECURITY_HEADERS.items():
                headers.setdefault(name, value)
        headers.setdefault("X-Content-Type-Options", "nosniff")
        if self.https:
            headers.setdefault("Strict-Transport-Security", HSTS)
        # A page with a policy of its own (the inbox, /privacy) says frame-ancestors 'none' in it.
        headers.setdefault("Content-Security-Policy", self.frame_ancestors)
