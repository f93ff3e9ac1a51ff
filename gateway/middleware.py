"""Each HTTP request's context: its request id, and for Twilio's webhooks, the metrics and one
log line.

A pure ASGI middleware (answers stream through untouched), added last in gateway/app.py so it
is the outermost of the app's own: the acknowledgement is timed from the moment the request
reaches the app to the moment its last byte is handed to the server. (The web chat's socket.io
transport does not pass through it; its message handler can start a context with
``gateway.logs.begin``.)
"""

from __future__ import annotations

import logging
import time

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from gateway import logs, metrics

log = logging.getLogger("hubguide.requests")

HEADER = "X-Request-ID"
# Twilio's webhooks, by path: which channel they belong to, and whether a resident's message
# comes in through them (its reply's latency is measured from here).
WEBHOOKS = {"/sms/webhook": ("sms", True), "/sms/status": ("sms_status", False)}


def outcome(status: int) -> str:
    """A webhook's outcome, from the status it was answered with."""
    if status < 300:
        return "accepted"
    return {400: "invalid", 403: "refused", 413: "too_large"}.get(status, "failed" if status >= 500 else "other")


class RequestContext:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        webhook = WEBHOOKS.get(scope.get("path", ""))
        given = next((v.decode("latin-1") for k, v in scope["headers"] if k == b"x-request-id"), None)
        request_id = logs.begin(given, resident_message=bool(webhook and webhook[1]))
        status, done = 500, False

        async def with_id(message: Message) -> None:
            nonlocal status, done
            if message["type"] == "http.response.start":
                status = message["status"]
                MutableHeaders(scope=message)[HEADER] = request_id
            await send(message)
            if webhook and message["type"] == "http.response.body" and not message.get("more_body", False):
                done = True
                answered(webhook[0], status, time.perf_counter() - started)

        try:
            await self.app(scope, receive, with_id)
        except BaseException:
            if webhook and not done:  # Starlette's error middleware answers 500 outside this one
                answered(webhook[0], 500, time.perf_counter() - started)
            raise
        finally:
            logs.REQUEST_ID.set(None)
            logs.RECEIVED_AT.set(None)


def answered(channel: str, status: int, seconds: float) -> None:
    """Count a webhook and log it, once its answer is out (the line does not delay it)."""
    result = outcome(status)
    metrics.WEBHOOKS.labels(channel, result).inc()
    if channel == "sms" and result == "accepted":
        metrics.SMS_ACK.observe(seconds)
    log.info("%s webhook %s (%d) in %.1f ms", channel, result, status, seconds * 1000)
