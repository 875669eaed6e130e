"""What counting costs a delivery: the events one delivery emits, counted by the Prometheus
events (multiprocess mode, as under gunicorn) and by the no-op default, in the same run.

Run ``python bench/metrics.py``. Compare with the CPU per delivery of the whole service
(``python bench/service.py``, "server cpu ms/d"; run it with ``RESPONDER_METRICS=false`` too).
"""

from __future__ import annotations

import os
import sys
import tempfile
import timeit
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # run as a script from anywhere
    sys.path.insert(0, str(ROOT))

ROUNDS = 20_000


def main() -> int:
    with tempfile.TemporaryDirectory(prefix="responder-bench-metrics-") as folder:
        # Before prometheus-client is imported: its multiprocess mode, as in a gunicorn worker.
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = folder
        from responder.events import NO_EVENTS, Events
        from responder.model import DecisionRecord, Outcome
        from responder.server.metrics import PrometheusEvents

        now = datetime.now(UTC)
        record = DecisionRecord("k", "1", Outcome.SENT, now, rule="opening-hours")
        accepted = now - timedelta(seconds=0.2)

        def delivery(events: Events) -> None:
            """What one answered message emits (responder/server/web.py, service.py, pipeline)."""
            events.delivery("accepted")
            events.job_waiting(1)
            events.job_waiting(-1)
            events.job_running(1)
            events.api_call("reply", "200")
            events.decided(record, accepted)
            events.job_running(-1)

        for name, events in (
            ("no-op (RESPONDER_METRICS=false)", NO_EVENTS),
            ("prometheus, multiprocess", PrometheusEvents()),
        ):
            seconds = min(timeit.repeat(lambda e=events: delivery(e), number=ROUNDS, repeat=5))
            print(f"{name:<34} {seconds / ROUNDS * 1e6:8.2f} us per delivery")
    return 0


if __name__ == "__main__":
    sys.exit(main())
