"""An attempt's deadline against its lease: every call to the platform is over before the job
can be taken over, however long the job waited for a sender."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from responder.config import load_config
from responder.model import Connection, Job, Lead, Message, Outcome
from responder.pipeline import Responder
from responder.store.sqlite import SQLiteStore
from tests.rulebooks import book_from

NOW = datetime(2026, 11, 26, 10, 0, tzinfo=UTC)
MONOTONIC = 1000.0
RULES = "rules:\n  - name: hours\n    keywords: [hours]\n    text: Nine to five\n"


class ReclaimingApi:
    """Sends nothing; on the reply, asks whether another process could take the job over a
    few seconds after the deadline it was given."""

    def __init__(self, store: SQLiteStore, lease: timedelta) -> None:
        self.store = store
        self.lease = lease
        self.deadlines: list[float] = []
        self.taken_over: list[bool] = []

    def connections(self, *, deadline: float) -> list[Connection]:
        return []

    def conversation(self, lead_id: str, *, deadline: float) -> list[Message]:
        return []

    def reply(
        self,
        lead_id: str,
        content: str,
        connection_id: int,
        *,
        attachment: str = "",
        deadline: float,
    ) -> None:
        self.deadlines.append(deadline)
        later = NOW + timedelta(seconds=deadline - MONOTONIC + 5)
        self.taken_over.append(bool(self.store.reclaim(owner="other", lease=self.lease, now=later)))


@pytest.mark.parametrize("waited", [timedelta(0), timedelta(seconds=29.9), timedelta(minutes=3)])
def test_the_lease_outlasts_the_deadline_by_a_margin(tmp_path: Path, waited: timedelta) -> None:
    config = load_config({}, {"api_key": "k", "webhook_secrets": ("s",)})
    assert (config.job_deadline, config.lease) == (timedelta(seconds=60), timedelta(seconds=90))
    store = SQLiteStore(tmp_path / "state.db")
    api = ReclaimingApi(store, config.lease)
    responder = Responder(
        config=config,
        book=book_from(tmp_path, RULES),
        store=store,
        api=api,
        owner="me",
        dispatch=lambda job: None,
        clock=lambda: NOW,
        monotonic=lambda: MONOTONIC,
    )
    message = Message(
        "What are your hours?", "whatsapp", received_at=NOW - waited, id="m1", connection_id=1
    )
    job = Job(key="msg:m1", lead=Lead(id="1"), message=message, accepted_at=NOW - waited)
    try:
        assert store.accept(job, owner="me", lease=config.lease, now=job.accepted_at)
        record = responder.handle(job)
    finally:
        store.close()
    assert record is not None and record.outcome is Outcome.SENT
    # The whole job deadline, and no takeover possible for a while after it.
    assert api.deadlines == [MONOTONIC + 60] and api.taken_over == [False]
