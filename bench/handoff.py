"""Benchmark of the handoff: how soon a coordinator hears of a resident's consent.

Starts the real stack (as bench/slice.py does), makes an on-duty coordinator
with a phone for Hjällbo, signs them in over HTTP and opens the inbox's event
stream. Then, HANDOFFS times, an SMS resident asks about jobs, says yes, names
Hjällbo and declines to add a note; from the moment that last webhook is posted
it measures:

- consent -> handoff stored (the bot's turn: NLU, the form, the action server);
- consent -> the coordinator's alert SMS queued, and sent (dry-run "sent" here);
- consent -> the ``handoff_created`` event at the coordinator's event stream;
- stored -> that event (the live-update latency of the inbox itself);

and the inbox's own page times (list, one handoff, the API), server side over
HTTP and, when Chromium is installed, as a browser loads them.

    PYTHONPATH=. .venv/app/bin/python -m bench.handoff

Writes reports/handoff-<time>.json and .md.
"""

from __future__ import annotations

import json
import queue
import re
import statistics
import threading
import time
from datetime import datetime, timezone

import httpx
from sqlalchemy import select

from bench.common import CHROMIUM, CHROMIUM_ARGS, Signer, bench_stack, write_report
from gateway.db import session_scope
from gateway.inbox import accounts
from gateway.models import Handoff, Message, Resident
from stack.processes import Stack

HANDOFFS = 20
PAGE_LOADS = 20
PASSWORD = "benchmark coordinator password"
TURNS = ["jag vill ha jobb", "ja", "Hjällbo"]
CONSENT = "nej"  # no note: the handoff is stored on this turn

HTTP = httpx.Client(timeout=30)


def aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)


def post_sms(stack: Stack, number: str, body: str) -> None:
    form, headers = Signer(stack.settings)(number, body)
    HTTP.post(stack.gateway_url + "/sms/webhook", data=form, headers=headers)


def replies(number: str) -> int:
    with session_scope() as session:
        return len(
            session.scalars(
                select(Message.id)
                .join(Resident)
                .where(Resident.address == number, Message.direction == "out", Message.status == "dry_run")
            ).all()
        )


def poll(predicate, timeout: float = 60.0, step: float = 0.002):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = predicate()
        if result:
            return result
        time.sleep(step)
    raise RuntimeError("timed out")


def turn(stack: Stack, number: str, body: str) -> None:
    before = replies(number)
    post_sms(stack, number, body)
    poll(lambda: replies(number) > before)


class EventStream:
    """The inbox's event stream, read in a thread: (kind, data, wall time) per event."""

    def __init__(self, url: str, cookies: httpx.Cookies) -> None:
        self.events: queue.Queue = queue.Queue()
        self.client = httpx.Client(cookies=cookies, timeout=httpx.Timeout(10, read=None))
        self.ready = threading.Event()
        threading.Thread(target=self._read, args=(url,), daemon=True).start()
        if not self.ready.wait(15):
            raise RuntimeError("the event stream did not open")

    def _read(self, url: str) -> None:
        try:
            with self.client.stream("GET", url) as response:
                kind = None
                for line in response.iter_lines():
                    if line.startswith("event: "):
                        kind = line[7:]
                    elif line.startswith("data: "):
                        if kind == "ready":
                            self.ready.set()
                        else:
                            self.events.put((kind, json.loads(line[6:]), time.time()))
        except Exception:
            pass

    def wait(self, kind: str, timeout: float = 60.0) -> tuple[dict, float]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            got, data, arrived = self.events.get(timeout=max(0.01, deadline - time.monotonic()))
            if got == kind:
                return data, arrived
        raise RuntimeError(f"no {kind} event")

    def close(self) -> None:
        self.client.close()


def one_handoff(stack: Stack, stream: EventStream, coordinator_id: int, number: str) -> dict:
    for body in TURNS:
        turn(stack, number, body)
    consent_wall = time.time()
    post_sms(stack, number, CONSENT)
    event, event_arrival = stream.wait("handoff_created")

    def stored_handoff():
        with session_scope() as session:
            row = session.scalars(select(Handoff).join(Resident).where(Resident.address == number)).first()
            return (row.id, aware(row.created_at).timestamp()) if row else None

    handoff_id, stored = poll(stored_handoff)
    if event.get("handoff") != handoff_id:
        raise RuntimeError(f"the event named handoff {event.get('handoff')}, not {handoff_id}")

    def alert_sent():
        with session_scope() as session:
            row = session.scalars(
                select(Message).where(
                    Message.coordinator_id == coordinator_id,
                    Message.handoff_id == handoff_id,
                    Message.sent_at.is_not(None),
                )
            ).first()
            return (aware(row.created_at).timestamp(), aware(row.sent_at).timestamp()) if row else None

    queued, sent = poll(alert_sent)
    poll(lambda: replies(number) >= len(TURNS) + 1)  # the resident's "done" SMS went out too
    return {
        "consent_to_stored_ms": (stored - consent_wall) * 1000,
        "consent_to_alert_queued_ms": (queued - consent_wall) * 1000,
        "consent_to_alert_sent_ms": (sent - consent_wall) * 1000,
        "consent_to_event_ms": (event_arrival - consent_wall) * 1000,
        "stored_to_event_ms": (event_arrival - stored) * 1000,
        "stored_to_alert_sent_ms": (sent - stored) * 1000,
    }


def summary(values: list[float]) -> dict:
    ordered = sorted(values)
    return {
        "n": len(values),
        "median_ms": round(statistics.median(values), 1),
        "p95_ms": round(ordered[max(0, round(0.95 * len(ordered)) - 1)], 1),
        "min_ms": round(ordered[0], 1),
        "max_ms": round(ordered[-1], 1),
    }


def page_times(client: httpx.Client, paths: dict[str, str]) -> dict:
    result = {}
    for name, path in paths.items():
        client.get(path)  # warm
        times = []
        for _ in range(PAGE_LOADS):
            started = time.perf_counter()
            response = client.get(path)
            times.append((time.perf_counter() - started) * 1000)
            response.raise_for_status()
        result[name] = summary(times)
    return result


def browser_times(stack: Stack, email: str, paths: dict[str, str]) -> dict | None:
    if not CHROMIUM.exists():
        return None
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        return None
    result = {}
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        page = browser.new_page(base_url=stack.gateway_url)
        page.goto("/inbox/login")
        page.fill("#email", email)
        page.fill("#password", PASSWORD)
        page.click("form.card button[type=submit]")
        page.wait_for_url("**/inbox")
        for name, path in paths.items():
            loads, live = [], []
            for _ in range(10):
                page.goto(path)
                page.wait_for_selector("body[data-live=on]")  # the event stream is open too
                loads.append(page.evaluate("performance.getEntriesByType('navigation')[0].loadEventEnd"))
                live.append(page.evaluate("performance.now()"))
            result[name] = {"load_event": summary(loads), "live_stream_open": summary(live)}
        browser.close()
    return result


def main() -> None:
    stack = bench_stack("hubguide-bench-handoff-")
    stack.start()
    stream = None
    try:
        email = "bench-coordinator@hub.example"
        with session_scope() as session:
            coordinator, _ = accounts.create_coordinator(
                session, name="Bench", email=email, hub="hjallbo", phone="+46709990999", password=PASSWORD
            )
            coordinator_id = coordinator.id
        client = httpx.Client(base_url=stack.gateway_url, timeout=30)
        page = client.get("/inbox/login")
        token = re.search(r'name="csrf" value="([^"]+)"', page.text).group(1)
        client.post("/inbox/login", data={"csrf": token, "email": email, "password": PASSWORD, "next": "/inbox"})
        stream = EventStream(stack.gateway_url + "/inbox/events", client.cookies)
        one_handoff(stack, stream, coordinator_id, "+46708880000")  # warm every path once
        samples = [one_handoff(stack, stream, coordinator_id, f"+4670888{i:04d}") for i in range(1, HANDOFFS + 1)]
        with session_scope() as session:
            some = session.scalars(select(Handoff.id).order_by(Handoff.id.desc())).first()
        paths = {
            "inbox list (/inbox)": "/inbox",
            "one handoff (/inbox/handoffs/N)": f"/inbox/handoffs/{some}",
            "API list (/api/handoffs)": "/api/handoffs",
            "API one (/api/handoffs/N)": f"/api/handoffs/{some}",
            "statistics (/inbox/stats)": "/inbox/stats",
        }
        http_pages = page_times(client, paths)
        browser_pages = browser_times(stack, email, {k: v for k, v in paths.items() if k.startswith(("inbox", "one"))})
    finally:
        if stream is not None:
            stream.close()
        stack.stop()
    metrics = {key: summary([s[key] for s in samples]) for key in samples[0]}
    result = {
        "when": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "handoffs": HANDOFFS,
        "handoff": metrics,
        "pages_http": http_pages,
        "pages_browser": browser_pages,
    }
    lines = [
        f"# Handoff benchmark, {result['when']}",
        "",
        f"{HANDOFFS} handoffs over SMS (dry-run), one after another, same run; times from the webhook POST "
        "of the resident's last answer (the consent).",
        "",
        "| measure | median ms | p95 ms | min | max |",
        "|---|---|---|---|---|",
    ]
    labels = {
        "consent_to_stored_ms": "consent → handoff stored (bot turn)",
        "consent_to_alert_queued_ms": "consent → alert SMS queued",
        "consent_to_alert_sent_ms": "consent → alert SMS sent (dry-run)",
        "consent_to_event_ms": "consent → event at the coordinator's stream",
        "stored_to_event_ms": "handoff stored → event at the stream (live update)",
        "stored_to_alert_sent_ms": "handoff stored → alert SMS sent",
    }
    for key, label in labels.items():
        m = metrics[key]
        lines.append(f"| {label} | {m['median_ms']:.0f} | {m['p95_ms']:.0f} | {m['min_ms']:.0f} | {m['max_ms']:.0f} |")
    lines += [
        "",
        f"Pages over HTTP ({PAGE_LOADS} loads each, signed in):",
        "",
        "| page | median ms | p95 ms |",
        "|---|---|---|",
    ]
    lines += [f"| {name} | {m['median_ms']:.1f} | {m['p95_ms']:.1f} |" for name, m in http_pages.items()]
    if browser_pages:
        lines += [
            "",
            "In headless Chromium (10 loads each):",
            "",
            "| page | load event median ms | live stream open median ms |",
            "|---|---|---|",
        ]
        lines += [
            f"| {name} | {m['load_event']['median_ms']:.0f} | {m['live_stream_open']['median_ms']:.0f} |"
            for name, m in browser_pages.items()
        ]
    write_report("handoff", result, "\n".join(lines))


if __name__ == "__main__":
    main()
