"""The client's address behind a reverse proxy, as uvicorn's ProxyHeadersMiddleware reads it:
X-Forwarded-For believed only from ``trusted_proxies`` (the TRUSTED_PROXIES setting).

uvicorn applies the same rule when it serves the gateway (``--forwarded-allow-ips``); the inbox
and the web chat apply it again themselves, so it holds whatever serves them (the tests, another
server). Applying it twice changes nothing: after the first pass the client is no longer a proxy.
"""

from __future__ import annotations

import functools
from collections.abc import MutableMapping
from typing import Any

from uvicorn.middleware.proxy_headers import ProxyHeadersMiddleware


@functools.lru_cache(maxsize=8)
def _middleware(trusted_proxies: str) -> ProxyHeadersMiddleware:
    """One middleware per setting: it parses the addresses once, not on every request."""

    async def keep(scope, receive, send) -> None:  # the middleware changes the scope it is given; nothing to run
        pass

    return ProxyHeadersMiddleware(keep, trusted_proxies)


async def resolve(scope: MutableMapping[str, Any], trusted_proxies: str) -> None:
    """Set ``scope["client"]`` (and the scheme) from the forwarded headers where a trusted proxy sent them."""
    # uvicorn types the scope as its own TypedDicts (a plain mapping of the same keys here) and wants
    # receive and send, which ``keep`` never calls.
    await _middleware(trusted_proxies)(scope, None, None)  # type: ignore[arg-type]
