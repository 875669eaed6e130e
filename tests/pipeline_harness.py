"""An in-memory stand-in for the world around :class:`responder.pipeline.Responder`.

For the pipeline's tests: a fixed clock the tests advance by hand, so every boundary (window
margin, timestamp tolerance, cooldown, pause, lease) is exact; a fake ABC API that keeps each
lead's conversation, records every call and can be told to fail; and :class:`Pipeline`, one
responder process on a real SQLite store, with real signed deliveries and the jobs it
dispatched, to handle inline.
"""

from __future__ import annotations

import functools
import itertools
import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from responder.config import Config
from responder.engine.loader import load_rulebook
from responder.engine.rulebook import RuleBook
from responder.intake import Answer
from responder.model import Connection, DecisionRecord, Job, Message, SenderType
from responder.pipeline import Responder
from responder.platform.api_bodies import parse_conversation
from responder.platform.deliveries import EVENT_CONVERSATION_CREATED, build_delivery
from responder.ports import Store
from responder.store.sqlite import SQLiteStore
from tests.harness import ROOT

SECRET = "pipeline-secret"
# A Wednesday, 11:00 in Kuala Lumpur: inside the shop's office hours, so the after-hours rule
# stays out of the way. Whole seconds, so a timestamp header states it exactly.
NOW = datetime(2024, 5, 15, 3, 0, tzinfo=UTC)
HOURS_QUESTION = "What are your opening hours?"
HOURS_REPLY = "Hi Aisyah! Kopi Kita is open Mon-Fri"
MAIN = Connection(123, "Main WhatsApp", "whatsapp", default=True, connected=True)
OLD = Connection(124, "Old WhatsApp number", "whatsapp", default=False, connected=False)
SPARE = Connection(7, "Spare number", "whatsapp", default=False, connected=True)
EDGE = timedelta(hours=24) - timedelta(minutes=10)  # the window, less the safety margin
SECOND = timedelta(seconds=1)


class Clock:
    """Wall clock and monotonic clock, both standing still until advanced."""

    def __init__(self) -> None:
        self.now = NOW
        self.mono = 1000.0

    def __call__(self) -> datetime:
        return self.now

    def monotonic(self) -> float:
        return self.mono

    def advance(self, by: timedelta) -> None:
        self.now += by
        self.mono += by.total_seconds()


class FakeApi:
    """The ABC API in memory: each lead's conversation as the platform lists it, every call seen.

    :meth:`fail` makes the next ``times`` calls of one endpoint raise ``error``; with
    ``stored=True`` a reply is stored before its error is raised (the answer was lost after the
    platform stored the reply).
    """

    def __init__(self, clock: Clock) -> None:
        self.clock = clock
        self.connection_list = [MAIN, OLD]
        self.conversations: dict[str, list[dict[str, Any]]] = {}
        self.calls: list[str] = []
        self.replies: list[tuple[str, str, int]] = []  # every reply request, lost ones too
        self.attachments: list[str] = []  # the attachment of each of them ("" for none)
        self.expired: list[str] = []  # calls made with a deadline already passed
        self._faults: dict[str, list[tuple[Exception, bool]]] = {}
        self._ids = itertools.count(1000)

    def fail(self, call: str, error: Exception, *, times: int = 1, stored: bool = False) -> None:
        self._faults.setdefault(call, []).extend([(error, stored)] * times)

    def new_message(self, lead_id: str, *, listed: bool = True, **fields: Any) -> dict[str, Any]:
        """A message of the lead, as the platform keeps it; in the conversation if ``listed``."""
        message = {"id": next(self._ids), "lead_id": lead_id, **fields}
        if listed:
            self.list_message(message)
        return message

    def list_message(self, message: dict[str, Any]) -> None:
        self.conversations.setdefault(message["lead_id"], []).append(message)

    def store_reply(self, lead_id: str, content: str, connection_id: int) -> None:
        self.new_message(
            lead_id,
            content=content,
            direction="outbound",
            sender_type="bot",
            messaging_channel_connection_id=connection_id,
            messaging_channel_id="whatsapp",
            created_at=self.clock().isoformat(),
        )

    def sent(self, lead_id: str = "1") -> list[str]:
        """The bot's replies as the lead's conversation shows them."""
        return [m.text for m in self._messages(lead_id) if m.sender_type is SenderType.BOT]

    # -- PlatformApi -------------------------------------------------------------------------

    def connections(self, *, deadline: float) -> list[Connection]:
        self._enter("connections", deadline)
        return list(self.connection_list)

    def conversation(self, lead_id: str, *, deadline: float) -> list[Message]:
        self._enter("conversation", deadline)
        return self._messages(lead_id)

    def reply(
        self,
        lead_id: str,
        content: str,
        connection_id: int,
        *,
        attachment: str = "",
        deadline: float,
    ) -> None:
        fault = self._enter("reply", deadline, raise_now=False)
        self.replies.append((lead_id, content, connection_id))
        self.attachments.append(attachment)
        if fault is None or fault[1]:
            self.store_reply(lead_id, content, connection_id)
        if fault is not None:
            raise fault[0]

    def _messages(self, lead_id: str) -> list[Message]:
        # Through the JSON the platform would send and the adapter that reads it.
        payload = json.dumps({"data": {"conversations": self.conversations.get(lead_id, [])}})
        return parse_conversation(json.loads(payload))[0]

    def _enter(
        self, call: str, deadline: float, *, raise_now: bool = True
    ) -> tuple[Exception, bool] | None:
        self.calls.append(call)
        if deadline <= self.clock.mono:
            self.expired.append(call)
        pending = self._faults.get(call)
        fault = pending.pop(0) if pending else None
        if fault is not None and raise_now:
            raise fault[0]
        return fault


@dataclass
class Signed:
    """One delivery as the platform would send it, and the message as the platform keeps it."""

    body: bytes
    headers: dict[str, str]
    message: dict[str, Any]


class Pipeline:
    """One responder process on a fixed clock, its store, the fake API and its dispatched jobs."""

    def __init__(
        self,
        path: Path,
        book: RuleBook,
        *,
        open_store: Callable[[], Store] | None = None,
        **overrides: Any,
    ) -> None:
        """``open_store`` opens another handle on the store (default: SQLite at ``path``)."""
        self.path, self.book = path, book
        self._open_store = open_store or (lambda: SQLiteStore(self.path))
        self.clock = Clock()
        self.api = FakeApi(self.clock)
        settings = {"api_key": "test-key", "webhook_secrets": (SECRET,), **overrides}
        self.config = Config(**settings)
        self.jobs: list[Job] = []
        self.waiting: list[tuple[Job, datetime]] = []  # jobs set aside by ``later``
        self._stores: list[Store] = []
        self.responder = self.process("process-a")
        self.store = self.responder.store

    def process(self, owner: str) -> Responder:
        """A responder process named ``owner``, with its own connection to the same store."""
        store = self._open_store()
        self._stores.append(store)
        return Responder(
            config=self.config,
            book=self.book,
            store=store,
            api=self.api,
            owner=owner,
            dispatch=self.jobs.append,
            clock=self.clock,
            monotonic=self.clock.monotonic,
            later=lambda job, at: self.waiting.append((job, at)),
        )

    def say(
        self,
        text: str,
        *,
        lead: str = "1",
        ago: timedelta | None = timedelta(0),
        omit: tuple[str, ...] = (),
        listed: bool = True,
        locale: str = "",
        **fields: Any,
    ) -> Signed:
        """A new message of the lead (``ago`` None: without a time), signed for delivery;
        ``locale`` is the lead's as the platform gives it (none by default)."""
        message = self.api.new_message(
            lead,
            listed=listed,
            **{
                "content": text,
                "direction": "inbound",
                "sender_type": "lead",
                "messaging_channel_connection_id": 123,
                "messaging_channel_id": "whatsapp",
                **({} if ago is None else {"created_at": (self.clock() - ago).isoformat()}),
                **fields,
            },
        )
        event_data = {k: v for k, v in message.items() if k not in omit}
        signed = self.sign(EVENT_CONVERSATION_CREATED, event_data, lead, locale=locale)
        return Signed(*signed, message)

    def sign(
        self, event: str, event_data: dict[str, Any], lead: str | None = "1", *, locale: str = ""
    ) -> tuple[bytes, dict[str, str]]:
        profile: dict[str, Any] = {"id": lead, "name": "Aisyah Rahman"} if lead else {}
        if lead and locale:
            profile["locale"] = locale
        stamp = self.clock().timestamp()
        return build_delivery(event, event_data, profile, secret=SECRET, timestamp=stamp)

    def receive(self, signed: Signed) -> Answer:
        return self.responder.receive(signed.body, signed.headers)

    def run(self, text: str, **fields: Any) -> DecisionRecord | None:
        """Deliver a new message and handle its job inline; the outcome, or None (see handle)."""
        assert self.receive(self.say(text, **fields)) == Answer(202, {"status": "accepted"})
        [job] = self.jobs
        self.jobs.clear()
        return self.responder.handle(job)

    def handled(self, text: str, **fields: Any) -> DecisionRecord:
        """Like :meth:`run`, for a message that must end in a recorded outcome."""
        return self.recorded(self.run(text, **fields))

    def recorded(self, record: DecisionRecord | None) -> DecisionRecord:
        assert record is not None
        assert self.store.decision(record.key) == record
        return record

    def reclaim(self, owner: str = "process-b") -> tuple[Responder, Job]:
        """The lease runs out and another process takes the one unfinished job over."""
        self.clock.advance(self.config.lease + SECOND)
        other = self.process(owner)
        [job] = other.store.reclaim(owner=owner, lease=self.config.lease, now=self.clock())
        return other, job

    def takeover(self) -> DecisionRecord | None:
        other, job = self.reclaim()
        return other.handle(job)

    def last_reply(self, lead: str = "1") -> dict[str, datetime]:
        return dict(self.store.lead_state(lead).last_reply)

    def close(self) -> None:
        for store in self._stores:
            store.close()


@functools.cache
def project_book() -> RuleBook:
    """The project's own rules and templates (read once: a rule book never changes)."""
    return load_rulebook(ROOT / "rules", ROOT / "templates")


@contextmanager
def pipelines(tmp_path: Path) -> Iterator[Callable[..., Pipeline]]:
    """Builds pipelines with settings overridden (``book=`` for another rule book); closes
    them afterwards, and fails if any API call was made with its deadline already passed."""
    made: list[Pipeline] = []

    def build(**overrides: Any) -> Pipeline:
        book = overrides.pop("book", None) or project_book()
        pipeline = Pipeline(tmp_path / f"state{len(made)}.db", book, **overrides)
        made.append(pipeline)
        return pipeline

    yield build
    for pipeline in made:
        pipeline.close()
        assert pipeline.api.expired == [], "an API call was made past its deadline"
