"""Hub facts kept by coordinators (gateway/inbox/hub_facts.py, issue 12 §5): a coordinator saves
their own hub's facts and each change is audited; another hub's are refused (403); a fact that is not
one is refused beside its field with nothing saved; data/hubs.yml no longer overwrites a saved fact;
and the facts reach the very next resident's handoff answer (gateway/promise.py), in the same
running gateway."""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import date, datetime, timedelta

import pytest
from sqlalchemy import select

from common import hubs
from common.hours import TZ
from gateway import promise, store
from gateway.db import session_scope
from gateway.models import Hub, HubFactChange, Message, Resident
from gateway.rasa_client import BotReply
from gateway.services import build
from tests.conftest import CannedRasa, Recorder, running
from tests.gateway.channels.test_sms import post, settle, sms
from tests.gateway.inbox.conftest import Browser, add_coordinator

FORM = {
    "address": "Hjällbo torg 1, Hjällbo",
    "phone": "031-123 45 67",
    **{f"hours_{day}": "9-12, 13:00-16:00" for day in ("mon", "tue", "wed", "thu")},
    "hours_fri": "09:00-12:00",
    "drop_in_tue": "13-16",
    "lang_ar": "on",
    "lang_so": "on",
    "closed_days": "2026-12-24 - 2026-12-26\n2027-01-06",
}


def hub(slug: str) -> Hub:
    with session_scope() as session:
        return session.scalars(select(Hub).where(Hub.slug == slug)).one()


def changes(slug: str) -> list[tuple]:
    with session_scope() as session:
        return [
            (c.actor_id, c.fact, c.before, c.after)
            for c in session.scalars(select(HubFactChange).join(Hub).where(Hub.slug == slug).order_by(HubFactChange.id))
        ]


@pytest.fixture
def ana(gateway):
    ana_id = add_coordinator("ana@hjallbo.example", hub="hjallbo")
    browser = Browser(gateway, "ana@hjallbo.example")
    browser.id = ana_id
    return browser


def test_a_coordinator_saves_their_hubs_facts_and_each_change_is_audited(ana):
    response = ana.form("/inbox/hub-facts/hjallbo", FORM)
    assert response.status_code == 303 and response.headers["location"] == "/inbox/hub-facts/hjallbo?done=saved"
    saved = hub("hjallbo")
    assert saved.address == "Hjällbo torg 1, Hjällbo" and saved.phone == "031-123 45 67"
    assert saved.hours["mon"] == [["09:00", "12:00"], ["13:00", "16:00"]] and saved.hours["fri"] == [["09:00", "12:00"]]
    assert "sat" not in saved.hours and saved.drop_in == {"tue": [["13:00", "16:00"]]}
    assert saved.languages == ["ar", "so"]
    assert saved.closed_days == [["2026-12-24", "2026-12-26"], ["2027-01-06", "2027-01-06"]]
    assert sorted(saved.edited) == ["address", "closed_days", "drop_in", "hours", "languages", "phone"]
    audit = changes("hjallbo")
    assert [(who, fact, before) for who, fact, before, _ in audit] == [
        (ana.id, fact, None) for fact in ("address", "phone", "hours", "drop_in", "languages", "closed_days")
    ]
    assert audit[1][3] == "031-123 45 67"

    page = ana.get("/inbox/hub-facts/hjallbo?done=saved").text
    assert "Saved." in page and 'value="09:00-12:00, 13:00-16:00"' in page and "Ana" in page

    # A second save records only what changed, with what it was before.
    assert ana.form("/inbox/hub-facts/hjallbo", {**FORM, "phone": "031-765 43 21"}).status_code == 303
    assert changes("hjallbo")[len(audit) :] == [(ana.id, "phone", "031-123 45 67", "031-765 43 21")]


def test_a_coordinator_can_neither_see_nor_change_another_hubs_facts(ana):
    assert ana.get("/inbox/hub-facts/bergsjon").status_code == 403
    before = hub("bergsjon")
    response = ana.form("/inbox/hub-facts/bergsjon", FORM)
    assert response.status_code == 403 and "only your own hub" in response.text
    after = hub("bergsjon")
    assert (after.address, after.phone, after.hours, after.edited) == (before.address, before.phone, None, None)
    assert changes("bergsjon") == []
    assert ana.get("/inbox/hub-facts/nowhere").status_code == 404
    # The list goes to the coordinator's own hub.
    assert ana.get("/inbox/hub-facts", follow_redirects=False).headers["location"] == "/inbox/hub-facts/hjallbo"


def test_an_admin_may_change_every_hub(gateway):
    admin_id = add_coordinator("admin@hub.example", hub=None, role="admin")
    admin = Browser(gateway, "admin@hub.example")
    listing = admin.get("/inbox/hub-facts").text
    assert "/inbox/hub-facts/bergsjon" in listing and "/inbox/hub-facts/norrby" in listing
    assert admin.form("/inbox/hub-facts/bergsjon", {**FORM, "address": "Rymdtorget 4, Bergsjön"}).status_code == 303
    assert hub("bergsjon").hours["mon"] == [["09:00", "12:00"], ["13:00", "16:00"]]
    assert (admin_id, "hours") in [(who, fact) for who, fact, _, _ in changes("bergsjon")]


@pytest.mark.parametrize(
    "field, typed, error",
    [
        ("hours_mon", "25:00-26:00", "is not a time of day"),
        ("hours_tue", "16-9", "16:00-09:00 ends before it starts"),
        ("drop_in_fri", "efter lunch", "is not a time interval"),
        ("hours_wed", "9:00-12:00, 11:00-13:00", "overlaps"),
        ("phone", "ring receptionen", "is not a phone number"),
        ("phone", "12 34", "is not a phone number"),
        ("closed_days", "2026-12-32", "is not a date"),
        ("closed_days", "\n".join(str(date(2027, 1, 1) + timedelta(days=n)) for n in range(61)), "At most 60 lines"),
        ("hours_thu", ", ".join(f"{hour}-{hour}:30" for hour in range(8, 15)), "At most 6 intervals a day"),
    ],
)
def test_a_fact_that_is_not_one_is_refused_beside_its_field_and_nothing_is_saved(ana, field, typed, error):
    before = hub("hjallbo")
    response = ana.form("/inbox/hub-facts/hjallbo", {**FORM, field: typed})
    assert response.status_code == 422
    page = response.text
    # The summary links to the field; the field says its error and keeps what was typed, as do the others.
    assert re.search(rf'<a href="#{field}">[^<]*{re.escape(error)}', page), page
    assert re.search(rf'<p id="{field}-error" class="notice error">[^<]*{re.escape(error)}', page)
    field_tag = re.search(rf'<(?:input|textarea) id="{field}"[^>]*>', page).group(0)
    assert 'aria-invalid="true"' in field_tag and f"{field}-error" in field_tag
    assert typed in page and 'value="Hjällbo torg 1, Hjällbo"' in page
    assert "<title>Not saved:" in page
    after = hub("hjallbo")
    assert (after.address, after.phone, after.hours, after.edited) == (before.address, before.phone, before.hours, None)
    assert changes("hjallbo") == []


def sync_from_file(monkeypatch, **facts) -> None:
    """``store.sync_hubs`` as the gateway runs it at start, with data/hubs.yml giving Hjällbo and
    Bergsjön these facts."""
    original = hubs.load()
    changed = tuple(replace(h, **facts) if h.slug in ("hjallbo", "bergsjon") else h for h in original.hubs)
    monkeypatch.setattr(hubs, "directory", lambda: replace(original, hubs=changed))
    with session_scope() as session:
        store.sync_hubs(session)


def test_the_data_file_fills_only_the_facts_never_changed_in_the_inbox(ana, monkeypatch):
    sync_from_file(monkeypatch, address="Från filen 1", phone="031-10 10 10", opening_hours="mon-fri 8-17")
    assert hub("hjallbo").hours["mon"] == [["08:00", "17:00"]]
    form = re.findall(r'<input id="([a-z_]+)" name="[a-z_]+" value="([^"]*)"', ana.get("/inbox/hub-facts/hjallbo").text)
    typed = {**dict(form), "address": "Hjällbo torg 1", "phone": ""}  # the hours as the form shows them
    assert typed["hours_mon"] == "08:00-17:00"
    assert ana.form("/inbox/hub-facts/hjallbo", typed).status_code == 303
    assert sorted(hub("hjallbo").edited) == ["address", "phone"]

    sync_from_file(monkeypatch, address="Från filen 2", phone="031-20 20 20", opening_hours="mon-fri 8-15")
    mine, other = hub("hjallbo"), hub("bergsjon")
    assert mine.address == "Hjällbo torg 1"  # changed in the inbox: the coordinators' from then on
    assert mine.phone is None  # emptied in the inbox: stays empty
    assert mine.hours["mon"] == [["08:00", "15:00"]]  # never changed in the inbox: the file's
    assert (other.address, other.phone, other.hours["fri"]) == ("Från filen 2", "031-20 20 20", [["08:00", "15:00"]])


def test_hours_in_the_data_file_that_are_not_hours_stop_the_start_with_where_they_are(ana, monkeypatch):
    with pytest.raises(ValueError, match="data/hubs.yml: bergsjon: opening_hours: .*start with a weekday"):
        sync_from_file(monkeypatch, opening_hours="vardagar 9-16")


# --- the facts reach residents ---------------------------------------------------------------------


def hand_over(said: str) -> list[BotReply]:
    """The bot's handoff turn, as action_handoff sends it: the payload, then utter_handoff_done."""
    payload = {"hub": "hjallbo", "language": "sv", "topic": "job_search"}
    return [BotReply("", custom={"handoff": payload}), BotReply("Klart. Din fråga har skickats till Hjällbo.")]


def last_reply(number: str) -> str:
    with session_scope() as session:
        return session.scalars(
            select(Message.body)
            .join(Resident)
            .where(Resident.address == number, Message.direction == "out")
            .order_by(Message.id.desc())
        ).first()


def test_facts_saved_in_the_inbox_reach_the_next_residents_handoff_answer(settings, monkeypatch):
    monkeypatch.setattr(promise, "clock", lambda: datetime(2026, 12, 19, 11, tzinfo=TZ))  # a Saturday
    services = build(settings, rasa=CannedRasa(hand_over), sms=Recorder())
    with running(settings, services, base_url="https://testserver") as gateway:
        add_coordinator("ana@hjallbo.example", hub="hjallbo")
        ana = Browser(gateway, "ana@hjallbo.example")

        def resident_asks(number: str) -> str:
            assert post(gateway, settings, sms("jag vill prata med en koordinator", From=number)).status_code == 200
            settle(gateway)
            return last_reply(number)

        assert resident_asks("+46701110001").startswith(
            "Klart. Din fråga har skickats till Hjällbo. Vi känner inte till öppettiderna där ännu"
        )
        assert ana.form("/inbox/hub-facts/hjallbo", FORM).status_code == 303
        assert resident_asks("+46701110002").startswith(
            "Klart. Din fråga har skickats till Hjällbo. Koordinatorn svarar måndag-torsdag 9-12, 13-16; "
            "fredag 9-12. Det är lördag nu, så räkna med svar måndag 21 december."
        )
        assert ana.form("/inbox/hub-facts/hjallbo", {**FORM, "closed_days": "2026-12-21"}).status_code == 303
        assert resident_asks("+46701110003").startswith(
            "Klart. Din fråga har skickats till Hjällbo. Koordinatorn svarar måndag-torsdag 9-12, 13-16; "
            "fredag 9-12. Hubben har stängt några dagar, så räkna med svar tisdag 22 december."
        )
