"""Benchmark of the first slice (``make bench``): resident-visible reply latency
over the web chat and SMS next to the same turns posted straight to Rasa's
REST channel, in the same run, plus start-up time and memory per process.

Writes reports/slice-<time>.json and .md. Numbers are reported as ratios
against Rasa's own REST channel measured in the same run, since this machine
is shared and noisy.
"""

from __future__ import annotations

import statistics
import time
from datetime import datetime, timezone

import httpx
import socketio
from sqlalchemy import select

from bench.common import Signer, bench_stack, rss_mb, write_report
from gateway.db import session_scope
from gateway.models import Message
from stack.processes import Stack

TURNS = 20
# A conversation of two turns, repeated: the job answer with the offer, then "no".
SCRIPT = [("jag vill ha jobb", 2), ("nej tack", 1)]


HTTP = httpx.Client(timeout=30)  # keep-alive, as the gateway's own client to Rasa


def sms_turn(stack: Stack, number: str, body: str) -> float:
    form, headers = Signer(stack.settings)(number, body)
    started = datetime.now(timezone.utc)
    HTTP.post(stack.gateway_url + "/sms/webhook", data=form, headers=headers)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        with session_scope() as session:
            sent = session.scalars(
                select(Message.sent_at)
                .where(
                    Message.direction == "out",
                    Message.status == "dry_run",
                    Message.sent_at.is_not(None),
                    Message.created_at >= started.replace(tzinfo=None),
                )
                .order_by(Message.id)
            ).first()
        if sent:
            return (sent.replace(tzinfo=timezone.utc) - started).total_seconds()
        time.sleep(0.002)
    raise RuntimeError("no SMS reply within 30 s")


def web_turn(client: socketio.SimpleClient, body: str, replies: int) -> float:
    started = time.perf_counter()
    client.emit("user_uttered", {"message": body, "customData": {"language": "sv"}})
    for _ in range(replies):
        client.receive(timeout=30)
    return time.perf_counter() - started


def rest_turn(stack: Stack, sender: str, body: str) -> float:
    started = time.perf_counter()
    response = HTTP.post(
        stack.rasa_url + "/webhooks/rest/webhook",
        json={"sender": sender, "message": body, "metadata": {"language": "sv", "channel": "web"}},
    )
    response.raise_for_status()
    return time.perf_counter() - started


def summary(values: list[float]) -> dict:
    ordered = sorted(values)
    return {
        "n": len(values),
        "median_ms": statistics.median(values) * 1000,
        "p95_ms": ordered[max(0, round(0.95 * len(ordered)) - 1)] * 1000,
    }


def main() -> None:
    stack = bench_stack("hubguide-bench-")
    started = time.perf_counter()
    stack.start()
    startup = time.perf_counter() - started
    try:
        client = socketio.SimpleClient()
        client.connect(stack.gateway_url, transports=["websocket"])
        client.emit("session_request", {"session_id": None})
        client.receive(timeout=10)
        # Warm every path once so first-call costs (TensorFlow graphs) are not measured.
        web_turn(client, "hej", 1), sms_turn(stack, "+46709999999", "hej"), rest_turn(stack, "warm", "hej")
        web, sms, rest = [], [], []
        for i in range(TURNS):
            body, replies = SCRIPT[i % len(SCRIPT)]
            web.append(web_turn(client, body, replies))
            sms.append(sms_turn(stack, "+46708888888", body))
            rest.append(rest_turn(stack, "bench-rest", body))
        client.disconnect()
        memory = {s.name: round(rss_mb(s.process.pid), 1) for s in stack.services}
    finally:
        stack.stop()
    result = {
        "when": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "turns": TURNS,
        "startup_seconds": round(startup, 1),
        "rasa_rest": summary(rest),
        "web_chat": summary(web),
        "sms": summary(sms),
        "ratio_median_web_to_rest": statistics.median(web) / statistics.median(rest),
        "ratio_median_sms_to_rest": statistics.median(sms) / statistics.median(rest),
        "memory_rss_mb": memory,
    }
    lines = [
        f"# Slice benchmark, {result['when']}",
        "",
        f"{TURNS} turns each, interleaved, same model, same run. Start-up of the stack: {result['startup_seconds']} s.",
        "",
        "| path | median ms | p95 ms | median vs Rasa REST |",
        "|---|---|---|---|",
        f"| Rasa REST channel, direct | {result['rasa_rest']['median_ms']:.0f} | "
        f"{result['rasa_rest']['p95_ms']:.0f} | 1.00 |",
        f"| web chat through the gateway | {result['web_chat']['median_ms']:.0f} | "
        f"{result['web_chat']['p95_ms']:.0f} | {result['ratio_median_web_to_rest']:.2f} |",
        f"| SMS through the gateway (dry-run send) | {result['sms']['median_ms']:.0f} | "
        f"{result['sms']['p95_ms']:.0f} | {result['ratio_median_sms_to_rest']:.2f} |",
        "",
        "| process | RSS MB (with children) |",
        "|---|---|",
        *(f"| {name} | {mb} |" for name, mb in memory.items()),
    ]
    write_report("slice", result, "\n".join(lines))


if __name__ == "__main__":
    main()
