"""How many write transactions a delivery costs on the SQLite store, counted (not timed).

Each one takes the store's single write lock, so their number per delivery bounds how many
deliveries a host answers. An answered delivery needs three, each a durable point the
exactly-once argument rests on (docs/service.md): ``accept`` before the 2xx (the claim, the
job and its lead's inbound time), ``reserve_reply`` before the send, ``finish`` after it.
"""

from __future__ import annotations

import sqlite3
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from responder.engine.rulebook import RuleBook
from responder.errors import OutcomeUnknown, PlatformUnavailable
from responder.intake import Answer
from responder.model import Job, LeadState, Outcome
from responder.store.sqlite import SQLiteStore
from tests.pipeline_harness import HOURS_QUESTION, NOW, Pipeline, project_book
from tests.rulebooks import book_from

ACCEPTED = Answer(202, {"status": "accepted"})


class CountingStore(SQLiteStore):
    """A real SQLite store that notes, for each write transaction, the method that opened it."""

    def __init__(self, path: Path) -> None:
        self.writes: list[str] = []
        super().__init__(path)

    @contextmanager
    def _tx(self, *, write: bool = True) -> Iterator[sqlite3.Connection]:
        if write:  # entered by the store's method, through the context manager's __enter__
            self.writes.append(sys._getframe(2).f_code.co_name)
        with super()._tx(write=write) as db:
            yield db


class EarlierRelease(CountingStore):
    """A store as a release that left the lead's inbound time to the sender accepted jobs."""

    def accept(
        self,
        job: Job,
        *,
        owner: str,
        lease: timedelta,
        now: datetime,
        inbound_at: datetime | None = None,
    ) -> bool:
        return super().accept(job, owner=owner, lease=lease, now=now)


def counted(tmp_path: Path, book: RuleBook | None = None, store: type = CountingStore) -> Pipeline:
    path = tmp_path / "state.db"
    return Pipeline(path, book or project_book(), open_store=lambda: store(path))


def writes(p: Pipeline) -> list[str]:
    assert isinstance(p.store, CountingStore)
    return p.store.writes


@pytest.fixture
def p(tmp_path: Path) -> Pipeline:
    pipeline = counted(tmp_path)
    writes(pipeline).clear()  # opening the store creates its schema
    return pipeline


def test_an_answered_delivery_takes_three_write_transactions(p: Pipeline) -> None:
    signed = p.say(HOURS_QUESTION)
    assert p.receive(signed) == ACCEPTED
    assert writes(p) == ["accept"]  # the only one before the 202
    [job] = p.jobs
    record = p.recorded(p.responder.handle(job))
    assert record.outcome is Outcome.SENT and len(p.api.replies) == 1
    assert writes(p) == ["accept", "reserve_reply", "finish"]


def test_a_delivery_recorded_without_a_reply_takes_two(tmp_path: Path) -> None:
    rules = "rules:\n  - name: hours\n    keywords: [hours]\n    text: Nine to five\n"
    p = counted(tmp_path, book_from(tmp_path / "book", rules))
    writes(p).clear()
    assert p.handled("what is the price?").outcome is Outcome.NO_MATCH
    assert writes(p) == ["accept", "finish"]


def test_the_message_time_is_the_leads_once_accepted_and_a_duplicate_changes_nothing(
    p: Pipeline,
) -> None:
    signed = p.say(HOURS_QUESTION, ago=timedelta(minutes=5))
    assert p.receive(signed) == ACCEPTED
    accepted = LeadState(
        first_seen=NOW - timedelta(minutes=5), last_inbound=NOW - timedelta(minutes=5)
    )
    assert p.store.lead_state("1") == accepted
    p.clock.advance(timedelta(minutes=1))
    assert p.receive(signed).body == {"status": "duplicate"}
    assert p.store.lead_state("1") == accepted
    assert "note_inbound" not in writes(p)


def test_a_message_completed_from_the_conversation_has_its_time_folded_by_the_sender(
    p: Pipeline,
) -> None:
    signed = p.say(HOURS_QUESTION, omit=("created_at",), ago=timedelta(minutes=2))
    assert p.receive(signed) == ACCEPTED
    assert p.store.lead_state("1") == LeadState()  # the delivery did not say when
    [job] = p.jobs
    assert p.recorded(p.responder.handle(job)).outcome is Outcome.SENT
    assert p.store.lead_state("1").first_seen == NOW - timedelta(minutes=2)
    assert writes(p) == ["accept", "note_inbound", "reserve_reply", "finish"]


def test_a_job_taken_over_folds_its_time_whatever_release_accepted_it(tmp_path: Path) -> None:
    p = counted(tmp_path, store=EarlierRelease)
    assert p.receive(p.say(HOURS_QUESTION)) == ACCEPTED
    assert p.store.lead_state("1") == LeadState()
    record = p.recorded(p.takeover())  # the accepting process died before its sender ran
    assert record.outcome is Outcome.SENT
    assert p.store.lead_state("1").first_seen == NOW


def test_a_rules_pause_is_written_with_the_outcome(p: Pipeline) -> None:
    record = p.handled("Can I talk to a real person please")
    assert record.outcome is Outcome.SENT and record.rule == "human-please"
    assert p.store.lead_state("1").paused_until == NOW + timedelta(hours=24)
    assert writes(p) == ["accept", "reserve_reply", "finish"]


def test_a_reply_sent_before_a_crash_gets_its_rules_pause_from_the_takeover(
    p: Pipeline,
) -> None:
    p.api.fail("reply", OutcomeUnknown("read timeout"), stored=True)
    p.api.fail("conversation", PlatformUnavailable("503 Service Unavailable"))
    assert p.run("Can I talk to a real person please") is None  # sent, but not known
    assert p.store.lead_state("1").paused_until is None
    record = p.recorded(p.takeover())
    assert record.outcome is Outcome.SENT and "delivered by an earlier attempt" in record.reason
    assert p.store.lead_state("1").paused_until == p.clock() + timedelta(hours=24)
    assert len(p.api.replies) == 1
