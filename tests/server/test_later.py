"""The one thread that hands jobs set aside back to the sender pool at their time."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

from responder.model import Job, Lead, Message
from responder.server.later import Later
from tests.harness import wait_for

NOW = datetime(2026, 1, 5, 3, 0, tzinfo=UTC)


def job(key: str) -> Job:
    return Job(key=key, lead=Lead(id="1"), message=Message(text="hi"), accepted_at=NOW)


def test_jobs_come_back_in_order_of_their_time_and_not_before() -> None:
    now = [NOW]
    handed: list[str] = []
    later = Later(lambda job: handed.append(job.key), clock=lambda: now[0])
    try:
        later(job("late"), NOW + timedelta(seconds=2))
        later(job("soon"), NOW + timedelta(seconds=1))
        later(job("due"), NOW - timedelta(seconds=1))
        wait_for(lambda: handed == ["due"], what="the job already due")
        assert later.waiting() == 2
        now[0] = NOW + timedelta(seconds=5)
        later(job("nudge"), NOW + timedelta(hours=1))  # any change wakes the thread
        wait_for(lambda: handed == ["due", "soon", "late"], what="the jobs now due")
        assert later.waiting() == 1
    finally:
        left = later.stop()
    assert [j.key for j in left] == ["nudge"]  # handed back to the caller, to end their leases
    assert later.waiting() == 0


def test_building_starts_no_thread_and_stopping_drops_new_jobs() -> None:
    before = {t.name for t in threading.enumerate()}
    handed: list[Job] = []
    later = Later(handed.append)
    assert "responder-later" not in before
    assert "responder-later" not in {t.name for t in threading.enumerate()}
    later.stop()
    later(job("after"), NOW)
    assert handed == [] and later.waiting() == 0
