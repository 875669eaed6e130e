"""One responder on any store engine, fed signed bodies that nobody well-meaning would send.

:class:`Desk` wires :class:`responder.pipeline.Responder` to a given store (SQLite or Redis,
from the fixtures of tests/conftest.py), the in-memory ABC API and fixed clock of
:mod:`tests.pipeline_harness`, and the project's rule book. :meth:`Desk.post` signs any bytes
and hands them to ``receive``; :meth:`Desk.settle` handles what was dispatched, taking jobs
over after their lease as another process would, until each has its outcome.
"""

from __future__ import annotations

import json
import uuid
from datetime import timedelta
from typing import Any

from responder.config import Config
from responder.errors import DeliveryRejected
from responder.intake import Answer
from responder.model import DecisionRecord, Job
from responder.pipeline import Responder
from responder.platform.deliveries import (
    EVENT_CONVERSATION_CREATED,
    HEADER_DELIVERY,
    HEADER_SIGNATURE,
    HEADER_TIMESTAMP,
)
from responder.platform.signature import sign
from responder.ports import Store
from tests.pipeline_harness import HOURS_QUESTION, SECOND, SECRET, Clock, FakeApi, project_book


def message_body(lead: dict[str, Any] | None = None, **event_data: Any) -> dict[str, Any]:
    """A ``conversation_created`` body of lead "7" asking for the opening hours, changed by
    ``lead`` (merged into the lead object) and ``event_data`` (merged into the message)."""
    return {
        "event_type": EVENT_CONVERSATION_CREATED,
        "event_data": {
            "id": uuid.uuid4().hex,
            "content": HOURS_QUESTION,
            "direction": "inbound",
            "sender_type": "lead",
            "messaging_channel_id": "whatsapp",
            "messaging_channel_connection_id": 123,
            **event_data,
        },
        "lead": {"id": "7", "name": "Aisyah Rahman", **(lead or {})},
    }


class Desk:
    """A responder on ``store``; ``jobs`` are the jobs it dispatched and nobody handled yet."""

    def __init__(self, store: Store, **overrides: Any) -> None:
        self.clock = Clock()
        self.api = FakeApi(self.clock)
        self.config = Config(api_key="test-key", webhook_secrets=(SECRET,), **overrides)
        self.store = store
        self.jobs: list[Job] = []
        self.responder = Responder(
            config=self.config,
            book=project_book(),
            store=store,
            api=self.api,
            owner="desk",
            dispatch=self.jobs.append,
            clock=self.clock,
            monotonic=self.clock.monotonic,
        )

    def encode(self, body: dict[str, Any]) -> bytes:
        """``body`` as JSON text; ``ensure_ascii`` writes a lone surrogate as its escape."""
        return json.dumps(body).encode()

    def headers(self, raw: bytes, delivery_id: str | None = None) -> dict[str, str]:
        return {
            HEADER_SIGNATURE: sign(raw, SECRET),
            HEADER_TIMESTAMP: str(int(self.clock().timestamp())),
            HEADER_DELIVERY: delivery_id or uuid.uuid4().hex,
        }

    def post(self, body: bytes | dict[str, Any], *, delivery_id: str | None = None) -> Answer:
        """Sign ``body`` (a dict is sent as JSON) and receive it; raises what receive raises."""
        raw = body if isinstance(body, bytes) else self.encode(body)
        return self.responder.receive(raw, self.headers(raw, delivery_id))

    def status(self, body: bytes | dict[str, Any], **options: Any) -> int:
        """The HTTP status the web adapter would answer ``body`` with."""
        try:
            return self.post(body, **options).status
        except DeliveryRejected as refused:
            return refused.status

    def settle(self) -> list[DecisionRecord]:
        """Handle every dispatched job to its outcome: a job left without one is taken over
        after its lease, as many times as ``max_attempts`` allows. Returns the outcomes."""
        settled = []
        for job in self.jobs:
            record = self.responder.handle(job)
            for _ in range(self.config.max_attempts):
                if record is not None:
                    break
                self.clock.advance(self.config.lease + SECOND)
                [again] = self.store.reclaim(
                    owner="desk", lease=self.config.lease, now=self.clock()
                )
                record = self.responder.handle(again)
            assert record is not None, f"job {job.key} never got an outcome"
            settled.append(record)
        self.jobs.clear()
        return settled

    def outcomes(self, key: str) -> list[DecisionRecord]:
        """Every decision recorded under ``key`` (there must be one at most)."""
        return [r for r in self.store.decisions(limit=1000) if r.key == key]


HOUR = timedelta(hours=1)
