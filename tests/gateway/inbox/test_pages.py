"""The inbox pages: what a resident or a coordinator wrote is text, never
markup; phone numbers are masked everywhere; no inline script; the API is in
the OpenAPI."""

from __future__ import annotations

import re
from html.parser import HTMLParser

import pytest

from gateway.db import session_scope
from gateway.models import Handoff, Message
from gateway.store import mask
from tests.gateway.inbox.conftest import Browser, add_coordinator, add_handoff

NUMBER = "+46701234567"
SCRIPT = "<script>alert('xss')</script>"
IMG = '<img src=x onerror="alert(1)">'
QUOTE = '"><svg onload=alert(2)>'
NAME = 'Eve "<script>alert(3)</script>'


@pytest.fixture
def ana(gateway):
    add_coordinator("ana@hjallbo.example", hub="hjallbo")
    return Browser(gateway, "ana@hjallbo.example")


@pytest.fixture
def hostile(ana):
    handoff = add_handoff(address=NUMBER, said=(SCRIPT, IMG), area=QUOTE, note=IMG, topic="job_search")
    with session_scope() as session:
        resident = session.get(Handoff, handoff).resident
        session.add(
            Message(
                resident_id=resident.id,
                handoff_id=handoff,
                direction="in",
                channel="sms",
                sender="resident",
                body=f"ring mig på {NUMBER} {SCRIPT}",
                status="to_coordinator",
            )
        )
    return handoff


class Shown(HTMLParser):
    """What a browser makes of a page: its text (character references read) and each element's attributes."""

    def __init__(self, page: str) -> None:
        super().__init__()
        self.texts: list[str] = []
        self.attributes: list[dict] = []
        self.feed(page)
        self.close()

    def handle_starttag(self, tag, attrs):
        self.attributes.append(dict(attrs))

    def handle_data(self, data):
        self.texts.append(data)

    def text(self) -> str:
        return "".join(self.texts)

    def element(self, id_: str) -> dict:
        return next(attributes for attributes in self.attributes if attributes.get("id") == id_)


def no_raw_markup(page: str) -> None:
    for payload in (SCRIPT, IMG, QUOTE, NAME, "<svg onload", "<img src=x", "<script>alert"):
        assert payload not in page
    # The only script element is the inbox's own file.
    assert re.findall(r"<script[^>]*>", page) == ['<script src="/inbox/static/inbox.js" defer>']


def test_what_residents_write_is_shown_as_text_on_the_handoff_page(ana, hostile):
    page = ana.get(f"/inbox/handoffs/{hostile}").text
    no_raw_markup(page)
    shown = Shown(page).text()
    assert SCRIPT in shown and IMG in shown  # the messages and the summary, as the resident wrote them
    assert QUOTE in shown  # the area, in an element and never in an attribute


def test_what_residents_write_is_shown_as_text_in_the_list(ana, hostile):
    page = ana.get("/inbox").text
    no_raw_markup(page)
    assert QUOTE in Shown(page).text()


def test_a_coordinators_name_is_text_on_every_page_that_shows_it(gateway, hostile):
    add_coordinator("eve@hjallbo.example", hub="hjallbo", name=NAME)
    add_coordinator("admin@hub.example", role="admin", hub=None)
    eve, admin = Browser(gateway, "eve@hjallbo.example"), Browser(gateway, "admin@hub.example")
    assert eve.form(f"/inbox/handoffs/{hostile}/claim").status_code == 303
    pages = {
        f"eve {url}": eve.get(url).text  # beside "Sign out" on every page, and as who claimed the handoff
        for url in ("/inbox", f"/inbox/handoffs/{hostile}", "/inbox/stats", "/inbox/account")
    }
    pages |= {
        f"admin {url}": admin.get(url).text
        for url in ("/inbox", f"/inbox/handoffs/{hostile}", "/inbox/admin/coordinators")
    }
    # An admin's new account that fails keeps what they typed, in the form fields' value attributes.
    taken = admin.form(
        "/inbox/admin/coordinators",
        {"name": NAME, "email": "eve@hjallbo.example", "phone": NAME, "role": "coordinator", "hub": "hjallbo"},
    )
    assert taken.status_code == 409
    pages["admin's form again"] = taken.text
    for where, page in pages.items():
        no_raw_markup(page)
        assert NAME in Shown(page).text(), where
    form = Shown(taken.text)
    assert form.element("new-name")["value"] == NAME and form.element("new-phone")["value"] == NAME


def test_the_api_returns_text_as_json_data_for_the_page_to_set_as_text(ana, hostile):
    response = ana.get(f"/api/handoffs/{hostile}")
    assert response.headers["content-type"] == "application/json"
    assert SCRIPT in [m["body"] for m in response.json()["messages"]]  # data; inbox.js uses textContent
    script = ana.get("/inbox/static/inbox.js").text
    assert "innerHTML" not in script and "insertAdjacentHTML" not in script and "textContent" in script


def test_the_full_phone_number_appears_nowhere_but_masked(ana, hostile, gateway):
    masked = mask("sms", NUMBER)
    assert masked == "+467••••••67"
    detail_page = ana.get(f"/inbox/handoffs/{hostile}").text
    assert masked in detail_page
    # The resident typed their number into a message: that is their text; the contact field is masked.
    detail_page = detail_page.replace(f"ring mig på {NUMBER}", "")
    pages = [
        detail_page,
        ana.get("/inbox").text,
        ana.get("/inbox/stats").text,
        ana.get("/inbox/stats.csv").text,
        ana.get("/api/handoffs").text,
        ana.get("/api/stats").text,
    ]
    detail = ana.get(f"/api/handoffs/{hostile}").json()
    assert detail["resident"]["contact"] == masked
    for message in detail["messages"]:
        message["body"] = message["body"].replace(f"ring mig på {NUMBER}", "")
    pages.append(str(detail))
    for page in pages:
        assert NUMBER not in page and "701234567" not in page


def test_pages_forbid_inline_script_and_framing_and_caching(ana, hostile):
    for url in ("/inbox", f"/inbox/handoffs/{hostile}", "/inbox/stats", "/inbox/account", f"/api/handoffs/{hostile}"):
        headers = ana.get(url).headers
        assert "script-src 'self'" in headers["content-security-policy"], url
        assert "frame-ancestors 'none'" in headers["content-security-policy"]
        assert headers["cache-control"] == "no-store" and headers["x-content-type-options"] == "nosniff"


def test_the_handoff_page_names_the_language_and_offers_the_actions(ana, hostile):
    page = ana.get(f"/inbox/handoffs/{hostile}").text
    assert "Arabic" in page
    for action in ("claim", "reply", "reassign", "close"):
        assert f'action="/inbox/handoffs/{hostile}/{action}"' in page
    for outcome in ("work", "studies", "business", "other_service", "no_contact"):
        assert f'value="{outcome}"' in page
    assert 'data-page="handoff"' in page and f'data-handoff="{hostile}"' in page
    assert 'value="bergsjon"' in page and 'value="hjallbo"' not in page  # reassign to another hub


def test_the_static_files_are_served_from_the_gateway(gateway):
    script = gateway.get("/inbox/static/inbox.js")
    assert script.status_code == 200 and script.headers["content-type"].startswith("text/javascript")
    assert "EventSource" in script.text and "/inbox/events" in script.text
    assert gateway.get("/inbox/static/inbox.css").status_code == 200
    assert gateway.get("/inbox/static/../settings.py").status_code == 404


def test_the_api_is_in_the_openapi_document(gateway):
    paths = gateway.get("/openapi.json").json()["paths"]
    for path in (
        "/api/handoffs",
        "/api/handoffs/{handoff_id}",
        "/api/handoffs/{handoff_id}/claim",
        "/api/handoffs/{handoff_id}/reply",
        "/api/handoffs/{handoff_id}/reassign",
        "/api/handoffs/{handoff_id}/close",
        "/api/stats",
    ):
        assert path in paths, path
    assert "/inbox/login" not in paths


def test_the_login_page_has_no_session_yet_but_a_csrf_token(gateway):
    page = gateway.get("/inbox/login")
    assert page.status_code == 200 and 'name="csrf"' in page.text and 'autocomplete="current-password"' in page.text
