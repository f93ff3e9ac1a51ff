"""The gateway's log lines: human-readable for `make run`, JSON lines (python-json-logger) for the
cluster and production (LOG_FORMAT), each with the request id of the resident's message it serves.

The id follows a message from its webhook to its reply:

- ``gateway.middleware.RequestContext`` takes it from the request (``X-Request-ID``, when
  ``valid``) or makes one, holds it in ``REQUEST_ID`` and returns it in the answer;
- the bot's turn is an asyncio task created inside the webhook's request, so it copies the id
  with the rest of the context (``asyncio.create_task`` copies the context);
- the reply is delivered by the outbox's own task, perhaps on another replica: ``carry`` stores
  the id (and when the message came in) in the queued message's ``extra``, and
  ``gateway.metrics.ObservedSender`` sets it again while the reply is handed to its sender.

Every log record gets a ``request_id`` attribute (None outside a request) from a record factory,
so every handler sees it, pytest's too.
"""

from __future__ import annotations

import logging
import re
import time
import uuid
from contextvars import ContextVar
from typing import Any

from pythonjsonlogger.core import RESERVED_ATTRS
from pythonjsonlogger.json import JsonFormatter

REQUEST_ID: ContextVar[str | None] = ContextVar("request_id", default=None)
# When the resident's message reached the gateway (time.time(), comparable across replicas);
# set only where a resident's message comes in, so a coordinator's reply is not timed as a reply.
RECEIVED_AT: ContextVar[float | None] = ContextVar("received_at", default=None)

# What a load balancer sends (nginx's $request_id is 32 hex digits, others a UUID); nothing that
# could forge a second log line or a header. A client on the internet may choose the id of its own
# requests' lines, no more.
_VALID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{7,63}")
TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
JSON_FIELDS = ("levelname", "name", "message", "request_id")
TRACE = "trace"  # the key in a queued message's ``extra``


def valid(request_id: str | None) -> bool:
    return bool(request_id) and _VALID.fullmatch(request_id or "") is not None


def new_request_id() -> str:
    return uuid.uuid4().hex


def begin(request_id: str | None = None, resident_message: bool = False) -> str:
    """Start a request's context in the current task (or thread): ``request_id`` when valid,
    else a new one; ``resident_message`` marks it as a resident's message coming in, so the
    reply's latency is measured from now. Returns the id."""
    chosen = request_id if request_id is not None and valid(request_id) else new_request_id()
    REQUEST_ID.set(chosen)
    RECEIVED_AT.set(time.time() if resident_message else None)
    return chosen


def carry(extra: dict | None) -> dict | None:
    """``extra`` for a queued message, with the current request id and the time the resident's
    message came in (``gateway.store.queue_outbound`` calls it)."""
    request_id = REQUEST_ID.get()
    if request_id is None:
        return extra
    trace: dict[str, Any] = {"id": request_id}
    received = RECEIVED_AT.get()
    if received is not None:
        trace["received_at"] = received
    return {**(extra or {}), TRACE: trace}


def carried(extra: dict | None) -> tuple[str | None, float | None]:
    """The request id and the resident's message's arrival that ``carry`` stored in ``extra``."""
    trace = (extra or {}).get(TRACE) or {}
    request_id = trace.get("id")
    received = trace.get("received_at")
    return (request_id if valid(request_id) else None), (received if isinstance(received, (int, float)) else None)


def _with_request_id(factory):
    def make(*args, **kwargs) -> logging.LogRecord:
        record = factory(*args, **kwargs)
        record.request_id = REQUEST_ID.get()
        return record

    make.adds_request_id = True  # type: ignore[attr-defined]
    return make


def json_formatter() -> logging.Formatter:
    """One JSON object a line: time (ISO 8601, UTC), level, logger, message, request_id, and any
    ``extra`` a line was given (uvicorn's coloured copy of its message left out)."""
    return JsonFormatter(
        list(JSON_FIELDS),
        rename_fields={"levelname": "level", "name": "logger"},
        reserved_attrs=[*RESERVED_ATTRS, "color_message"],
        timestamp="time",
    )


def configure_logging(level: str, json: bool = False) -> None:
    """Log at ``level`` to stderr, as text or as JSON lines. As ``logging.basicConfig`` does, a
    process whose root logger has handlers already (pytest, a host's own set-up) keeps them; in
    JSON mode uvicorn's own loggers write through the root's handler too, so every line is JSON."""
    if not getattr(logging.getLogRecordFactory(), "adds_request_id", False):
        logging.setLogRecordFactory(_with_request_id(logging.getLogRecordFactory()))
    root = logging.getLogger()
    if not root.handlers:
        handler = logging.StreamHandler()
        handler.setFormatter(json_formatter() if json else logging.Formatter(TEXT_FORMAT))
        root.addHandler(handler)
    root.setLevel(level)
    logging.getLogger("hubguide").setLevel(level)
    logging.getLogger("httpx").setLevel(logging.WARNING)  # one line per HTTP call is noise
    if json:
        for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
            uvicorn_log = logging.getLogger(name)
            if uvicorn_log.handlers:  # not uvicorn.access after --no-access-log: it stays off
                uvicorn_log.handlers.clear()
                uvicorn_log.propagate = True
