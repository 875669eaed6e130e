"""A delivery of a message the service has already taken: never silent.

The platform delivers again when an answer is lost, so most duplicates are harmless; but a
message id reused for another message (a platform, or a simulator, that numbers messages
again from the start) would otherwise leave its sender with no reply and no trace. So the
first duplicate of each message is recorded in the decision log under the new delivery's
lead, as ``duplicate``, with what became of the original, and every duplicate is logged.
"""

from __future__ import annotations

import logging
from datetime import datetime
from zoneinfo import ZoneInfo

from responder.engine.hours import show_moment
from responder.events import log_fields
from responder.model import TEXT_KEPT, DecisionRecord, Job, Outcome
from responder.ports import Store

log = logging.getLogger("responder.pipeline")

KEY_PREFIX = "dup:"


def record_duplicate(
    store: Store, job: Job, *, now: datetime, zone: ZoneInfo | None
) -> DecisionRecord | None:
    """Log the duplicate ``job`` and record it once per message; return the record (recorded
    now or before), or None when the store failed (logged: the delivery is answered as a
    duplicate all the same)."""
    try:
        return _record(store, job, now, zone)
    except Exception:  # the delivery is still a duplicate: answer so, whatever the log says
        log.warning(
            "delivery=%s key=%s duplicate not recorded", job.delivery_id, job.key, exc_info=True
        )
        return None


def _record(store: Store, job: Job, now: datetime, zone: ZoneInfo | None) -> DecisionRecord:
    original = store.decision(job.key)
    reason = f"a duplicate of message {job.message.id or job.key}: {_fate(original, job, zone)}"
    record = DecisionRecord(
        key=KEY_PREFIX + job.key,
        lead_id=job.lead.id,
        outcome=Outcome.DUPLICATE,
        at=now,
        reason=reason,
        message_id=job.message.id,
        text=job.message.text[:TEXT_KEPT],  # what this lead wrote, shown by responder log
    )
    recorded = store.finish(record)
    log.info(
        "delivery=%s lead=%s key=%s outcome=duplicate reason=%s%s",
        job.delivery_id or "-",
        job.lead.id,
        job.key,
        reason,
        "" if recorded else " (already recorded)",
        extra=log_fields(job, Outcome.DUPLICATE.value),
    )
    return record


def _fate(original: DecisionRecord | None, job: Job, zone: ZoneInfo | None) -> str:
    if original is None:
        return "the original is still being handled; see its outcome in the log shortly"
    whose = "" if original.lead_id == job.lead.id else f" (from lead {original.lead_id})"
    rule = f" by rule {original.rule}" if original.rule else ""
    return (
        f"the original{whose} was already handled: {original.outcome.value}{rule} on "
        f"{show_moment(original.at, zone)}; this delivery was not answered again"
    )
