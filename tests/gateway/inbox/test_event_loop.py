"""The inbox never waits for the database on the event loop.

On SQLite the gateway has one database connection, shared by the intake thread
and the database thread. A handler that checks it out on the event loop blocks
the loop while the intake thread holds it, and every SMS webhook's
acknowledgement waits with it. So every checkout the inbox makes must happen on
another thread: the database thread (``gateway.db.run``) or FastAPI's thread pool
(the sync dependencies that load the signed-in coordinator)."""

from __future__ import annotations

import asyncio
import threading
import traceback

import pytest
from sqlalchemy import event

from gateway import db
from gateway.events import Bus
from gateway.inbox import live, security
from gateway.inbox.security import COOKIE, decode_session, load_user
from tests.gateway.inbox.conftest import PASSWORD, Browser, add_coordinator, add_handoff, sign_in


@pytest.fixture
def on_loop(gateway):
    """Where the database connection was checked out on a thread running an event loop
    (from the moment the gateway has started)."""
    seen: list[str] = []

    def checkout(_dbapi_connection, _record, _proxy):
        try:
            asyncio.get_running_loop()
        except RuntimeError:
            return
        ours = [
            f"{frame.filename}:{frame.lineno} {frame.name}"
            for frame in traceback.extract_stack()
            if "site-packages" not in frame.filename and frame.filename != __file__
        ]
        seen.append(f"in thread {threading.current_thread().name}, from " + " <- ".join(reversed(ours[-3:])))

    engine = db.engine()
    event.listen(engine, "checkout", checkout)
    yield seen
    event.remove(engine, "checkout", checkout)


def assert_off_loop(seen: list[str]) -> None:
    assert not seen, f"{len(seen)} checkout(s) on the event loop:\n" + "\n".join(dict.fromkeys(seen))


def test_signing_in_and_out_checks_the_database_out_off_the_event_loop(gateway, on_loop):
    add_coordinator("ana@hjallbo.example", name="Ana")
    assert sign_in(gateway, "nobody@hjallbo.example").status_code == 401  # unknown email
    assert sign_in(gateway, "ana@hjallbo.example", "wrong password!").status_code == 401
    assert sign_in(gateway, "ana@hjallbo.example", PASSWORD).status_code == 303
    assert gateway.get("/inbox/login", follow_redirects=False).status_code == 303  # signed in already
    assert gateway.get("/inbox/static/nothing.js").status_code == 404  # an error page names the user
    token = decode_session(gateway.state.settings, gateway.cookies.get(COOKIE))["t"]
    assert gateway.post("/inbox/logout", data={"csrf": token}, follow_redirects=False).status_code == 303
    assert_off_loop(on_loop)


def test_the_handoff_pages_and_forms_check_the_database_out_off_the_event_loop(gateway, on_loop):
    add_coordinator("ana@hjallbo.example", name="Ana")
    ana = Browser(gateway, "ana@hjallbo.example")
    handoff, moved = add_handoff(), add_handoff(address="+46709876543")
    assert ana.get("/inbox").status_code == 200
    assert ana.get("/inbox?status=closed").status_code == 200
    assert ana.get(f"/inbox/handoffs/{handoff}").status_code == 200
    assert ana.get("/inbox/handoffs/999999").status_code == 404
    assert ana.form(f"/inbox/handoffs/{handoff}/claim").status_code == 303
    assert ana.form(f"/inbox/handoffs/{handoff}/reply", {"body": "Hej!"}).status_code == 303
    assert ana.form(f"/inbox/handoffs/{handoff}/reply", {"body": "  "}).status_code == 422
    assert ana.form(f"/inbox/handoffs/{moved}/reassign", {"hub": "bergsjon"}).status_code == 303
    assert ana.form(f"/inbox/handoffs/{moved}/claim").status_code == 404  # not in her hub any more
    assert ana.form(f"/inbox/handoffs/{handoff}/close", {"outcome": "work"}).status_code == 303
    assert ana.form(f"/inbox/handoffs/{handoff}/reply", {"body": "Hej igen"}).status_code == 409
    assert ana.get("/inbox/stats").status_code == 200
    assert ana.get("/inbox/stats.csv").status_code == 200
    assert_off_loop(on_loop)


def test_the_account_pages_check_the_database_out_off_the_event_loop(gateway, on_loop):
    add_coordinator("ana@hjallbo.example", name="Ana")
    ana = Browser(gateway, "ana@hjallbo.example")
    assert ana.get("/inbox/account").status_code == 200
    assert ana.form("/inbox/account/duty", {}).status_code == 303
    new = "a brand new passphrase"
    assert ana.form("/inbox/account/password", {"current": PASSWORD, "new": new, "again": "other"}).status_code == 422
    assert ana.form("/inbox/account/password", {"current": "wrong", "new": new, "again": new}).status_code == 422
    assert ana.form("/inbox/account/password", {"current": PASSWORD, "new": new, "again": new}).status_code == 303
    assert_off_loop(on_loop)


def test_the_admin_pages_check_the_database_out_off_the_event_loop(gateway, on_loop):
    add_coordinator("admin@hub.example", hub=None, role="admin", name="Admin")
    admin = Browser(gateway, "admin@hub.example")
    assert admin.get("/inbox/admin/coordinators").status_code == 200
    person = {"name": "Dana", "email": "dana@hub.example", "hub": "hjallbo", "role": "coordinator"}
    assert admin.form("/inbox/admin/coordinators", person).status_code == 201
    assert admin.form("/inbox/admin/coordinators", person).status_code == 409
    dana = next(p for p in admin.get("/api/coordinators").json() if p["email"] == "dana@hub.example")["id"]
    assert (
        admin.form(
            f"/inbox/admin/coordinators/{dana}", {"role": "coordinator", "hub": "bergsjon", "active": "1"}
        ).status_code
        == 303
    )
    assert (
        admin.form(
            f"/inbox/admin/coordinators/{dana}", {"role": "coordinator", "hub": "hjallbo", "phone": "not a number"}
        ).status_code
        == 422
    )
    assert admin.form("/inbox/admin/coordinators/999999", {"role": "admin"}).status_code == 404
    assert admin.form(f"/inbox/admin/coordinators/{dana}/password").status_code == 200
    assert admin.form("/inbox/admin/coordinators/999999/password").status_code == 404
    assert admin.get("/inbox/admin/hubs").status_code == 200
    assert_off_loop(on_loop)


def test_the_api_checks_the_database_out_off_the_event_loop(gateway, on_loop):
    add_coordinator("ana@hjallbo.example", name="Ana")
    add_coordinator("admin@hub.example", hub=None, role="admin", name="Admin")
    ana, admin = Browser(gateway, "ana@hjallbo.example"), Browser(gateway, "admin@hub.example")
    handoff, moved = add_handoff(), add_handoff(address="+46709876543")
    assert ana.get("/api/me").status_code == 200
    assert ana.get("/api/handoffs").status_code == 200
    assert ana.get(f"/api/handoffs/{handoff}").status_code == 200
    assert ana.get("/api/handoffs/999999").status_code == 404
    assert ana.api(f"/api/handoffs/{handoff}/claim").status_code == 200
    assert ana.api(f"/api/handoffs/{handoff}/reply", {"body": "Hej!"}).status_code == 201
    assert ana.api(f"/api/handoffs/{handoff}/reply", {"body": "  "}).status_code == 422
    assert ana.api(f"/api/handoffs/{moved}/reassign", {"hub": "bergsjon"}).status_code == 200
    assert ana.api(f"/api/handoffs/{moved}/close", {"outcome": "work"}).status_code == 404
    assert ana.api(f"/api/handoffs/{handoff}/close", {"outcome": "work"}).status_code == 200
    assert ana.api(f"/api/handoffs/{handoff}/claim").status_code == 409
    assert ana.get("/api/hubs").status_code == 200
    assert ana.get("/api/stats").status_code == 200
    assert admin.get("/api/coordinators").status_code == 200
    created = admin.api("/api/coordinators", {"name": "Cia", "email": "cia@hub.example", "hub": "hjallbo"})
    assert created.status_code == 201
    assert (
        admin.api("/api/coordinators", {"name": "Cia", "email": "cia@hub.example", "hub": "hjallbo"}).status_code == 409
    )
    cia = created.json()["id"]
    assert admin.api(f"/api/coordinators/{cia}", {"on_duty": False}, method="PATCH").status_code == 200
    assert admin.api("/api/coordinators/999999", {"on_duty": False}, method="PATCH").status_code == 404
    assert admin.api(f"/api/coordinators/{cia}/password").status_code == 200
    assert admin.api("/api/coordinators/999999/password").status_code == 404
    assert_off_loop(on_loop)


def test_the_live_stream_reloads_the_coordinator_off_the_event_loop(gateway, on_loop):
    add_coordinator("ana@hjallbo.example", name="Ana")
    sign_in(gateway, "ana@hjallbo.example")
    data = decode_session(gateway.state.settings, gateway.cookies.get(COOKIE))
    user = load_user(data)
    on_loop.clear()

    async def scenario():
        # As /inbox/events does, with a short keepalive so the reload comes at once.
        stream = live.event_stream(Bus(), user, lambda: load_user(data), keepalive=0.01)
        frames = [await stream.__anext__(), await stream.__anext__()]
        await stream.aclose()
        return frames

    ready, keepalive = asyncio.run(scenario())
    assert "event: ready" in ready and keepalive == ": keepalive\n\n"
    assert_off_loop(on_loop)


def test_password_hashing_holds_neither_the_database_thread_nor_the_event_loop(gateway, monkeypatch):
    # A hash takes about 0.2 s. On the database thread, inside a transaction, it
    # would hold the one SQLite connection and residents' turns would wait.
    where: list[str] = []

    def recorded(fn):
        def wrapper(*args):
            try:
                asyncio.get_running_loop()
                where.append(f"{fn.__name__} on the event loop")
            except RuntimeError:
                if threading.current_thread().name.startswith("db"):
                    where.append(f"{fn.__name__} on the database thread")
            calls.append(fn.__name__)
            return fn(*args)

        return wrapper

    calls: list[str] = []
    monkeypatch.setattr(security, "hash_password", recorded(security.hash_password))
    monkeypatch.setattr(security, "verify_password", recorded(security.verify_password))
    monkeypatch.setattr(security, "needs_rehash", lambda _hash: True)  # as after a change of parameters
    add_coordinator("admin@hub.example", hub=None, role="admin", name="Admin")
    admin = Browser(gateway, "admin@hub.example")  # signs in: a check, then a rehash
    person = {"name": "Dana", "email": "dana@hub.example", "hub": "hjallbo", "role": "coordinator"}
    assert admin.form("/inbox/admin/coordinators", person).status_code == 201
    dana = next(p for p in admin.get("/api/coordinators").json() if p["email"] == "dana@hub.example")["id"]
    assert admin.form(f"/inbox/admin/coordinators/{dana}/password").status_code == 200
    created = admin.api("/api/coordinators", {"name": "Cia", "email": "cia@hub.example", "hub": "hjallbo"})
    assert admin.api(f"/api/coordinators/{created.json()['id']}/password").status_code == 200
    new = "a brand new passphrase"
    assert admin.form("/inbox/account/password", {"current": PASSWORD, "new": new, "again": new}).status_code == 303
    assert calls.count("hash_password") >= 6 and calls.count("verify_password") >= 2
    assert where == []
