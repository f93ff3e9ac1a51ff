"""Security headers on every answer of the real gateway (gateway/headers.py, review L8):
HSTS over https, frame-ancestors limited to the pages allowed to embed the web chat, nosniff,
and the inbox's headers on the API's 401/403/422 as on its 200s."""

from __future__ import annotations

from contextlib import contextmanager

import pytest
from fastapi.testclient import TestClient

from gateway.app import create_app
from gateway.headers import SecurityHeaders
from gateway.inbox.security import SECURITY_HEADERS
from tests.conftest import reset_caches
from tests.gateway.inbox.conftest import Browser, add_coordinator, quick_hashes  # noqa: F401 (a fixture)

EMBEDDER = "https://www.hjallbo-hubben.example"


@contextmanager
def served(settings):
    """The real gateway (``create_app``) behind the middleware, as gateway/app.py mounts it."""
    with TestClient(SecurityHeaders(create_app(settings), settings), base_url="https://testserver") as client:
        yield client


@pytest.fixture
def embedded(settings, monkeypatch):
    monkeypatch.setenv("WEB_CHAT_ORIGINS", f"{EMBEDDER}, https://bibliotek.example/")
    reset_caches()
    from gateway.settings import get_settings

    return get_settings()


def test_the_web_chat_page_may_be_framed_only_by_itself_and_the_allowed_origins(embedded):
    with served(embedded) as gateway:
        page = gateway.get("/?lang=sv")
    assert page.status_code == 200
    ancestors = [p for p in page.headers.get_list("content-security-policy") if "frame-ancestors" in p]
    assert ancestors == [f"frame-ancestors 'self' https://bibliotek.example {EMBEDDER}"]
    assert page.headers["x-content-type-options"] == "nosniff"


def test_hsts_over_https_only(settings, monkeypatch):
    with served(settings) as gateway:
        assert gateway.get("/health").headers["strict-transport-security"].startswith("max-age=31536000")
    monkeypatch.setenv("PUBLIC_BASE_URL", "http://127.0.0.1:8000")
    reset_caches()
    from gateway.settings import get_settings

    with served(get_settings()) as gateway:
        assert "strict-transport-security" not in gateway.get("/health").headers


@pytest.mark.parametrize(
    ("method", "path", "status"),
    [
        ("get", "/api/handoffs", 401),
        ("get", "/api/stats?weeks=x", 401),
        ("post", "/api/handoffs/1/claim", 401),
        ("get", "/inbox/stats", 303),
        ("get", "/api/no-such-thing", 404),
    ],
)
def test_api_refusals_carry_the_same_headers_as_its_answers(settings, method, path, status):
    with served(settings) as gateway:
        answer = getattr(gateway, method)(path, follow_redirects=False)
    assert answer.status_code == status
    for name, value in SECURITY_HEADERS.items():
        assert answer.headers.get_list(name) == [value], name


def test_a_signed_in_coordinators_403_and_422_carry_them_too(settings):
    with served(settings) as gateway:
        add_coordinator("anna@hubben.example")
        anna = Browser(gateway, "anna@hubben.example")
        answers = {
            200: anna.api("/api/handoffs", method="GET", csrf=None),
            403: anna.api("/api/handoffs/1/claim", csrf=None),  # no CSRF token
            422: anna.api("/api/me/password", json={"unexpected": 1}),
        }
    for status, answer in answers.items():
        assert answer.status_code == status, answer.text
        for name, value in SECURITY_HEADERS.items():
            assert answer.headers.get_list(name) == [value], (status, name)


def test_pages_keep_their_own_policy_and_gain_no_second_one(settings):
    with served(settings) as gateway:
        login = gateway.get("/inbox/login")
        privacy = gateway.get("/privacy")
    assert login.headers.get_list("content-security-policy") == [SECURITY_HEADERS["Content-Security-Policy"]]
    assert login.headers.get_list("x-content-type-options") == ["nosniff"]
    (policy,) = privacy.headers.get_list("content-security-policy")
    assert policy.endswith("frame-ancestors 'none'")


def test_swagger_ui_and_redoc_are_off_outside_development(settings):
    with served(settings) as gateway:  # APP_ENV=test
        assert gateway.get("/docs").status_code == 404
        assert gateway.get("/redoc").status_code == 404
