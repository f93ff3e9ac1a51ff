"""Sessions that end everywhere, streams that stop at once, cookies other sites cannot
touch, and passwords worth the name (the security review's L1, L4, L6 and L7)."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import select

from gateway.db import session_scope
from gateway.events import Bus, Event
from gateway.inbox import live, security
from gateway.inbox.security import COOKIE, password_problem
from gateway.models import Coordinator
from tests.conftest import running, wait_for
from tests.gateway.inbox.conftest import PASSWORD, Browser, add_coordinator, add_handoff, sign_in

ANA = security.User(1, "Ana", "ana@hjallbo.example", "coordinator", 1, "Hjällbo", "t" * 43)


def generation(email: str) -> int:
    with session_scope() as session:
        return session.scalars(select(Coordinator.session_generation).where(Coordinator.email == email)).one()


# --- L1: signing out holds in every process and after a restart -------------------------------------


def test_a_copied_cookie_dies_at_sign_out_on_every_replica_and_after_a_restart(settings):
    with running(settings, base_url="https://testserver") as one:
        add_coordinator("ana@hub.example")
        ana = Browser(one, "ana@hub.example")
        copied = ana.cookies.get(COOKIE)
        with running(settings, base_url="https://testserver") as other:
            other.cookies.set(COOKIE, copied)
            assert other.get("/api/me").status_code == 200
            before = generation("ana@hub.example")
            assert ana.form("/inbox/logout").status_code == 303
            wait_for(lambda: generation("ana@hub.example") > before, timeout=5, what="the sign-out stored")
            assert other.get("/api/me").status_code == 401  # another replica
    with running(settings, base_url="https://testserver") as restarted:
        restarted.cookies.set(COOKIE, copied)
        assert restarted.get("/api/me").status_code == 401  # after a restart
        assert Browser(restarted, "ana@hub.example").get("/api/me").status_code == 200  # signing in again works


def test_signing_out_is_stored_before_it_is_answered_where_the_page_awaits_it(gateway):
    add_coordinator("ana@hub.example")
    ana = Browser(gateway, "ana@hub.example")
    data = security.decode_session(gateway.state.settings, ana.cookies.get(COOKIE))
    before = generation("ana@hub.example")
    asyncio.run(security.sign_out(data))
    assert generation("ana@hub.example") == before + 1
    assert security.load_user(data) is None


# --- L4: a revoked stream gets no further event ------------------------------------------------------


def test_a_revoked_stream_gets_no_further_event_even_between_keepalives():
    async def scenario():
        bus, good = Bus(), [ANA]
        stream = live.event_stream(bus, ANA, lambda: good[0])  # keepalive after 15 s: not reached here
        assert "event: ready" in await stream.__anext__()
        bus.publish(Event("handoff_created", ANA.hub_id, {"handoff": 1}))
        first = await asyncio.wait_for(stream.__anext__(), 2)
        good[0] = None  # signed out (on any replica) or deactivated
        bus.publish(Event("handoff_created", ANA.hub_id, {"handoff": 2}))
        frames = [frame async for frame in stream]
        return first, frames

    first, frames = asyncio.run(asyncio.wait_for(scenario(), 5))
    assert '"handoff":1' in first
    assert len(frames) == 1 and "event: signed_out" in frames[0] and '"handoff":2' not in frames[0]


def test_the_stream_follows_a_move_to_another_hub_before_each_event():
    moved = security.User(ANA.id, ANA.name, ANA.email, ANA.role, ANA.hub_id + 1, "Bergsjön", ANA.csrf)

    async def scenario():
        bus, now = Bus(), [ANA]
        stream = live.event_stream(bus, ANA, lambda: now[0])
        await stream.__anext__()
        now[0] = moved
        bus.publish(Event("handoff_created", ANA.hub_id, {"handoff": 1}))  # the old hub's: not any more
        bus.publish(Event("handoff_created", moved.hub_id, {"handoff": 2}))
        frame = await asyncio.wait_for(stream.__anext__(), 2)
        await stream.aclose()
        return frame

    assert '"handoff":2' in asyncio.run(scenario())


# --- L6: other sites cannot set or clear the cookie; a __Host- cookie over https ----------------------


def test_a_cross_site_post_gets_no_cookie(gateway):
    add_coordinator("ana@hub.example")
    ana = Browser(gateway, "ana@hub.example")
    evil = {"Origin": "https://evil.example", "Sec-Fetch-Site": "cross-site"}
    # A browser sends no SameSite=Lax cookie with another site's POST.
    for path in ("/inbox/login", "/inbox/logout"):
        answer = gateway.post(
            path, data={"email": "ana@hub.example", "password": "x"}, headers=evil, follow_redirects=False
        )
        assert answer.status_code in (303, 403) and "set-cookie" not in answer.headers, path
    assert ana.get("/api/me").status_code == 200  # still signed in


def test_the_cookie_is_a_host_cookie_over_https_and_plain_over_http(gateway, settings):
    add_coordinator("ana@hub.example")
    cookie = sign_in(gateway, "ana@hub.example").headers["set-cookie"]
    assert cookie.startswith("__Host-") and "Secure" in cookie and "Path=/" in cookie and "Domain" not in cookie
    assert COOKIE == security.cookie_name(settings) == "__Host-hubguide_inbox"
    plain = settings.model_copy(update={"public_base_url": "http://127.0.0.1:8000"})
    assert security.cookie_name(plain) == "hubguide_inbox"  # browsers refuse __Host- without Secure


# --- L7: weak passwords, and one-time passwords changed at the first sign-in ----------------------------


@pytest.mark.parametrize(
    "weak",
    [
        "aaaaaaaaaaaa",
        "passwordpassword",
        "123456789012",
        "qwertyuiopasdfgh",
        "abcabcabcabc",
        "Password1234",
        "lösenord2026!",
        "1q2w3e4r5t6y",
        "iloveyou1234",
        "hubguide2026!",
        "ana.andersson1",
    ],
)
def test_common_or_repetitive_passwords_are_refused(weak):
    assert password_problem(weak, ("ana.andersson@hub.example", "Ana Andersson")) is not None


@pytest.mark.parametrize("good", [PASSWORD, "a much longer new password", "Tåg till Borås kl 7", "k9#Lm2$vQ8@z"])
def test_passphrases_and_random_passwords_are_accepted(good):
    assert password_problem(good) is None


def test_a_weak_password_is_refused_when_chosen(gateway):
    add_coordinator("ana@hub.example")
    ana = Browser(gateway, "ana@hub.example")
    refused = ana.api("/api/me/password", {"current": PASSWORD, "new": "passwordpassword"})
    assert refused.status_code == 422 and "common" in refused.json()["detail"]


def test_a_one_time_password_must_be_changed_at_the_first_sign_in(gateway):
    add_coordinator("admin@hub.example", role="admin", hub=None)
    admin = Browser(gateway, "admin@hub.example")
    created = admin.api("/api/coordinators", {"name": "Cia", "email": "cia@hub.example", "hub": "hjallbo"}).json()
    handoff = add_handoff()
    cia = Browser(gateway, "cia@hub.example", created["one_time_password"])
    me = cia.get("/api/me")
    assert me.status_code == 200 and me.json()["must_change_password"] is True
    blocked = cia.get("/api/handoffs")
    assert blocked.status_code == 403 and "password" in blocked.json()["detail"]
    assert cia.api(f"/api/handoffs/{handoff}/claim").status_code == 403
    page = cia.get("/inbox")
    assert page.status_code == 403 and "/inbox/account" in page.text
    assert cia.get("/inbox/account").status_code == 200  # where the password is changed
    assert (
        cia.api(
            "/api/me/password", {"current": created["one_time_password"], "new": "my very own passphrase"}
        ).status_code
        == 200
    )
    assert cia.get("/api/me").json()["must_change_password"] is False
    assert cia.get("/api/handoffs").status_code == 200 and cia.get("/inbox").status_code == 200
    reset = admin.api(f"/api/coordinators/{created['id']}/password").json()["one_time_password"]
    again = Browser(gateway, "cia@hub.example", reset)
    assert again.get("/api/handoffs").status_code == 403  # a reset gives a one-time password again


def test_the_page_form_for_a_new_password_clears_the_one_time_flag(gateway):
    add_coordinator("admin@hub.example", role="admin", hub=None)
    admin = Browser(gateway, "admin@hub.example")
    created = admin.api("/api/coordinators", {"name": "Cia", "email": "cia@hub.example", "hub": "hjallbo"}).json()
    cia = Browser(gateway, "cia@hub.example", created["one_time_password"])
    new = "my very own passphrase"
    changed = cia.form("/inbox/account/password", {"current": created["one_time_password"], "new": new, "again": new})
    assert changed.status_code == 303 and cia.get("/inbox").status_code == 200
