"""The database thread lets webhooks being acknowledged go first (``gateway.db.acknowledging``):
a turn's job waits until none is, but never longer than ACKNOWLEDGEMENTS_FIRST_SECONDS."""

import asyncio
import threading
import time

from gateway import db


def test_a_job_waits_until_the_acknowledgement_is_answered():
    started = threading.Event()

    async def scenario() -> bool:
        with db.acknowledging():
            job = asyncio.ensure_future(db.run(started.set))
            # Shorter than the longest a job waits: it must not have started meanwhile.
            ran_during = await asyncio.to_thread(started.wait, db.ACKNOWLEDGEMENTS_FIRST_SECONDS / 2)
        await asyncio.wait_for(job, 5)
        return ran_during

    assert asyncio.run(scenario()) is False
    assert started.is_set()


def test_a_job_waits_no_longer_than_the_bound_while_acknowledgements_go_on():
    async def scenario() -> float:
        with db.acknowledging():
            begun = time.monotonic()
            await asyncio.wait_for(db.run(lambda: None), 5)  # acknowledgements never end meanwhile
            return time.monotonic() - begun

    waited = asyncio.run(scenario())
    assert db.ACKNOWLEDGEMENTS_FIRST_SECONDS * 0.9 <= waited < 5
