"""Hub facts kept by coordinators, end to end with the real processes (Rasa server with the trained
model, action server, gateway): a resident handed over to Lövgärdet is told honestly that the hours
are not known; the hub's coordinator saves its hours and closed days on the inbox's page over HTTP,
as a browser does; the very next resident handed over there, in Arabic, is told when to expect an
answer from those hours. Nothing was retrained or restarted in between."""

from __future__ import annotations

import uuid
from datetime import datetime

import httpx
import pytest
from sqlalchemy import select

from common.texts import text
from gateway import promise
from gateway.channels.sms import render
from gateway.db import session_scope
from gateway.inbox import accounts
from gateway.models import Handoff, Hub, HubFactChange, Resident, utcnow
from gateway.rasa_client import BotReply
from gateway.store import HubFacts
from tests.e2e.conftest import SmsResident
from tests.e2e.test_languages import variant
from tests.gateway.inbox.conftest import sign_in

pytestmark = pytest.mark.e2e

PASSWORD = "vinkelhake lingonkaka onsdag"
HUB, HUB_NAME = "lovgardet", "Framtidshubben Lövgärdet"
FACTS = {
    **{f"hours_{day}": "09:00-16:00" for day in ("mon", "tue", "wed", "thu", "fri")},
    "address": "",
    "phone": "",
    "closed_days": "2026-12-24 - 2026-12-26",
}


class Coordinator:
    """Lövgärdet's coordinator at a browser, signed in over HTTP."""

    def __init__(self, stack) -> None:
        email = f"lovgardet-{uuid.uuid4().hex[:8]}@hub.example"
        with session_scope() as session:
            account, _ = accounts.create_coordinator(
                session, name="Coordinator Lövgärdet", email=email, hub=HUB, password=PASSWORD
            )
            self.id = account.id
        self.http = httpx.Client(base_url=stack.gateway_url, timeout=30)
        assert sign_in(self.http, email, PASSWORD).status_code == 303
        self.csrf = self.http.get("/inbox").text.split('data-csrf="')[1].split('"')[0]

    def save(self, facts: dict[str, str]) -> httpx.Response:
        return self.http.post(f"/inbox/hub-facts/{HUB}", data={**facts, "csrf": self.csrf}, follow_redirects=False)


def hand_over(phone: SmsResident, turns: list[str]) -> str:
    """The resident's question, consent, area and "no note"; the last answer."""
    for said in turns[:-1]:
        phone.ask(said)
    return phone.ask(turns[-1])


def handoff_hub(number: str) -> str:
    with session_scope() as session:
        return session.scalars(select(Hub.slug).join(Handoff).join(Resident).where(Resident.address == number)).one()


def promised(language: str, moment: datetime) -> str:
    """The handoff SMS as the gateway makes it at ``moment`` from Lövgärdet's facts as stored now."""
    with session_scope() as session:
        facts = HubFacts.of(session.scalars(select(Hub).where(Hub.slug == HUB)).one())
    done = variant("utter_handoff_done", language, "sms").format(hub_name=HUB_NAME)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(promise, "clock", lambda: moment)
        return render(promise.add([BotReply(done)], facts, language, "sms"))[0]


def test_facts_saved_in_the_inbox_reach_the_very_next_handoff_without_a_restart(stack):
    coordinator = Coordinator(stack)
    before = SmsResident(stack, "+46701160001")
    done = hand_over(before, ["jag vill ha jobb", "ja", "Lövgärdet", "nej"])
    assert handoff_hub(before.number) == HUB
    unknown = variant("utter_handoff_done", "sv", "sms").format(hub_name=HUB_NAME)
    assert done == f"{unknown} {text('handoff_hours_unknown', 'sv')}"

    response = coordinator.save(FACTS)
    assert response.status_code == 303, response.text
    with session_scope() as session:
        audited = session.scalars(select(HubFactChange.fact).where(HubFactChange.actor_id == coordinator.id)).all()
    assert sorted(audited) == ["closed_days", "hours"]

    after = SmsResident(stack, "+46701160002")
    asked = utcnow()
    done = hand_over(after, ["أبحث عن شغل", "نعم", "أسكن في Lövgärdet", "لا"])
    answered = utcnow()
    assert handoff_hub(after.number) == HUB
    # Said from the saved hours, at the moment the gateway stored the handoff (between the two).
    assert done in {promised("ar", asked), promised("ar", answered)}, done
    assert text("handoff_hours_unknown", "ar") not in done

    assert coordinator.save({}).status_code == 303  # as it was, for the tests after this one
