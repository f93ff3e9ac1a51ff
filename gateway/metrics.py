"""Prometheus metrics (prometheus-client) at ``/metrics``.

Each replica is its own process with its own registry (prometheus-client's default one, which
also has the process's CPU, memory and open files): Prometheus scrapes every replica directly,
one target each, never through the load balancer (which would show a different replica each
time), and sums counters and histograms across them. No multiprocess mode: that is for several
workers behind one port, and each replica has a port of its own.

- ``hubguide_webhooks_total{channel, outcome}`` and ``hubguide_sms_ack_seconds``: Twilio's
  webhooks, counted and timed by gateway/middleware.py;
- ``hubguide_reply_seconds{channel}``: from a resident's message coming in to its reply being
  handed to the channel's sender (``ObservedSender``), once per delivered message;
- ``hubguide_rasa_request_seconds`` and ``hubguide_rasa_errors_total{reason}``: gateway/rasa_client.py;
- the outbox's depth and the age of its oldest due message, and the handoffs nobody has claimed:
  read from the database at scrape time (``DatabaseFigures``), so nothing has to keep them up to
  date. They are the same on every replica: aggregate them with max, not sum.

``/metrics`` faces the internet with the rest of the gateway, and says how busy the service is:
only the addresses in METRICS_ALLOWED (loopback by default) or a request with the bearer token
METRICS_TOKEN may read it. Better still, the load balancer does not route it at all.
"""

from __future__ import annotations

import asyncio
import functools
import ipaddress
import logging
import secrets
import time
from collections.abc import Iterable, Iterator
from datetime import datetime

from fastapi import APIRouter, HTTPException, Request, Response
from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, Counter, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from sqlalchemy import func, or_, select
from sqlalchemy.exc import SQLAlchemyError

from gateway import logs, proxies
from gateway.db import session_scope
from gateway.models import Handoff, Message, aware, utcnow
from gateway.outbox import Delivery, Sender
from gateway.settings import Settings

log = logging.getLogger("hubguide.metrics")
replies_log = logging.getLogger("hubguide.replies")

# The acknowledgement's goal is 100 ms at p99: fine steps around it.
ACK_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.125, 0.15, 0.2, 0.3, 0.5, 1.0, 2.5, 5.0)
REPLY_BUCKETS = (0.1, 0.25, 0.5, 0.75, 1.0, 1.5, 2.0, 3.0, 5.0, 10.0, 30.0, 60.0, 300.0, 1800.0)
RASA_BUCKETS = (0.025, 0.05, 0.1, 0.2, 0.3, 0.5, 0.75, 1.0, 1.5, 2.0, 3.0, 5.0, 10.0)

WEBHOOKS = Counter("hubguide_webhooks", "Webhooks received, by channel and outcome", ["channel", "outcome"])
SMS_ACK = Histogram(
    "hubguide_sms_ack_seconds", "Time to answer an accepted Twilio SMS webhook, in this process", buckets=ACK_BUCKETS
)
REPLY = Histogram(
    "hubguide_reply_seconds",
    "From a resident's message coming in to a reply being handed to the channel's sender",
    ["channel"],
    buckets=REPLY_BUCKETS,
)
RASA = Histogram("hubguide_rasa_request_seconds", "Rasa REST calls that answered, by duration", buckets=RASA_BUCKETS)
RASA_ERRORS = Counter("hubguide_rasa_errors", "Rasa REST calls that failed, by reason", ["reason"])

# Outbound messages still to be delivered (gateway/outbox.py).
OUTBOX_PENDING = ("queued",)
CHANNELS = ("sms", "web")  # shown at 0 when empty, so an alert on them has a series to read


class DatabaseFigures(Collector):
    """The outbox and the handoffs, read at each scrape (a few indexed counts)."""

    def describe(self) -> Iterable[Metric]:  # names only: registering must not query the database
        return list(self._gauges().values())

    @staticmethod
    def _gauges() -> dict[str, GaugeMetricFamily]:
        return {
            "depth": GaugeMetricFamily("hubguide_outbox_depth", "Messages queued for delivery", labels=["channel"]),
            "oldest_due": GaugeMetricFamily(
                "hubguide_outbox_oldest_due_seconds", "Age of the oldest message due for delivery (0: none)"
            ),
            "waiting": GaugeMetricFamily("hubguide_handoffs_waiting", "Handoffs no coordinator has claimed"),
            "oldest_waiting": GaugeMetricFamily(
                "hubguide_handoffs_oldest_waiting_seconds", "Age of the oldest unclaimed handoff (0: none)"
            ),
            "up": GaugeMetricFamily("hubguide_database_up", "Whether this scrape could read the database"),
        }

    def collect(self) -> Iterator[Metric]:
        gauges = self._gauges()
        try:
            figures = read_figures()
        except SQLAlchemyError as exc:
            log.warning("metrics could not read the database: %s", type(exc).__name__)
            gauges["up"].add_metric([], 0)
            yield gauges["up"]
            return
        for channel, count in figures.pop("depth").items():
            gauges["depth"].add_metric([channel], count)
        for name, value in {**figures, "up": 1}.items():
            gauges[name].add_metric([], value)
        yield from gauges.values()


def read_figures() -> dict:
    now = utcnow()
    queued = (Message.direction == "out", Message.status.in_(OUTBOX_PENDING))
    with session_scope() as session:
        rows = session.execute(select(Message.channel, func.count()).where(*queued).group_by(Message.channel))
        depth = dict.fromkeys(CHANNELS, 0) | {channel: count for channel, count in rows}
        due = or_(Message.next_attempt_at.is_(None), Message.next_attempt_at <= now)
        oldest_due = session.scalar(select(func.min(Message.created_at)).where(*queued, due))
        waiting, oldest_waiting = session.execute(
            select(func.count(), func.min(Handoff.created_at)).where(Handoff.status == "open")
        ).one()
    return {
        "depth": depth,
        "oldest_due": age(oldest_due, now),
        "waiting": waiting,
        "oldest_waiting": age(oldest_waiting, now),
    }


def age(then: datetime | None, now: datetime) -> float:
    if then is None:
        return 0.0
    return max(0.0, (now - aware(then)).total_seconds())


REGISTRY.register(DatabaseFigures())


class ObservedSender:
    """An outbox sender that hands each delivery on under the request id it carries
    (``gateway.logs.carry``), logs it, and times a reply from its resident's message."""

    def __init__(self, channel: str, inner: Sender) -> None:
        self.channel, self.inner = channel, inner

    async def send(self, delivery: Delivery) -> tuple[str, str | None]:
        request_id, received = logs.carried(delivery.extra)
        handed = time.time()
        token = logs.REQUEST_ID.set(request_id)
        try:
            if request_id is not None:
                after = f", {(handed - received) * 1000:.0f} ms after the resident's message" if received else ""
                replies_log.info("message %s handed to the %s sender%s", delivery.message_id, self.channel, after)
            result = await self.inner.send(delivery)
        finally:
            logs.REQUEST_ID.reset(token)
        if received is not None:  # once, when delivered: a failed attempt is tried again
            REPLY.labels(self.channel).observe(max(0.0, handed - received))
        return result


def observe(senders: dict[str, Sender]) -> None:
    """Wrap the outbox's senders in place (once) in ``ObservedSender``."""
    for channel, sender in senders.items():
        if not isinstance(sender, ObservedSender):
            senders[channel] = ObservedSender(channel, sender)


@functools.lru_cache(maxsize=4)
def _networks(allowed: str) -> tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]:
    return tuple(ipaddress.ip_network(item.strip(), strict=False) for item in allowed.split(",") if item.strip())


def may_read(request: Request, settings: Settings) -> bool:
    """From an address in METRICS_ALLOWED, or with the bearer token METRICS_TOKEN (when set)."""
    token = settings.metrics_token.get_secret_value()
    scheme, _, given = request.headers.get("Authorization", "").partition(" ")
    if token and scheme.lower() == "bearer" and secrets.compare_digest(given.strip().encode(), token.encode()):
        return True
    try:
        address = ipaddress.ip_address(request.client.host if request.client else "")
    except ValueError:
        return False
    return any(address in network for network in _networks(settings.metrics_allowed))


router = APIRouter()


@router.get("/metrics", include_in_schema=False)
async def metrics(request: Request) -> Response:
    settings: Settings = request.app.state.settings
    await proxies.resolve(request.scope, settings.trusted_proxies)  # the client behind the load balancer
    if not may_read(request, settings):
        raise HTTPException(403, "metrics are for the monitoring's addresses (METRICS_ALLOWED) or token")
    # Off the event loop: the database figures are read now.
    return Response(await asyncio.to_thread(generate_latest, REGISTRY), media_type=CONTENT_TYPE_LATEST)
