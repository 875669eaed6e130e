"""The webhook side of the pipeline: one signed delivery verified, parsed and claimed.

::

    verify  ->  parse  ->  claim (store.accept: dedupe + persist + the lead's inbound
                                  time, one step)  ->  dispatch

It runs inside the webhook's request and never waits on the ABC API: a new inbound message
is handed on as a :class:`~responder.model.Job` (to the sender side,
:meth:`responder.pipeline.Responder.handle`) once it is in the store, and the answer says
what the platform should be told.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from responder.config import Config
from responder.duplicates import record_duplicate
from responder.engine.rulebook import RuleBook
from responder.errors import DeliveryRejected, MalformedDelivery, StoreUnavailable
from responder.inbound import inbound_at
from responder.model import DecisionRecord, Job, Outcome
from responder.platform.deliveries import (
    EVENT_CONVERSATION_CREATED,
    EVENT_ESCALATION,
    HEADER_DELIVERY,
    HEADER_EVENT,
    HEADER_SIGNATURE,
    HEADER_TIMESTAMP,
    parse_delivery,
)
from responder.platform.messages import not_after
from responder.platform.signature import check_timestamp, verify_signature
from responder.ports import Store

log = logging.getLogger("responder.pipeline")  # one name for the pipeline's log, both sides


@dataclass(frozen=True, slots=True)
class Answer:
    """The webhook's answer, before any web framework touches it."""

    status: int
    body: Mapping[str, Any]


@dataclass
class Intake:
    """``live`` gives the rule book served and its release, which change while serving;
    ``record`` builds a job's decision-log entry, as the sender side records its outcomes."""

    config: Config
    store: Store
    owner: str
    dispatch: Callable[[Job], None]
    clock: Callable[[], datetime]
    live: Callable[[], tuple[RuleBook, int | None]]
    record: Callable[[Job, Outcome, str], DecisionRecord]

    def receive(self, body: bytes, headers: Mapping[str, str]) -> Answer:
        """Verify, parse and claim one delivery; dispatch a new inbound message for sending.

        Raises DeliveryRejected (with its HTTP status) for a delivery to refuse, and
        StoreUnavailable when the job cannot be persisted (the platform should redeliver).
        A signed delivery gets no other error: whatever else goes wrong with it is logged and
        refused as MalformedDelivery, or recorded as the message's ``failed`` outcome.
        """
        now = self.clock()
        header = {name.lower(): value for name, value in headers.items()}.get  # case-insensitive
        verify_signature(body, header(HEADER_SIGNATURE.lower()), self.config.webhook_secrets)
        check_timestamp(
            header(HEADER_TIMESTAMP.lower()),
            now=now.timestamp(),
            tolerance=self.config.timestamp_tolerance.total_seconds(),
        )
        try:
            return self._take(
                body, header(HEADER_EVENT.lower()), header(HEADER_DELIVERY.lower()), now
            )
        except (DeliveryRejected, StoreUnavailable):
            raise
        except Exception as exc:  # a bug met by a signed body: a 500 would be redelivered forever
            log.exception("delivery refused: unexpected error")
            raise MalformedDelivery("The delivery could not be read.") from exc

    def _take(
        self, body: bytes, event: str | None, delivery_id: str | None, now: datetime
    ) -> Answer:
        """Parse and claim a verified delivery. Escalations and messages without an id are
        keyed on the hash of the signed body: the delivery header is not signed, and a
        captured body replayed under a new one must be a duplicate."""
        delivery = parse_delivery(body, event_header=event, delivery_id=delivery_id)
        body_key = f"body:{delivery.digest}"
        if delivery.event_type == EVENT_ESCALATION and delivery.lead is not None:
            until = now + self.config.escalation_pause
            if not self.store.pause_once(body_key, delivery.lead.id, until, now=now):
                log.info("lead %s: escalation delivered again; already paused", delivery.lead.id)
                return Answer(200, {"status": "duplicate"})
            log.info("lead %s asked for a person: paused until %s", delivery.lead.id, until)
            return Answer(200, {"status": "paused"})
        if delivery.message is None or delivery.lead is None:
            return Answer(200, {"status": "ignored"})
        assert delivery.event_type == EVENT_CONVERSATION_CREATED
        job = Job(
            key=f"msg:{delivery.message.id}" if delivery.message.id else body_key,
            lead=delivery.lead,
            message=not_after(delivery.message, now),
            accepted_at=now,
            delivery_id=delivery.delivery_id,
        )
        try:
            accepted = self.store.accept(
                job,
                owner=self.owner,
                lease=self.config.lease,
                now=now,
                inbound_at=inbound_at(job.message),
            )
        except StoreUnavailable:
            raise
        except Exception as exc:  # a bug: the message gets an outcome, not redelivered forever
            log.exception("job %s could not be accepted", job.key)
            reason = f"the delivery could not be stored ({type(exc).__name__})"
            record = replace(self.record(job, Outcome.FAILED, reason), release=self.live()[1])
            if self.store.finish(record):
                return Answer(202, {"status": "accepted"})
            return Answer(200, {"status": "duplicate"})
        if not accepted:
            zone = self.live()[0].settings.timezone
            record_duplicate(self.store, job, now=now, zone=zone)
            return Answer(200, {"status": "duplicate"})
        self.dispatch(job)
        return Answer(202, {"status": "accepted"})
