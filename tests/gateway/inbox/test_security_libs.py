"""The session cookie (itsdangerous) and the sign-in limits (``limits``), without a gateway."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time

import pytest
from itsdangerous import TimestampSigner, URLSafeTimedSerializer
from limits.storage import MemoryStorage
from pydantic import SecretStr

from gateway.inbox import security
from gateway.inbox.security import SESSION_SECONDS, Throttle, Throttles, decode_session, encode_session, new_session


@pytest.fixture
def clock(monkeypatch):
    """Wall-clock time that moves only when the test says (``limits`` and itsdangerous read time.time)."""
    now = [1_800_000_000.0]
    monkeypatch.setattr(time, "time", lambda: now[0])
    return now


# --- the session cookie -------------------------------------------------------------------------


def test_a_session_comes_back_as_it_was_signed(settings):
    data = new_session()
    assert decode_session(settings, encode_session(settings, data)) == data


def test_a_tampered_cookie_is_no_session(settings):
    cookie = encode_session(settings, new_session())
    payload, stamp, signature = cookie.split(".")
    other = encode_session(settings, dict(new_session(), c=1)).split(".")[0]
    for tampered in (
        f"{other}.{stamp}.{signature}",
        f"{payload}.{stamp}.{signature[:-2]}AA",
        f"{payload}.{stamp}.",
        f"{payload}.{signature}",
        cookie + "x",
    ):
        assert decode_session(settings, tampered) is None, tampered


def test_a_cookie_signed_under_another_key_or_for_another_purpose_is_no_session(settings):
    data = new_session()
    other = settings.model_copy(update={"secret_key": SecretStr("another secret key entirely")})
    assert decode_session(settings, encode_session(other, data)) is None
    key = settings.secret_key.get_secret_value()
    signer = {"digest_method": hashlib.sha256}
    assert (
        decode_session(settings, URLSafeTimedSerializer(key, salt="web chat", signer_kwargs=signer).dumps(data)) is None
    )  # the same key, another salt


@pytest.mark.parametrize("garbage", ["", ".", "..", "x", "a.b.c", "åäö.åäö.åäö", "eyJ9.AAAA.AAAA", "%00" * 40])
def test_garbage_is_no_session(settings, garbage):
    assert decode_session(settings, garbage) is None


def test_a_cookie_of_the_old_hand_signed_format_is_no_session(settings):
    # Sessions signed before itsdangerous end: their coordinators sign in again once.
    def b64(raw: bytes) -> str:
        return base64.urlsafe_b64encode(raw).decode().rstrip("=")

    key = hmac.new(
        settings.secret_key.get_secret_value().encode(), b"hubguide inbox session v1", hashlib.sha256
    ).digest()
    body = b64(json.dumps(new_session(), separators=(",", ":")).encode())
    assert decode_session(settings, f"{body}.{b64(hmac.new(key, body.encode(), hashlib.sha256).digest())}") is None


def test_a_cookie_signed_longer_ago_than_a_session_lasts_is_no_session(settings, clock):
    # Its data says the session began a moment before it is read: only the signature's age can end it.
    cookie = encode_session(settings, dict(new_session(), i=int(clock[0]) + SESSION_SECONDS - 10))
    clock[0] += SESSION_SECONDS - 1
    assert decode_session(settings, cookie) is not None
    clock[0] += 2
    assert decode_session(settings, cookie) is None


def test_a_session_ends_when_it_began_long_enough_ago_even_if_signed_again_since(settings, clock):
    # The sign-in form signs an anonymous session again; that must not make it last longer.
    data = new_session()
    clock[0] += SESSION_SECONDS + 1
    assert decode_session(settings, encode_session(settings, data)) is None


def test_a_cookie_signed_in_the_future_is_no_session(settings, monkeypatch):
    monkeypatch.setattr(TimestampSigner, "get_timestamp", lambda _signer: int(time.time()) + 3600)
    cookie = encode_session(settings, new_session())
    monkeypatch.undo()
    assert decode_session(settings, cookie) is None


@pytest.mark.parametrize(
    "data",
    [
        [1, 2],
        {"t": "t" * 43},
        {"i": int(time.time())},
        {"i": "now", "t": "t" * 43},
        {"i": int(time.time()), "t": "short"},
    ],
)
def test_a_signed_cookie_that_is_not_a_session_is_no_session(settings, data):
    assert decode_session(settings, encode_session(settings, data)) is None


# --- limits on sign-in attempts -------------------------------------------------------------------


def test_a_key_is_held_back_once_it_has_failed_the_limit_within_the_window(clock):
    throttle = Throttle("test", 3, 60)
    for _ in range(2):
        throttle.fail("10.0.0.1")
        clock[0] += 10
    assert throttle.retry_after("10.0.0.1") == 0
    throttle.fail("10.0.0.1")  # the third failure, at t=20
    assert throttle.retry_after("10.0.0.1") == pytest.approx(40)  # the first one counts until t=60
    assert throttle.retry_after("10.0.0.2") == 0  # another key is not held back


def test_the_window_moves_one_failure_at_a_time(clock):
    throttle = Throttle("test", 3, 60)
    for _ in range(3):  # at t=0, 10 and 20
        throttle.fail("ghost@hub.example")
        clock[0] += 10
    clock[0] += 30.5  # t=60.5: the first failure no longer counts
    assert throttle.retry_after("ghost@hub.example") == 0
    throttle.fail("ghost@hub.example")
    assert throttle.retry_after("ghost@hub.example") == pytest.approx(9.5)  # until the one at t=10 expires


def test_clearing_a_key_forgets_its_failures(clock):
    throttle = Throttle("test", 1, 60)
    throttle.fail("10.0.0.1")
    assert throttle.retry_after("10.0.0.1") > 0
    throttle.clear("10.0.0.1")
    assert throttle.retry_after("10.0.0.1") == 0


def test_the_default_limits_are_the_address_and_the_unknown_email_ones_kept_apart(clock):
    throttles = Throttles.default()
    for _ in range(security.MAX_FAILURES):
        throttles.by_unknown_email.fail("same")
    assert throttles.by_unknown_email.retry_after("same") == pytest.approx(security.LOCK_SECONDS)
    assert throttles.by_address.retry_after("same") == 0  # one storage, but not one count
    for _ in range(security.IP_FAILURES - 1):
        throttles.by_address.fail("10.0.0.1")
    assert throttles.by_address.retry_after("10.0.0.1") == 0
    throttles.by_address.fail("10.0.0.1")
    assert throttles.by_address.retry_after("10.0.0.1") == pytest.approx(security.IP_WINDOW)


def test_gateways_given_one_storage_count_failures_together(clock):
    # As replicas sharing a Redis storage would: a failure at one holds the address back at the other.
    shared = MemoryStorage()
    one, other = Throttles.default(shared), Throttles.default(shared)
    for i in range(security.IP_FAILURES):
        (one if i % 2 else other).by_address.fail("10.0.0.1")
    assert one.by_address.retry_after("10.0.0.1") > 0 and other.by_address.retry_after("10.0.0.1") > 0
    assert Throttles.default().by_address.retry_after("10.0.0.1") == 0  # its own storage: not counted
