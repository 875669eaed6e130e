"""The service under gunicorn, several worker processes sharing one SQLite store."""

from __future__ import annotations

import os
import signal
import sqlite3
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import closing
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest

from responder.model import Job, Lead, Message, Outcome
from responder.simulator import Simulator
from responder.store import open_store
from tests.harness import API_KEY, ROOT, SECRET, Gunicorn, outcomes, wait_for
from tests.rulebooks import write_book

HOURS_QUESTION = "What are your opening hours?"


@pytest.fixture
def sim() -> Iterator[Simulator]:
    with Simulator(api_key=API_KEY, webhook_secret=SECRET) as simulator:
        yield simulator


def gunicorn_env(sim: Simulator, db: Path, **extra: str) -> dict[str, str]:
    return {
        "ABC_API_KEY": API_KEY,
        "ABC_API_URL": sim.base_url,
        "ABC_WEBHOOK_SECRET": SECRET,
        "RESPONDER_STORE": str(db),
        "RESPONDER_RULES": str(ROOT / "rules"),
        "RESPONDER_TEMPLATES": str(ROOT / "templates"),
        **extra,
    }


def test_twenty_concurrent_copies_across_workers_get_one_reply(
    sim: Simulator, tmp_path: Path
) -> None:
    db = tmp_path / "state.db"
    with Gunicorn(gunicorn_env(sim, db), workers=2) as server:
        sim.webhook_url = f"{server.url}/webhook"
        result = sim.say("1", HOURS_QUESTION, deliver=False)
        assert isinstance(result, dict)
        body, headers = result["body"], result["headers"]

        def deliver(_: int) -> int:
            with httpx.Client(timeout=10) as client:  # a connection each: spread over workers
                return client.post(
                    f"{server.url}/webhook", content=body, headers=headers
                ).status_code

        with ThreadPoolExecutor(20) as pool:
            statuses = sorted(pool.map(deliver, range(20)))
        assert statuses == [200] * 19 + [202]
        store = open_store(str(db))
        try:
            # The reply, and one line for the 19 copies.
            kinds = sorted(d.outcome for d in outcomes(store, "1", count=2))
            assert kinds == [Outcome.DUPLICATE, Outcome.SENT]
            assert len(sim.replies("1")) == 1
            assert len(store.decisions(lead_id="1")) == 2
        finally:
            store.close()


@pytest.mark.parametrize("stored", [True, False], ids=["reply-stored", "reply-lost"])
def test_a_worker_killed_mid_send_still_replies_exactly_once(
    sim: Simulator, tmp_path: Path, stored: bool
) -> None:
    db = tmp_path / "state.db"
    env = gunicorn_env(
        sim, db, RESPONDER_LEASE="5s", RESPONDER_JOB_DEADLINE="2s", RESPONDER_JANITOR_INTERVAL="1s"
    )
    with Gunicorn(env, workers=2) as server:
        sim.webhook_url = f"{server.url}/webhook"
        if stored:
            sim.set_latency(1.5)  # the reply is stored after the worker has died
        else:
            sim.inject({"kind": "drop_before_store"})
        answer = sim.say("1", HOURS_QUESTION)
        assert isinstance(answer, httpx.Response) and answer.status_code == 202
        wait_for(
            lambda: sim.stats()["reply_attempts"] >= 1 or sim.stats()["requests"] >= 1,
            what="the reply request to arrive",
        )
        for pid in server.worker_pids():
            os.kill(pid, signal.SIGKILL)
        sim.set_latency(0)

        store = open_store(str(db))
        try:
            [record] = outcomes(store, "1", timeout=30)
            assert record.outcome is Outcome.SENT
            assert len(sim.replies("1")) == 1
            if stored:
                assert "earlier attempt" in record.reason  # found, not sent again
        finally:
            store.close()


def test_a_worker_takes_over_an_abandoned_job_before_any_request(
    sim: Simulator, tmp_path: Path
) -> None:
    """The janitor starts when the worker is ready to serve, not with the first request."""
    db = tmp_path / "state.db"
    message = sim.add_message("9", HOURS_QUESTION)
    received = datetime.fromisoformat(message["created_at"])
    job = Job(
        key=f"msg:{message['id']}",
        lead=Lead(id="9"),
        message=Message(
            text=HOURS_QUESTION, channel="whatsapp", received_at=received, connection_id=123
        ),
        accepted_at=received,
    )
    store = open_store(str(db))
    try:
        abandoned = datetime.now(UTC) - timedelta(minutes=5)
        assert store.accept(job, owner="a dead process", lease=timedelta(seconds=1), now=abandoned)
        server = Gunicorn(gunicorn_env(sim, db), workers=1).start(wait_for_http=False)
        try:
            record = wait_for(lambda: store.decision(job.key), what="the job's outcome")
        finally:
            server.stop()
        assert record.outcome is Outcome.SENT
        assert [r["content"] for r in sim.replies("9")] == [record.reply]
    finally:
        store.close()


def test_gunicorn_writes_no_control_socket_into_the_users_home(
    sim: Simulator, tmp_path: Path
) -> None:
    home = tmp_path / "home"
    home.mkdir()
    with Gunicorn({**gunicorn_env(sim, tmp_path / "state.db"), "HOME": str(home)}, workers=1):
        assert not any(home.iterdir()), sorted(home.rglob("*"))
    assert not any(home.iterdir()), sorted(home.rglob("*"))


def test_a_worker_killed_mid_gather_still_answers_the_burst_once(
    sim: Simulator, tmp_path: Path
) -> None:
    rules = """
    settings:
      gather: 3s
    rules:
      - name: deliver-shah-alam
        all: [deliver, shah alam]
        text: "Yes, we deliver to Shah Alam."
      - name: hello
        fallback: true
        text: "Hello! How can we help?"
    """
    rules_dir, templates_dir = write_book(tmp_path / "book", rules, {})
    db = tmp_path / "state.db"
    env = gunicorn_env(
        sim,
        db,
        RESPONDER_RULES=str(rules_dir),
        RESPONDER_TEMPLATES=str(templates_dir),
        RESPONDER_LEASE="5s",
        RESPONDER_JOB_DEADLINE="2s",
        RESPONDER_JANITOR_INTERVAL="1s",
    )
    with Gunicorn(env, workers=2) as server:
        sim.webhook_url = f"{server.url}/webhook"
        for text in ("hi", "do you deliver", "to Shah Alam?"):
            answer = sim.say("1", text)  # acknowledged at once, while the burst gathers
            assert isinstance(answer, httpx.Response) and answer.status_code == 202

        def members() -> int:
            with closing(sqlite3.connect(db)) as conn:
                (count,) = conn.execute("SELECT count(*) FROM burst_members").fetchone()
                return int(count)

        wait_for(lambda: members() == 3, what="the three messages to gather into one burst")
        store = open_store(str(db))
        try:
            assert store.decisions(lead_id="1") == []  # still gathering: nothing decided
            for pid in server.worker_pids():
                os.kill(pid, signal.SIGKILL)
            records = outcomes(store, "1", count=3, timeout=40)
            assert [r.outcome for r in records] == [Outcome.SENT] * 3
            assert [r["content"] for r in sim.replies("1")] == ["Yes, we deliver to Shah Alam."]
            assert store.pending() == 0
        finally:
            store.close()
