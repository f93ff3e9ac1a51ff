"""Signing in and out: argon2 hashes, the session cookie, CSRF, lockout and limits."""

from __future__ import annotations

import time
from datetime import timedelta

import pytest
from sqlalchemy import select

from gateway.db import session_scope
from gateway.inbox import __main__ as cli
from gateway.inbox import accounts, security
from gateway.inbox.security import COOKIE, MAX_FAILURES, decode_session, encode_session
from gateway.models import Coordinator, utcnow
from tests.gateway.inbox.conftest import PASSWORD, Browser, add_coordinator, add_handoff, sign_in


def coordinator(email: str) -> Coordinator:
    with session_scope() as session:
        return session.scalars(select(Coordinator).where(Coordinator.email == email)).one()


def test_passwords_are_stored_as_argon2_hashes_never_in_clear(gateway):
    add_coordinator("ana@hub.example")
    stored = coordinator("ana@hub.example").password_hash
    assert stored.startswith("$argon2id$") and PASSWORD not in stored
    assert security.verify_password(stored, PASSWORD) and not security.verify_password(stored, PASSWORD + "x")
    add_coordinator("bo@hub.example")
    assert coordinator("bo@hub.example").password_hash != stored  # salted


def test_signing_in_sets_a_hardened_session_cookie_and_opens_the_inbox(gateway):
    add_coordinator("ana@hub.example", name="Ana Andersson")
    response = sign_in(gateway, "Ana@Hub.example ")  # case and spaces forgiven
    assert response.status_code == 303 and response.headers["location"] == "/inbox"
    cookie = response.headers["set-cookie"]
    assert cookie.startswith(f"{COOKIE}=") and "HttpOnly" in cookie and "SameSite=lax" in cookie.replace("Lax", "lax")
    assert "Secure" in cookie  # the public base URL is https
    page = gateway.get("/inbox")
    assert page.status_code == 200 and "Ana Andersson" in page.text
    assert gateway.get("/api/me").json()["email"] == "ana@hub.example"


def test_the_cookie_is_not_secure_on_a_plain_http_deployment(settings):
    settings.public_base_url = "http://127.0.0.1:8000"
    assert not security.is_https(settings)


def test_a_wrong_password_or_unknown_email_gets_the_same_answer_and_no_session(gateway):
    add_coordinator("ana@hub.example")
    wrong = sign_in(gateway, "ana@hub.example", "not the password")
    unknown = sign_in(gateway, "nobody@hub.example", "not the password")
    for response in (wrong, unknown):
        assert response.status_code == 401 and "Wrong email or password." in response.text
    assert gateway.get("/api/me").status_code == 401
    assert coordinator("ana@hub.example").failed_logins == 1


def test_an_account_locks_after_five_failures_even_for_the_right_password(gateway, monkeypatch):
    add_coordinator("ana@hub.example")
    answers = [sign_in(gateway, "ana@hub.example", f"guess {i}") for i in range(MAX_FAILURES)]
    assert [r.status_code for r in answers] == [401] * (MAX_FAILURES - 1) + [429]
    assert "locked for 15 more minute(s)" in answers[-1].text  # from this address (tests/.../test_sign_in_limits.py)
    locked = sign_in(gateway, "ana@hub.example", PASSWORD)
    assert locked.status_code == 429 and "locked" in locked.text
    assert gateway.get("/api/me").status_code == 401
    with session_scope() as session:  # the account's hold ends by itself...
        account = session.scalars(select(Coordinator)).one()
        assert account.locked_until is not None
        account.locked_until = utcnow() - timedelta(seconds=1)
    later = time.time() + security.LOCK_SECONDS + 1  # ... and so does this address's, 15 minutes on
    monkeypatch.setattr(time, "time", lambda: later)
    assert sign_in(gateway, "ana@hub.example", PASSWORD).status_code == 303
    assert coordinator("ana@hub.example").failed_logins == 0


def test_unknown_emails_lock_the_same_way_so_the_lock_reveals_no_account(gateway):
    answers = [sign_in(gateway, "ghost@hub.example", f"guess {i}").status_code for i in range(MAX_FAILURES + 1)]
    assert answers[-2:] == [429, 429]


def test_one_address_is_limited_across_accounts(gateway):
    for i in range(security.IP_FAILURES):
        assert sign_in(gateway, f"user{i}@hub.example", "wrong password").status_code in (401, 429)
    add_coordinator("ana@hub.example")
    limited = sign_in(gateway, "ana@hub.example", PASSWORD)
    assert limited.status_code == 429 and "from your network" in limited.text


def test_signing_in_needs_the_forms_csrf_token(gateway):
    add_coordinator("ana@hub.example")
    gateway.get("/inbox/login")
    refused = gateway.post(
        "/inbox/login", data={"email": "ana@hub.example", "password": PASSWORD}, follow_redirects=False
    )
    assert refused.status_code == 403 and gateway.get("/api/me").status_code == 401


def test_the_session_changes_at_sign_in(gateway):
    add_coordinator("ana@hub.example")
    before = gateway.get("/inbox/login")
    token_before = before.cookies.get(COOKIE)
    sign_in(gateway, "ana@hub.example")
    after = decode_session(gateway.state.settings, gateway.cookies.get(COOKIE))
    assert after["c"] and after["t"] not in (token_before or "")


def test_api_changes_need_the_csrf_header_and_page_forms_the_csrf_field(gateway):
    add_coordinator("ana@hub.example")
    handoff = add_handoff()
    ana = Browser(gateway, "ana@hub.example")
    assert ana.api(f"/api/handoffs/{handoff}/claim", csrf=None).status_code == 403
    assert ana.api(f"/api/handoffs/{handoff}/claim", csrf="x" * 43).status_code == 403
    assert ana.form(f"/inbox/handoffs/{handoff}/claim", csrf=None).status_code == 403
    assert ana.form(f"/inbox/handoffs/{handoff}/reply", {"body": "hej"}, csrf="x" * 43).status_code == 403
    assert ana.get(f"/api/handoffs/{handoff}").json()["status"] == "open"  # nothing happened
    # The right token from another site's page is refused too.
    assert ana.api(f"/api/handoffs/{handoff}/claim", headers={"Origin": "https://evil.example"}).status_code == 403
    assert ana.api(f"/api/handoffs/{handoff}/claim").status_code == 200


def test_signing_out_ends_the_session(gateway):
    add_coordinator("ana@hub.example")
    ana = Browser(gateway, "ana@hub.example")
    stolen = ana.cookies.get(COOKIE)
    out = ana.form("/inbox/logout")
    assert out.status_code == 303 and out.headers["location"].startswith("/inbox/login")
    assert ana.get("/api/me").status_code == 401
    assert ana.get("/inbox", follow_redirects=False).headers["location"].startswith("/inbox/login")
    gateway.cookies.set(COOKIE, stolen)  # a copy of the cookie kept from before
    assert gateway.get("/api/me").status_code == 401


def test_not_signed_in_the_api_says_401_and_pages_redirect_to_sign_in(gateway):
    assert gateway.get("/api/handoffs").status_code == 401
    assert gateway.post("/api/handoffs/1/claim").status_code == 401
    assert gateway.get("/inbox/events").status_code == 401
    page = gateway.get("/inbox/handoffs/1", follow_redirects=False)
    assert page.status_code == 303 and page.headers["location"] == "/inbox/login?next=/inbox/handoffs/1"


def test_a_forged_or_expired_cookie_is_no_session(gateway, settings):
    add_coordinator("ana@hub.example")
    ana = Browser(gateway, "ana@hub.example")
    data = decode_session(settings, ana.cookies.get(COOKIE))
    forged = dict(data, c=data["c"] + 1)
    body, _, signature = ana.cookies.get(COOKIE).partition(".")
    gateway.cookies.set(COOKIE, encode_session(settings, forged).split(".")[0] + "." + signature)
    assert gateway.get("/api/me").status_code == 401
    gateway.cookies.set(COOKIE, encode_session(settings, dict(data, i=data["i"] - security.SESSION_SECONDS - 1)))
    assert gateway.get("/api/me").status_code == 401


def test_a_deactivated_account_is_signed_out_at_once(gateway):
    add_coordinator("admin@hub.example", role="admin", hub=None)
    ana_id = add_coordinator("ana@hub.example")
    admin, ana = Browser(gateway, "admin@hub.example"), Browser(gateway, "ana@hub.example")
    assert admin.api(f"/api/coordinators/{ana_id}", {"active": False}, method="PATCH").status_code == 200
    assert ana.get("/api/me").status_code == 401
    assert sign_in(gateway, "ana@hub.example").status_code == 401


def test_changing_the_password_ends_other_sessions(gateway):
    add_coordinator("ana@hub.example")
    laptop, phone = Browser(gateway, "ana@hub.example"), Browser(gateway, "ana@hub.example")
    new = "a much longer new password"
    changed = laptop.form("/inbox/account/password", {"current": PASSWORD, "new": new, "again": new})
    assert changed.status_code == 303
    assert laptop.get("/api/me").status_code == 200 and phone.get("/api/me").status_code == 401
    assert sign_in(gateway, "ana@hub.example", new).status_code == 303


def test_after_sign_in_only_inbox_paths_are_followed(gateway):
    add_coordinator("ana@hub.example")
    for evil in ("https://evil.example/", "//evil.example/inbox", "/inbox\\@evil"):
        assert sign_in(gateway, "ana@hub.example", next_path=evil).headers["location"] == "/inbox"
        gateway.cookies.clear()
    assert sign_in(gateway, "ana@hub.example", next_path="/inbox/stats").headers["location"] == "/inbox/stats"


def test_the_cli_makes_an_admin_from_the_environment_password(settings, monkeypatch, capsys):
    monkeypatch.setenv(cli.PASSWORD_ENV, "a long admin password")
    assert cli.main(["create-admin", "--email", "Boss@Hub.example", "--name", "Boss"]) == 0
    admin = coordinator("boss@hub.example")
    assert admin.role == "admin" and admin.password_hash.startswith("$argon2id$")
    assert "a long admin password" not in capsys.readouterr().out
    assert cli.main(["create-admin", "--email", "boss@hub.example", "--name", "Boss"]) == 1  # exists
    monkeypatch.setenv(cli.PASSWORD_ENV, "short")
    with pytest.raises(SystemExit, match="at least 12"):
        cli.main(["create-admin", "--email", "other@hub.example", "--name", "Other"])


def test_the_cli_sets_a_password_and_unlocks(settings, monkeypatch):
    monkeypatch.setenv(cli.PASSWORD_ENV, "a long admin password")
    cli.main(["create-admin", "--email", "boss@hub.example", "--name", "Boss"])
    with session_scope() as session:
        session.scalars(select(Coordinator)).one().locked_until = utcnow() + timedelta(hours=1)
    monkeypatch.setenv(cli.PASSWORD_ENV, "another long password")
    assert cli.main(["set-password", "--email", "boss@hub.example"]) == 0
    admin = coordinator("boss@hub.example")
    assert admin.locked_until is None and security.verify_password(admin.password_hash, "another long password")


def test_a_password_change_does_not_undo_a_reset_made_while_it_was_checked(gateway):
    # The change checks the current password, hashes the new one outside any
    # transaction, then stores it only if the password is still the one checked.
    ana = add_coordinator("ana@hjallbo.example")
    with session_scope() as session:
        checked = session.get(Coordinator, ana).password_hash
        accounts.reset_password(session, ana, "an admin's new one")
    with pytest.raises(accounts.AccountError, match="changed meanwhile"), session_scope() as session:
        accounts._replace_password(session, ana, checked, accounts._password("my own new one"))
    assert sign_in(gateway, "ana@hjallbo.example", "an admin's new one").status_code == 303
