"""/metrics under gunicorn with two workers: every worker's counts, summed, in one scrape."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from responder.model import Outcome
from responder.simulator import Simulator
from responder.store import open_store
from tests.harness import API_KEY, ROOT, SECRET, Gunicorn, outcomes, wait_for

HOURS_QUESTION = "What are your opening hours?"
TOKEN = "scrape-token-5f1c"


@pytest.fixture
def sim() -> Simulator:
    with Simulator(api_key=API_KEY, webhook_secret=SECRET) as simulator:
        yield simulator  # type: ignore[misc]


def env(sim: Simulator, db: Path, **extra: str) -> dict[str, str]:
    return {
        "ABC_API_KEY": API_KEY,
        "ABC_API_URL": sim.base_url,
        "ABC_WEBHOOK_SECRET": SECRET,
        "RESPONDER_STORE": str(db),
        "RESPONDER_RULES": str(ROOT / "rules"),
        "RESPONDER_TEMPLATES": str(ROOT / "templates"),
        **extra,
    }


def samples(text: str) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    """Every sample of a scrape: (name, labels) -> value."""
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def value(
    found: dict[tuple[str, frozenset[tuple[str, str]]], float], name: str, **labels: str
) -> float:
    return found.get((name, frozenset(labels.items())), 0.0)


def test_metrics_count_a_reply_a_duplicate_a_refusal_and_a_closed_window_across_two_workers(
    sim: Simulator, tmp_path: Path
) -> None:
    db = tmp_path / "state.db"
    with Gunicorn(env(sim, db, RESPONDER_METRICS_TOKEN=TOKEN), workers=2) as server:
        sim.webhook_url = f"{server.url}/webhook"
        signed = sim.say("1", HOURS_QUESTION, deliver=False)
        assert isinstance(signed, dict)
        body, headers = signed["body"], signed["headers"]

        def post(content: bytes, sent: dict[str, str]) -> int:
            with httpx.Client(timeout=10) as client:  # a connection each: spread over workers
                return client.post(
                    f"{server.url}/webhook", content=content, headers=sent
                ).status_code

        assert post(body, headers) == 202
        assert post(body, headers) == 200  # the duplicate
        forged = {**headers, "X-AbcSalesAI-Signature": "sha256=" + "0" * 64}
        assert post(body, forged) == 401
        closed = sim.say("2", HOURS_QUESTION, at=timedelta(hours=25))
        assert isinstance(closed, httpx.Response) and closed.status_code == 202

        store = open_store(str(db))
        try:
            assert outcomes(store, "2")[0].outcome is Outcome.WINDOW_CLOSED
            assert any(r.outcome is Outcome.SENT for r in outcomes(store, "1", count=2))
        finally:
            store.close()

        assert httpx.get(f"{server.url}/metrics", timeout=10).status_code == 401
        auth = {"Authorization": f"Bearer {TOKEN}"}

        def releases() -> list[float]:
            text = httpx.get(f"{server.url}/metrics", headers=auth, timeout=10).text
            return [v for (name, _), v in samples(text).items() if name == "responder_rule_release"]

        # A worker that booted while the other published the folder serves that release
        # within the release poll (RESPONDER_RELEASE_POLL): one series per worker, both 1.
        wait_for(lambda: releases() == [1.0, 1.0], what="both workers to serve release 1")
        for _ in range(4):  # whichever worker answers, the counts are the whole service's
            answer = httpx.get(f"{server.url}/metrics", headers=auth, timeout=10)
            assert answer.status_code == 200
            assert answer.headers["Content-Type"].startswith("text/plain")
            found = samples(answer.text)
            assert value(found, "responder_deliveries_total", result="accepted", reason="") == 2
            assert value(found, "responder_deliveries_total", result="duplicate", reason="") == 1
            refused = value(
                found, "responder_deliveries_total", result="refused", reason="signature"
            )
            assert refused == 1
            assert value(found, "responder_replies_sent_total") == 1
            assert value(found, "responder_replies_failed_total", reason="window_closed") == 1
            assert (
                value(found, "responder_decisions_total", outcome="sent", rule="opening-hours") == 1
            )
            assert (
                value(
                    found,
                    "responder_decisions_total",
                    outcome="window_closed",
                    rule="opening-hours",
                )
                == 1
            )
            assert value(found, "responder_reply_latency_seconds_count") == 1
            assert value(found, "responder_api_calls_total", endpoint="reply", status="200") == 1
            assert value(found, "responder_jobs_in_flight") == 0
            assert value(found, "responder_jobs_waiting") == 0
            served = [v for (name, _), v in found.items() if name == "responder_rule_release"]
            assert served == [1.0, 1.0]  # one series per worker: both are counted
            assert "Aisyah" not in answer.text and HOURS_QUESTION not in answer.text
