"""The second sign-in step for tests that sign accounts in: ``turn_on`` gives an account the
test key ``KEY``; ``code_for`` a code the gateway accepts now; ``finish`` gives the code page
after a password one. Imports nothing from conftest, so that conftest may import it."""

from __future__ import annotations

import re
import time

import httpx
import pyotp
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from gateway.db import session_scope
from gateway.inbox.sign_in_pages import STEP_TWO
from gateway.models import Coordinator, utcnow

KEY = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"  # a base32 key of 160 bits, for tests only
STEP = 30
CSRF_INPUT = re.compile(r'name="csrf" value="([^"]+)"')


def turn_on(session: Session, coordinator_id: int, key: str = KEY) -> None:
    """The account has the second step on with ``key`` (as if set up), without recovery codes."""
    coordinator = session.get_one(Coordinator, coordinator_id)
    coordinator.totp_secret, coordinator.totp_since, coordinator.totp_last_step = key, utcnow(), None


def code_for(coordinator_id: int, key: str = KEY) -> str:
    """A code the gateway takes now: the current step's, or the next one's (its window allows one
    step of drift) if the current one was used; past that, the last step used is forgotten, so that
    a test may sign one account in more than twice in 30 seconds."""
    now = int(time.time() // STEP)
    with session_scope() as session:
        coordinator = session.get_one(Coordinator, coordinator_id)
        last = coordinator.totp_last_step
        step = now if last is None or last < now else last + 1
        if step > now + 1:
            coordinator.totp_last_step, step = None, now
    return pyotp.TOTP(key).at(step * STEP)


def account_id(email: str) -> int:
    with session_scope() as session:
        return session.scalars(select(Coordinator.id).where(Coordinator.email == email.strip().lower())).one()


def finish(client: TestClient, response: httpx.Response, email: str, headers: dict | None = None) -> httpx.Response:
    """After the password's ``response``: if it sent the browser to the code page, the answer to a good code."""
    if response.status_code != 303 or response.headers["location"] != STEP_TWO:
        return response
    token = CSRF_INPUT.search(client.get(STEP_TWO).text).group(1)
    code = code_for(account_id(email))
    return client.post(STEP_TWO, data={"csrf": token, "code": code}, headers=headers or {}, follow_redirects=False)
