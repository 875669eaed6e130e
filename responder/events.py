"""What the service tells whoever watches it: a seam between the work and the counting.

The pipeline, the webhook adapter, the service and the API client call an :class:`Events`
when something countable happens; they neither know nor care who listens. The default does
nothing, so the pipeline's tests and the engine need no metrics library; the service plugs
in :class:`responder.server.metrics.PrometheusEvents`. Every method is cheap and never
raises: counting must not fail a delivery.

No argument names a lead or holds message text: what is counted here ends up in labels.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from responder.model import DecisionRecord, Job


class Events:
    """Countable happenings; every method does nothing (subclass to count)."""

    def delivery(self, result: str, reason: str = "") -> None:
        """A webhook delivery answered: ``result`` is ``accepted``, ``duplicate``, ``paused``
        or ``ignored``; or ``refused``, with ``reason`` ``signature``, ``stale``,
        ``malformed``, ``too_large`` or ``store_unavailable``."""

    def decided(self, record: DecisionRecord, accepted_at: datetime) -> None:
        """A message's outcome was recorded; ``accepted_at`` is when its delivery was taken."""

    def api_call(self, endpoint: str, status: str) -> None:
        """The ABC API answered ``endpoint`` (the last part of its path) with ``status`` (the
        HTTP status, or ``unreachable`` / ``no_answer`` when none came)."""

    def job_waiting(self, change: int) -> None:
        """``change`` (+1 or -1) to the jobs waiting in this process for a free sender."""

    def job_running(self, change: int) -> None:
        """``change`` (+1 or -1) to the jobs being handled in this process."""

    def release(self, number: int | None) -> None:
        """This process now serves rule-book release ``number`` (None: not from a release)."""

    def store_error(self, operation: str) -> None:
        """The store could not be reached for ``operation`` (``accept``, ``job``, ``janitor``)."""


NO_EVENTS = Events()


def log_fields(
    job: Job, outcome: str, rule: str = "", release: int | None = None
) -> dict[str, Any]:
    """The fields that follow one message through the log: the ``extra`` of its log lines,
    shown as fields by the JSON log format (responder/server/logs.py). No message text."""
    return {
        "key": job.key,
        "lead": job.lead.id,
        "delivery_id": job.delivery_id,
        "message_id": job.message.id,
        "outcome": outcome,
        "rule": rule,
        "release": release,
    }
