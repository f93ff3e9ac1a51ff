"""Who sees what: a coordinator only their own hub's handoffs, an admin all.

Another hub's handoff answers exactly like one that does not exist (404), on
the API and on the pages, and nothing about it changes."""

from __future__ import annotations

import pytest

from gateway.db import session_scope
from gateway.models import Handoff, Message
from tests.gateway.inbox.conftest import Browser, add_coordinator, add_handoff


@pytest.fixture
def two_hubs(gateway):
    add_coordinator("ana@hjallbo.example", hub="hjallbo")
    add_coordinator("bea@bergsjon.example", hub="bergsjon")
    add_coordinator("admin@hub.example", role="admin", hub=None)
    mine = add_handoff(hub="hjallbo", address="+46701110001")
    theirs = add_handoff(hub="bergsjon", address="+46701110002", language="so", said=("shaqo ayaan rabaa",))
    return Browser(gateway, "ana@hjallbo.example"), mine, theirs


def state(handoff_id: int) -> tuple:
    with session_scope() as session:
        h = session.get(Handoff, handoff_id)
        count = session.query(Message).filter(Message.handoff_id == handoff_id).count()
        return h.status, h.hub_id, h.claimed_by_id, h.outcome, count


def test_the_list_holds_only_the_coordinators_hub(two_hubs):
    ana, mine, theirs = two_hubs
    assert [h["id"] for h in ana.get("/api/handoffs").json()] == [mine]
    page = ana.get("/inbox").text
    assert f'data-id="{mine}"' in page and f'data-id="{theirs}"' not in page
    assert [h["id"] for h in ana.get("/api/handoffs?status=all").json()] == [mine]


def test_another_hubs_handoff_cannot_be_read_and_looks_like_no_handoff(two_hubs):
    ana, _, theirs = two_hubs
    missing = ana.get("/api/handoffs/999999")
    other = ana.get(f"/api/handoffs/{theirs}")
    assert other.status_code == missing.status_code == 404
    assert other.json() == missing.json()
    assert ana.get(f"/inbox/handoffs/{theirs}").status_code == 404
    assert "shaqo" not in ana.get(f"/inbox/handoffs/{theirs}").text


@pytest.mark.parametrize(
    "action, payload",
    [
        ("claim", {}),
        ("reply", {"body": "Hej!"}),
        ("reassign", {"hub": "hjallbo"}),
        ("close", {"outcome": "work"}),
    ],
)
def test_another_hubs_handoff_cannot_be_acted_on_by_api(two_hubs, action, payload):
    ana, _, theirs = two_hubs
    before = state(theirs)
    response = ana.api(f"/api/handoffs/{theirs}/{action}", payload)
    assert response.status_code == 404 and response.json() == {"detail": "no such handoff"}
    assert state(theirs) == before


@pytest.mark.parametrize(
    "action, form",
    [
        ("claim", {}),
        ("reply", {"body": "Hej!"}),
        ("reassign", {"hub": "hjallbo"}),
        ("close", {"outcome": "work"}),
    ],
)
def test_another_hubs_handoff_cannot_be_acted_on_by_page(two_hubs, action, form):
    ana, _, theirs = two_hubs
    before = state(theirs)
    assert ana.form(f"/inbox/handoffs/{theirs}/{action}", form).status_code == 404
    assert state(theirs) == before


def test_an_admin_sees_and_acts_on_every_hub(two_hubs, gateway):
    _, mine, theirs = two_hubs
    admin = Browser(gateway, "admin@hub.example")
    assert {h["id"] for h in admin.get("/api/handoffs").json()} == {mine, theirs}
    assert admin.get(f"/api/handoffs/{theirs}").status_code == 200
    assert admin.get(f"/inbox/handoffs/{theirs}").status_code == 200
    assert admin.api(f"/api/handoffs/{theirs}/claim").json()["claimed_by"] == "Admin"


def test_a_coordinator_is_not_an_admin(two_hubs):
    ana, *_ = two_hubs
    assert ana.get("/api/coordinators").status_code == 403
    assert ana.api("/api/coordinators", {"name": "X", "email": "x@hub.example", "hub": "hjallbo"}).status_code == 403
    assert ana.get("/inbox/admin/coordinators").status_code == 403
    assert ana.get("/inbox/admin/hubs").status_code == 403
    assert ana.form("/inbox/admin/coordinators", {"name": "X", "email": "x@hub.example"}).status_code == 403


def test_a_reassigned_handoff_leaves_the_old_hub(two_hubs, gateway):
    ana, mine, _ = two_hubs
    bea = Browser(gateway, "bea@bergsjon.example")
    assert bea.get(f"/api/handoffs/{mine}").status_code == 404
    assert ana.api(f"/api/handoffs/{mine}/reassign", {"hub": "bergsjon"}).status_code == 200
    assert ana.get(f"/api/handoffs/{mine}").status_code == 404
    assert bea.get(f"/api/handoffs/{mine}").json()["status"] == "open"


def test_stats_of_a_coordinator_cover_their_hub_only(two_hubs, gateway):
    ana, *_ = two_hubs
    admin = Browser(gateway, "admin@hub.example")
    # The counts themselves are too small to show (tests/gateway/inbox/test_stats.py): which hubs are there is not.
    assert [bar["key"] for bar in ana.get("/api/stats").json()["handoffs"]["by_hub"]] == ["hjallbo"]
    assert {bar["key"] for bar in admin.get("/api/stats").json()["handoffs"]["by_hub"]} == {"hjallbo", "bergsjon"}


def test_admins_manage_accounts_with_a_one_time_password_shown_once(gateway):
    add_coordinator("admin@hub.example", role="admin", hub=None)
    admin = Browser(gateway, "admin@hub.example")
    created = admin.api(
        "/api/coordinators", {"name": "Cia", "email": "cia@hub.example", "hub": "hjallbo", "phone": "+46 70 111 22 33"}
    )
    assert created.status_code == 201
    body = created.json()
    assert body["phone"] == "+46701112233" and len(body["one_time_password"]) >= 12
    assert all(p.get("one_time_password") is None for p in admin.get("/api/coordinators").json())
    Browser(gateway, "cia@hub.example", body["one_time_password"])  # signs in with it
    assert (
        admin.api("/api/coordinators", {"name": "Cia", "email": "CIA@hub.example", "hub": "hjallbo"}).status_code == 409
    )
    assert admin.api("/api/coordinators", {"name": "Dan", "email": "dan@hub.example"}).status_code == 422  # no hub
    changed = admin.api(f"/api/coordinators/{body['id']}", {"hub": "bergsjon", "on_duty": False}, method="PATCH")
    assert changed.json()["hub"] == "bergsjon" and changed.json()["on_duty"] is False
    me = admin.get("/api/me").json()["id"]
    assert admin.api(f"/api/coordinators/{me}", {"active": False}, method="PATCH").status_code == 422


def test_a_coordinator_cannot_be_left_without_a_hub(gateway):
    # Handoffs reach coordinators through their hub; one without a hub would see nothing.
    add_coordinator("admin@hub.example", role="admin", hub=None)
    cia = add_coordinator("cia@hub.example", name="Cia")
    admin = Browser(gateway, "admin@hub.example")
    refused = admin.api(f"/api/coordinators/{cia}", {"hub": None}, method="PATCH")
    assert refused.status_code == 422 and "needs a hub" in refused.json()["detail"]
    page = admin.form(f"/inbox/admin/coordinators/{cia}", {"role": "coordinator", "hub": "", "active": "on"})
    assert page.status_code == 422 and "needs a hub" in page.text
    assert next(p for p in admin.get("/api/coordinators").json() if p["id"] == cia)["hub"] == "hjallbo"


def test_the_admin_pages_create_and_change_accounts(gateway):
    add_coordinator("admin@hub.example", role="admin", hub=None)
    admin = Browser(gateway, "admin@hub.example")
    page = admin.form(
        "/inbox/admin/coordinators",
        {"name": "Dana <b>", "email": "dana@hub.example", "role": "coordinator", "hub": "hjallbo", "on_duty": "on"},
    )
    assert page.status_code == 201 and "One-time password" in page.text and "Dana &lt;b&gt;" in page.text
    people = admin.get("/api/coordinators").json()
    dana = next(p for p in people if p["email"] == "dana@hub.example")
    saved = admin.form(
        f"/inbox/admin/coordinators/{dana['id']}",
        {"role": "coordinator", "hub": "bergsjon", "phone": "+46701234000", "active": "on"},
    )
    assert saved.status_code == 303
    dana = next(p for p in admin.get("/api/coordinators").json() if p["email"] == "dana@hub.example")
    assert (dana["hub"], dana["phone"], dana["on_duty"], dana["active"]) == ("bergsjon", "+46701234000", False, True)
    reset = admin.form(f"/inbox/admin/coordinators/{dana['id']}/password")
    assert reset.status_code == 200 and "One-time password" in reset.text
    hubs = admin.get("/inbox/admin/hubs")
    assert hubs.status_code == 200 and "Framtidshubben Bergsjön" in hubs.text
