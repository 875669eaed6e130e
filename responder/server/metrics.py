"""The service's Prometheus metrics: :class:`PrometheusEvents` counts, :func:`scrape` answers.

Under gunicorn every worker counts in files of its own, in ``PROMETHEUS_MULTIPROC_DIR``
(prometheus-client's multiprocess mode): the master sets that variable to
``RESPONDER_METRICS_DIR`` and empties the folder when it starts, and marks each worker that
exits as dead (responder/server/gunicorn_conf.py), and :func:`scrape` sums the workers'
files, so one scrape of any worker shows the whole service. Without the variable (one
process, as in tests), the metrics live in the process.

The metrics and suggested alerts are documented in docs/operations.md. No label holds a
lead id or message text: rule names come from the rule book, the rest from fixed lists.
"""

from __future__ import annotations

from datetime import datetime

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
    multiprocess,
)

from responder.config import metrics_multiprocess_folder
from responder.events import Events
from responder.model import DecisionRecord, Outcome

DELIVERIES = Counter(
    "responder_deliveries",
    "Webhook deliveries answered, by result (accepted, duplicate, paused, ignored, refused) "
    "and, for a refusal, its reason.",
    ["result", "reason"],
)
DECISIONS = Counter(
    "responder_decisions",
    "Outcomes recorded for inbound messages, by outcome and rule ('' when no rule matched).",
    ["outcome", "rule"],
)
REPLIES_SENT = Counter("responder_replies_sent", "Replies the ABC API accepted.")
REPLIES_FAILED = Counter(
    "responder_replies_failed",
    "Replies a rule chose that were not sent, by reason: window_closed, budget, cooldown, "
    "paused, channel_unavailable or failed (the API refused or stayed unavailable; see "
    "responder_api_calls_total for its statuses).",
    ["reason"],
)
REPLY_LATENCY = Histogram(
    "responder_reply_latency_seconds",
    "From a message's delivery being accepted to the ABC API's answer to its reply.",
    buckets=(0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0),
)
API_CALLS = Counter(
    "responder_api_calls",
    "Requests to the ABC API, by endpoint and answer (an HTTP status, or unreachable / no_answer).",
    ["endpoint", "status"],
)
JOBS_WAITING = Gauge(
    "responder_jobs_waiting",
    "Jobs handed to the senders and not started yet.",
    multiprocess_mode="livesum",
)
JOBS_IN_FLIGHT = Gauge(
    "responder_jobs_in_flight",
    "Jobs being decided and sent now.",
    multiprocess_mode="livesum",
)
RELEASE = Gauge(
    "responder_rule_release",
    "The rule-book release each process serves (0: not from a release); one series per "
    "process under gunicorn, so that processes serving different releases show.",
    multiprocess_mode="liveall",
)
STORE_ERRORS = Counter(
    "responder_store_errors",
    "Times the store could not be reached, by operation (accept, job, janitor).",
    ["operation"],
)

# Outcomes of a message a rule meant to answer that end without a reply.
_NOT_SENT = {
    Outcome.WINDOW_CLOSED,
    Outcome.BUDGET,
    Outcome.COOLDOWN,
    Outcome.PAUSED,
    Outcome.CHANNEL_UNAVAILABLE,
    Outcome.FAILED,
}


class PrometheusEvents(Events):
    """:class:`~responder.events.Events` counted in the metrics of this module."""

    def __init__(self) -> None:
        # Series that alerts divide or rate exist from the start, at 0, rather than only
        # after their first event.
        for operation in ("accept", "job", "janitor"):
            STORE_ERRORS.labels(operation)
        for outcome in _NOT_SENT:
            REPLIES_FAILED.labels(outcome.value)

    def delivery(self, result: str, reason: str = "") -> None:
        DELIVERIES.labels(result, reason).inc()

    def decided(self, record: DecisionRecord, accepted_at: datetime) -> None:
        DECISIONS.labels(record.outcome.value, record.rule).inc()
        if record.outcome is Outcome.SENT:
            REPLIES_SENT.inc()
            REPLY_LATENCY.observe(max(0.0, (record.at - accepted_at).total_seconds()))
        elif record.rule and record.outcome in _NOT_SENT:
            REPLIES_FAILED.labels(record.outcome.value).inc()

    def api_call(self, endpoint: str, status: str) -> None:
        API_CALLS.labels(endpoint, status).inc()

    def job_waiting(self, change: int) -> None:
        JOBS_WAITING.inc(change)

    def job_running(self, change: int) -> None:
        JOBS_IN_FLIGHT.inc(change)

    def release(self, number: int | None) -> None:
        RELEASE.set(number or 0)

    def store_error(self, operation: str) -> None:
        STORE_ERRORS.labels(operation).inc()


def scrape() -> tuple[bytes, str]:
    """The metrics in Prometheus' text format, and its content type: every worker's, summed,
    in multiprocess mode; else this process's."""
    if metrics_multiprocess_folder():
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
        return generate_latest(registry), CONTENT_TYPE_LATEST
    return generate_latest(REGISTRY), CONTENT_TYPE_LATEST
