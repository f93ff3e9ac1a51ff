"""The inbox driven in-process: the real gateway app with TestClient (over
https, as the settings' public URL is https, so the Secure cookie is sent),
its own migrated SQLite database, and the Rasa server deliberately absent."""

from __future__ import annotations

import json
import queue
import re
import threading
import time
from contextlib import contextmanager

import httpx
import pytest
from argon2 import PasswordHasher
from fastapi.testclient import TestClient
from sqlalchemy import select

from gateway.db import session_scope
from gateway.handoff import HandoffRequest
from gateway.handoff import create as create_handoff
from gateway.inbox import accounts, security
from gateway.models import Hub, Message
from tests.conftest import resident as resident_for
from tests.conftest import running
from tests.gateway.inbox import second_step

PASSWORD = "correct horse battery"
CSRF_INPUT = re.compile(r'name="csrf" value="([^"]+)"')
CSRF_DATA = re.compile(r'data-csrf="([^"]+)"')


@pytest.fixture(autouse=True)
def quick_hashes(monkeypatch):
    """Cheap argon2 parameters for tests; production keeps the library's (64 MiB, 3 passes)."""
    monkeypatch.setattr(security, "HASHER", PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1))


@pytest.fixture
def gateway(settings):
    with running(settings, base_url="https://testserver") as client:
        yield client


def add_coordinator(
    email: str,
    hub: str | None = "hjallbo",
    role: str = "coordinator",
    phone: str | None = None,
    name: str | None = None,
    on_duty: bool = True,
) -> int:
    with session_scope() as session:
        coordinator, _ = accounts.create_coordinator(
            session,
            name=name or email.split("@")[0].title(),
            email=email,
            role=role,
            hub=hub,
            phone=phone,
            on_duty=on_duty,
            password=PASSWORD,
        )
        if role == "admin":  # admins must have the second sign-in step (gateway.inbox.second_factor)
            second_step.turn_on(session, coordinator.id)
        return coordinator.id


def add_handoff(
    hub: str = "hjallbo",
    address: str = "+46701234567",
    channel: str = "sms",
    language: str = "ar",
    topic: str | None = "job_search",
    said: tuple[str, ...] = ("أريد عملا",),
    area: str | None = "Hjällbo",
    note: str | None = None,
) -> int:
    """A resident who asked, was answered by the bot, and consented: as the gateway stores it."""
    with session_scope() as session:
        resident = resident_for(session, channel, address)
        resident.language = language
        for body in said:
            session.add(
                Message(
                    resident_id=resident.id,
                    direction="in",
                    channel=channel,
                    sender="resident",
                    body=body,
                    status="answered",
                    language=language,
                )
            )
            session.add(
                Message(
                    resident_id=resident.id,
                    direction="out",
                    channel=channel,
                    sender="bot",
                    body="Klart.",
                    status="dry_run",
                    language=language,
                )
            )
        return create_handoff(session, resident, HandoffRequest(hub, language, topic, area, note)).id


def hub_id(slug: str) -> int:
    with session_scope() as session:
        return session.scalars(select(Hub.id).where(Hub.slug == slug)).one()


def sign_in(
    client: TestClient, email: str, password: str = PASSWORD, next_path: str = "/inbox", headers: dict | None = None
) -> httpx.Response:
    page = client.get("/inbox/login")
    token = CSRF_INPUT.search(page.text).group(1)
    response = client.post(
        "/inbox/login",
        data={"csrf": token, "email": email, "password": password, "next": next_path},
        headers=headers or {},
        follow_redirects=False,
    )
    return second_step.finish(client, response, email, headers)  # the code, for accounts with the second step


class Browser:
    """One signed-in coordinator with their own cookies, on the shared client."""

    def __init__(self, client: TestClient, email: str, password: str = PASSWORD) -> None:
        self.client, self.cookies = client, httpx.Cookies()
        with self.active():
            response = sign_in(client, email, password)
            assert response.status_code == 303, response.text
            self.csrf = CSRF_DATA.search(client.get("/inbox").text).group(1)

    @contextmanager
    def active(self):
        self.client.cookies = self.cookies
        try:
            yield self.client
        finally:
            self.cookies = httpx.Cookies(self.client.cookies)
            self.client.cookies = httpx.Cookies()

    def get(self, url: str, **kwargs) -> httpx.Response:
        with self.active() as client:
            return client.get(url, **kwargs)

    def api(
        self, url: str, json: dict | None = None, csrf: str | None = "mine", method: str = "POST", **kwargs
    ) -> httpx.Response:
        headers = kwargs.pop("headers", {})
        if csrf is not None:
            headers["X-CSRF-Token"] = self.csrf if csrf == "mine" else csrf
        with self.active() as client:
            return client.request(method, url, json=json if json is not None else {}, headers=headers, **kwargs)

    def form(self, url: str, data: dict | None = None, csrf: str | None = "mine", **kwargs) -> httpx.Response:
        data = dict(data or {})
        if csrf is not None:
            data["csrf"] = self.csrf if csrf == "mine" else csrf
        kwargs.setdefault("follow_redirects", False)
        with self.active() as client:
            return client.post(url, data=data, **kwargs)


def messages_of(handoff_id: int | None = None, **where) -> list[Message]:
    with session_scope() as session:
        query = select(Message).order_by(Message.id)
        if handoff_id is not None:
            query = query.where(Message.handoff_id == handoff_id)
        for name, value in where.items():
            query = query.where(getattr(Message, name) == value)
        return list(session.scalars(query))


class Sse:
    """An EventSource in a thread: events (kind, data, arrival time) in a queue."""

    def __init__(self, url: str, cookies: httpx.Cookies) -> None:
        self.events: queue.Queue = queue.Queue()
        self.client = httpx.Client(cookies=cookies, timeout=httpx.Timeout(5, read=None))
        self.status = None
        self.thread = threading.Thread(target=self._read, args=(url,), daemon=True)
        self.thread.start()
        self.expect("ready")

    def _read(self, url: str) -> None:
        try:
            with self.client.stream("GET", url) as response:
                self.status = response.status_code
                kind = None
                for line in response.iter_lines():
                    if line.startswith("event: "):
                        kind = line[7:]
                    elif line.startswith("data: "):
                        self.events.put((kind, json.loads(line[6:]), time.monotonic()))
        except Exception:  # closed by the test
            pass

    def expect(self, kind: str, timeout: float = 10.0, **data) -> float:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                got, payload, arrived = self.events.get(timeout=max(0.01, deadline - time.monotonic()))
            except queue.Empty:
                break
            if got == kind and all(payload.get(k) == v for k, v in data.items()):
                return arrived
        raise AssertionError(f"no {kind} {data} event within {timeout} s")

    def kinds(self) -> list[tuple[str, dict]]:
        seen = []
        while not self.events.empty():
            kind, data, _ = self.events.get_nowait()
            seen.append((kind, data))
        return seen

    def close(self) -> None:
        self.client.close()
