"""The second sign-in step (TOTP, RFC 6238): set up from the Account page, required of admins,
a code accepted once, wrong codes limited and audited, one-time recovery codes, resets.

Real codes from pyotp: ``at(time)`` for a moment the test names, passed to the checks that
take a ``now``; pages check the clock's time, and get the current step's code."""

from __future__ import annotations

import asyncio
import json
import logging
import re
import time
import xml.etree.ElementTree as ET

import httpx
import pyotp
import qrcode
from sqlalchemy import select

from gateway.db import session_scope
from gateway.inbox import __main__ as cli
from gateway.inbox import second_factor
from gateway.inbox.security import SET_UP_SECOND_FACTOR
from gateway.inbox.sign_in_pages import STEP_TWO
from gateway.inbox.throttles import MAX_FAILURES
from gateway.models import Audit, Coordinator
from tests.gateway.inbox.conftest import CSRF_DATA, CSRF_INPUT, PASSWORD, Browser, add_coordinator
from tests.gateway.inbox.second_step import KEY, code_for, turn_on

ADMIN, OTHER_ADMIN, ANA = "admin@hub.example", "boss@hub.example", "ana@hjallbo.example"
T = 1_796_000_000.0  # a moment in 2026, for the checks that take one
CODE_FIELD = re.compile(r'<input id="code" name="code" inputmode="numeric" autocomplete="one-time-code"')


def account(email: str, role: str = "coordinator", on: bool = False) -> int:
    """An account with the second step on (key ``KEY``) or off, whatever conftest gives admins."""
    coordinator_id = add_coordinator(email, role=role, hub=None if role == "admin" else "hjallbo")
    with session_scope() as session:
        if on:
            turn_on(session, coordinator_id)
        else:
            coordinator = session.get_one(Coordinator, coordinator_id)
            coordinator.totp_secret = coordinator.totp_since = coordinator.totp_last_step = None
    return coordinator_id


def stored(coordinator_id: int) -> Coordinator:
    with session_scope() as session:
        coordinator = session.get_one(Coordinator, coordinator_id)
        session.expunge(coordinator)
        return coordinator


def audit_lines() -> list[tuple[int | None, str, int | None]]:
    with session_scope() as session:
        return [(a.actor_id, a.action, a.coordinator_id) for a in session.scalars(select(Audit).order_by(Audit.id))]


def password_step(client, email: str, password: str = PASSWORD, next_path: str = "/inbox"):
    """The first step alone (conftest's ``sign_in`` may go on through the second)."""
    token = CSRF_INPUT.search(client.get("/inbox/login").text).group(1)
    form = {"csrf": token, "email": email, "password": password, "next": next_path}
    return client.post("/inbox/login", data=form, follow_redirects=False)


def code_step(client, code: str, field: str = "code"):
    page = client.get(STEP_TWO, follow_redirects=False)
    assert page.status_code == 200, page.headers
    token = CSRF_INPUT.search(page.text).group(1)
    return client.post(STEP_TWO, data={"csrf": token, field: code}, follow_redirects=False)


def csrf(client) -> str:
    return CSRF_DATA.search(client.get("/inbox/account").text).group(1)


# --- the checks -------------------------------------------------------------------------------


def test_a_code_counts_one_step_either_side_of_now_and_never_twice(gateway):
    ana = account(ANA, on=True)
    totp = pyotp.TOTP(KEY)
    with session_scope() as session:
        check = [second_factor.check_code(session, ana, totp.at(T + offset), T) for offset in (-60, -30, 0, 30, 60)]
        assert check == [False, True, True, True, False]  # clocks 30 s off still work; 60 s do not
        assert not second_factor.check_code(session, ana, totp.at(T + 30), T)  # used already
        assert not second_factor.check_code(session, ana, totp.at(T), T)  # older than the last one used
        assert second_factor.check_code(session, ana, totp.at(T + 60), T + 60)  # the next one, in its time
        assert second_factor.check_code(session, ana, totp.at(T + 90)[:3] + " " + totp.at(T + 90)[3:], T + 90)
        assert not second_factor.check_code(session, ana, "12345", T + 120)
        assert not second_factor.check_code(session, ana, "1234567", T + 120)


def test_recovery_codes_are_stored_as_argon2_hashes_and_each_works_once(gateway):
    ana = account(ANA, on=True)
    codes = second_factor.new_recovery_codes()
    assert len(codes) == 10 == len({code[:4] for code in codes})
    assert all(re.fullmatch(r"[0-9a-hjkmnp-tv-z]{4}-[0-9a-hjkmnp-tv-z]{4}-[0-9a-hjkmnp-tv-z]{4}", c) for c in codes)
    text = asyncio.run(second_factor.hash_recovery_codes(codes))
    assert all(digest.startswith("$argon2id$") for digest in json.loads(text).values())
    assert not any(code.replace("-", "")[4:] in text for code in codes)
    with session_scope() as session:
        session.get_one(Coordinator, ana).recovery_codes = text
    typed = " " + codes[3].upper().replace("-", " ") + " "  # as someone may type it
    with session_scope() as session:
        found = second_factor.recovery_hash(session, ana, typed)
    assert found is not None and asyncio.run(second_factor.check_recovery_hash(found[1], typed))
    wrong = codes[3][:-1] + ("y" if codes[3][-1] == "x" else "x")  # one character off (one in 32 ended in x)
    assert not asyncio.run(second_factor.check_recovery_hash(found[1], wrong))
    with session_scope() as session:
        assert second_factor.use_recovery_code(session, ana, found[0], typed) == 9
    with session_scope() as session:
        assert second_factor.recovery_hash(session, ana, codes[3]) is None  # gone
        assert second_factor.use_recovery_code(session, ana, found[0], codes[3]) is None  # a stale copy changes nothing
    assert [line[1] for line in audit_lines()] == [second_factor.RECOVERY_USED]


def test_the_qr_code_is_the_provisioning_uri_as_svg_without_inline_style():
    uri = second_factor.provisioning_uri(KEY, "ana@hjallbo.example")
    assert uri.startswith("otpauth://totp/") and f"secret={KEY}" in uri and "issuer=Hub%20guide%20inbox" in uri
    markup = str(second_factor.qr_svg(uri, "QR code"))
    assert markup.startswith("<svg ") and ":svg" not in markup  # an element an HTML page draws (not svg:svg)
    svg = ET.fromstring(markup)
    assert svg.get("role") == "img" and svg.get("aria-label") == "QR code"
    assert not any("style" in element.attrib for element in svg.iter()) and "<script" not in markup
    # The picture's dark squares are the QR code of the URI (4 modules of quiet zone around it).
    path = next(e for e in svg.iter() if e.tag.endswith("path") and e.get("fill") != "white").get("d")
    dark = {(int(x), int(y)) for x, y in re.findall(r"M(\d+),(\d+)H", path)}
    qr = qrcode.QRCode(border=4)
    qr.add_data(uri)
    assert dark == {(x, y) for y, row in enumerate(qr.get_matrix()) for x, on in enumerate(row) if on}


# --- admins must have it --------------------------------------------------------------------------------


def test_an_admin_without_it_is_sent_to_set_it_up_before_anything_else(gateway):
    account(ADMIN, role="admin")
    response = password_step(gateway, ADMIN, next_path="/inbox/stats")
    assert response.status_code == 303 and response.headers["location"] == SET_UP_SECOND_FACTOR
    for path in ("/inbox", "/inbox/stats", "/inbox/admin/coordinators", "/inbox/admin/second-factor"):
        answer = gateway.get(path, follow_redirects=False)
        assert answer.status_code == 303 and answer.headers["location"] == SET_UP_SECOND_FACTOR, path
    assert gateway.get("/api/handoffs").status_code == 403
    assert gateway.get("/inbox/events").status_code == 403
    assert gateway.get("/api/me").status_code == 200 and gateway.get("/inbox/account").status_code == 200


def test_setting_it_up_shows_the_key_once_and_switches_it_on_only_with_a_current_code(gateway, caplog):
    caplog.set_level(logging.DEBUG)
    admin = account(ADMIN, role="admin")
    elsewhere = Browser(gateway, ADMIN)  # signed in with the password only, before the set-up
    password_step(gateway, ADMIN)
    page = gateway.get(SET_UP_SECOND_FACTOR).text
    key = stored(admin).totp_secret
    assert len(key) == 32 and " ".join(key[i : i + 4] for i in range(0, 32, 4)) in page  # as text too
    assert 'role="img" aria-label="QR code for your authenticator app' in page and CODE_FIELD.search(page)
    gateway.get(SET_UP_SECOND_FACTOR)
    assert stored(admin).totp_secret == key  # a reload keeps the key being set up
    token = CSRF_DATA.search(page).group(1)

    wrong = gateway.post(SET_UP_SECOND_FACTOR, data={"csrf": token, "code": pyotp.TOTP(key).at(time.time() - 90)})
    assert wrong.status_code == 422 and 'role="alert"' in wrong.text and 'href="#code"' in wrong.text
    assert 'aria-invalid="true"' in wrong.text and stored(admin).totp_since is None
    assert gateway.post(SET_UP_SECOND_FACTOR, data={"code": pyotp.TOTP(key).now()}).status_code == 403  # CSRF

    done = gateway.post(SET_UP_SECOND_FACTOR, data={"csrf": token, "code": pyotp.TOTP(key).now()})
    assert done.status_code == 200
    codes = re.findall(r"<code>([0-9a-z]{4}-[0-9a-z]{4}-[0-9a-z]{4})</code>", done.text)
    assert len(codes) == 10 and stored(admin).totp_since is not None
    assert not any(code in (stored(admin).recovery_codes or "") for code in codes)
    assert gateway.get("/inbox").status_code == 200  # the set-up session goes on...
    mine = httpx.Cookies(gateway.cookies)
    with elsewhere.active() as client:  # ... the one signed in with the password only does not
        assert client.get("/api/me").status_code == 401
    gateway.cookies = mine
    account_page = gateway.get("/inbox/account").text
    assert key[:8] not in account_page and "<svg" not in account_page and "10 recovery code(s) left" in account_page
    assert gateway.get(SET_UP_SECOND_FACTOR, follow_redirects=False).headers["location"] == "/inbox/account"
    assert (admin, second_factor.ON, admin) in audit_lines()
    assert key not in caplog.text and not any(code in caplog.text for code in codes)  # never logged


def test_coordinators_may_turn_it_on_and_off_with_their_password(gateway):
    ana = account(ANA)
    assert password_step(gateway, ANA).headers["location"] == "/inbox"  # not required of them
    assert "Set up the second sign-in step" in gateway.get("/inbox/account").text
    gateway.get(SET_UP_SECOND_FACTOR)
    code = pyotp.TOTP(stored(ana).totp_secret).now()
    assert gateway.post(SET_UP_SECOND_FACTOR, data={"csrf": csrf(gateway), "code": code}).status_code == 200
    token = csrf(gateway)  # a new session for this browser: the others ended
    wrong = gateway.post("/inbox/account/second-factor/off", data={"csrf": token, "password": "not it"})
    assert wrong.status_code == 422 and 'aria-invalid="true"' in wrong.text and stored(ana).totp_since is not None
    off = gateway.post(
        "/inbox/account/second-factor/off", data={"csrf": token, "password": PASSWORD}, follow_redirects=False
    )
    assert off.headers["location"] == "/inbox/account?done=second_factor_off"
    assert stored(ana).totp_secret is None and gateway.get("/api/me").status_code == 200  # this session stays
    assert (ana, second_factor.OFF, ana) in audit_lines()
    gateway.cookies.clear()
    assert password_step(gateway, ANA).headers["location"] == "/inbox"  # the password alone again


def test_an_admin_moving_to_a_new_phone_sets_it_up_again_at_once(gateway):
    admin = account(ADMIN, role="admin", on=True)
    password_step(gateway, ADMIN)
    code_step(gateway, code_for(admin))
    moved = gateway.post(
        "/inbox/account/second-factor/off", data={"csrf": csrf(gateway), "password": PASSWORD}, follow_redirects=False
    )
    assert moved.headers["location"] == SET_UP_SECOND_FACTOR
    assert gateway.get("/inbox", follow_redirects=False).headers["location"] == SET_UP_SECOND_FACTOR
    gateway.get(SET_UP_SECOND_FACTOR)
    assert stored(admin).totp_secret not in (None, KEY)  # a new key


# --- signing in with it ----------------------------------------------------------------------------------


def test_the_password_alone_gives_no_session_and_the_code_finishes_the_sign_in(gateway):
    admin = account(ADMIN, role="admin", on=True)
    first = password_step(gateway, ADMIN, next_path="/inbox/stats")
    assert first.status_code == 303 and first.headers["location"] == STEP_TWO
    assert gateway.get("/api/me").status_code == 401
    assert gateway.get("/inbox", follow_redirects=False).headers["location"].startswith("/inbox/login")
    page = gateway.get(STEP_TWO).text
    assert CODE_FIELD.search(page) and '<label for="code">' in page and '<label for="recovery">' in page
    done = code_step(gateway, code_for(admin))
    assert done.status_code == 303 and done.headers["location"] == "/inbox/stats"
    assert gateway.get("/api/me").json()["email"] == ADMIN
    assert second_factor.PENDING_COOKIE not in gateway.cookies  # the half-signed-in value is gone


def test_a_code_is_accepted_once_only(gateway):
    admin = account(ADMIN, role="admin", on=True)
    password_step(gateway, ADMIN)
    code = code_for(admin)
    assert code_step(gateway, code).status_code == 303
    gateway.post("/inbox/logout", data={"csrf": csrf(gateway)})
    password_step(gateway, ADMIN)
    replayed = code_step(gateway, code)
    assert replayed.status_code == 401 and "used already" in replayed.text
    assert gateway.get("/api/me").status_code == 401
    assert (admin, second_factor.WRONG_CODE, admin) in audit_lines()


def test_wrong_codes_are_limited_like_passwords_and_audited(gateway):
    admin = account(ADMIN, role="admin", on=True)
    password_step(gateway, ADMIN)
    good = code_for(admin)
    wrong = f"{(int(good) + 1) % 1_000_000:06d}"
    answers = [code_step(gateway, wrong).status_code for _ in range(MAX_FAILURES)]
    refused = code_step(gateway, good)  # the right one, too late
    assert answers == [401] * MAX_FAILURES and refused.status_code == 429 and "Too many wrong codes" in refused.text
    assert gateway.get("/api/me").status_code == 401
    assert audit_lines().count((admin, second_factor.WRONG_CODE, admin)) == MAX_FAILURES


def test_the_half_signed_in_value_lasts_five_minutes_in_the_browser_that_began(gateway, monkeypatch):
    admin = account(ADMIN, role="admin", on=True)
    password_step(gateway, ADMIN)
    pending = gateway.cookies[second_factor.PENDING_COOKIE]
    gateway.cookies.clear()  # another browser, with the value but not the sign-in form's session
    password_step(gateway, "nobody@hub.example", "wrong")
    gateway.cookies.set(second_factor.PENDING_COOKIE, pending)
    assert gateway.get(STEP_TWO, follow_redirects=False).headers["location"] == "/inbox/login?expired=1"

    gateway.cookies.clear()
    password_step(gateway, ADMIN)
    pending = gateway.cookies[second_factor.PENDING_COOKIE]
    later = time.time() + second_factor.PENDING_SECONDS + 1
    code = pyotp.TOTP(KEY).at(later)
    monkeypatch.setattr(time, "time", lambda: later)
    gateway.cookies.set(second_factor.PENDING_COOKIE, pending)  # kept by the browser; refused by the gateway
    token = CSRF_INPUT.search(gateway.get("/inbox/login").text).group(1)
    late = gateway.post(STEP_TWO, data={"csrf": token, "code": code}, follow_redirects=False)
    assert late.headers["location"] == "/inbox/login?expired=1" and gateway.get("/api/me").status_code == 401
    assert "longer than 5 minutes" in gateway.get(late.headers["location"]).text
    assert stored(admin).totp_last_step is None  # the code was not even checked


def test_signing_out_everywhere_or_a_new_password_ends_the_half_signed_in_value(gateway):
    admin = account(ADMIN, role="admin", on=True)
    password_step(gateway, ADMIN)
    with session_scope() as session:
        session.get_one(Coordinator, admin).session_generation += 1  # signed out everywhere meanwhile
    answer = code_step(gateway, code_for(admin))
    assert answer.headers["location"] == "/inbox/login?expired=1" and gateway.get("/api/me").status_code == 401


def test_a_recovery_code_signs_in_once_and_says_how_many_are_left(gateway):
    admin = account(ADMIN, role="admin", on=True)
    codes = second_factor.new_recovery_codes()
    text = asyncio.run(second_factor.hash_recovery_codes(codes))
    with session_scope() as session:
        session.get_one(Coordinator, admin).recovery_codes = text
    password_step(gateway, ADMIN)
    wrong = code_step(gateway, "0000-0000-0000", field="recovery")
    assert wrong.status_code == 401 and "recovery code is wrong" in wrong.text and "<details open>" in wrong.text
    used = code_step(gateway, codes[0].upper(), field="recovery")
    assert used.status_code == 303 and used.headers["location"] == "/inbox/account?done=recovery"
    assert "9 recovery code(s) left" in gateway.get(used.headers["location"]).text
    gateway.post("/inbox/logout", data={"csrf": csrf(gateway)})
    password_step(gateway, ADMIN)
    assert code_step(gateway, codes[0], field="recovery").status_code == 401  # once only
    lines = audit_lines()
    assert (admin, second_factor.RECOVERY_USED, admin) in lines and lines.count(
        (admin, "second_factor_wrong", admin)
    ) == 2


def test_new_recovery_codes_need_the_password_and_replace_the_old_ones(gateway):
    ana = account(ANA, on=True)
    password_step(gateway, ANA)
    code_step(gateway, code_for(ana))
    token = csrf(gateway)
    assert (
        gateway.post("/inbox/account/second-factor/recovery-codes", data={"csrf": token, "password": "no"}).status_code
        == 422
    )
    first = gateway.post("/inbox/account/second-factor/recovery-codes", data={"csrf": token, "password": PASSWORD})
    before = stored(ana).recovery_codes
    second = gateway.post("/inbox/account/second-factor/recovery-codes", data={"csrf": token, "password": PASSWORD})
    assert first.status_code == second.status_code == 200 and stored(ana).recovery_codes != before
    assert audit_lines().count((ana, second_factor.NEW_CODES, ana)) == 2


# --- resets -------------------------------------------------------------------------------------------------


def test_an_admin_resets_another_accounts_second_step_and_it_is_audited(gateway):
    admin, other = account(ADMIN, role="admin", on=True), account(OTHER_ADMIN, role="admin", on=True)
    account(ANA)
    browsers = {}
    for email, coordinator_id in ((ADMIN, admin), (OTHER_ADMIN, other)):
        gateway.cookies.clear()
        password_step(gateway, email)
        code_step(gateway, code_for(coordinator_id))
        browsers[email] = httpx.Cookies(gateway.cookies)
    gateway.cookies = browsers[ADMIN]
    page = gateway.get("/inbox/admin/second-factor").text
    assert (
        'aria-label="Reset the second sign-in step of Boss"' in page
        and "Reset the second sign-in step of Admin" not in page
    )
    url = f"/inbox/admin/second-factor/{other}/reset"
    assert gateway.post(url, data={}).status_code == 403  # CSRF
    assert gateway.post(f"/inbox/admin/second-factor/{admin}/reset", data={"csrf": csrf(gateway)}).status_code == 422
    done = gateway.post(url, data={"csrf": csrf(gateway)}, follow_redirects=False)
    assert done.headers["location"] == "/inbox/admin/second-factor?done=reset"
    assert stored(other).totp_secret is None and (admin, second_factor.RESET, other) in audit_lines()
    gateway.cookies = browsers[OTHER_ADMIN]
    assert gateway.get("/api/me").status_code == 401  # their sessions ended
    gateway.cookies.clear()
    assert password_step(gateway, OTHER_ADMIN).headers["location"] == SET_UP_SECOND_FACTOR

    gateway.cookies.clear()
    password_step(gateway, ANA)
    assert gateway.get("/inbox/admin/second-factor").status_code == 403  # admins only
    assert gateway.post(url, data={"csrf": csrf(gateway)}).status_code == 403


def test_the_command_line_resets_it_for_an_admin_who_lost_everything(gateway, capsys):
    admin = account(ADMIN, role="admin", on=True)
    assert cli.main(["reset-second-factor", "--email", ADMIN.upper()]) == 0
    assert "second sign-in step reset" in capsys.readouterr().out
    assert stored(admin).totp_since is None and audit_lines() == [(None, second_factor.RESET, admin)]
