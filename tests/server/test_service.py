"""The webhook service end to end: real HTTP on loopback, real SQLite, the ABC simulator.

These prove the wiring: the Flask adapter, the sender pool, the HTTP client and the store
together. What the pipeline decides in each case (refusals, guards, the window, failures of
the API, takeovers) is tested without HTTP, on a fixed clock, in tests/test_pipeline.py and
tests/test_pipeline_failures.py.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from responder.cli import main
from responder.errors import ConfigError
from responder.model import Outcome
from responder.platform.deliveries import (
    EVENT_CONVERSATION_CREATED,
    HEADER_SIGNATURE,
    HEADER_TIMESTAMP,
)
from responder.platform.signature import sign
from responder.server.web import create_app
from responder.simulator import Simulator
from responder.store import open_store
from responder.store.sqlite import SQLiteStore
from tests.harness import SECRET, Running, outcomes, serve_in_thread, service_config, wait_for
from tests.rulebooks import write_book

HOURS_QUESTION = "What are your opening hours?"


@pytest.fixture
def sim() -> Iterator[Simulator]:
    with Simulator(api_key="sim-key", webhook_secret=SECRET) as simulator:
        yield simulator


def running(sim: Simulator, tmp_path: Path, **overrides: Any) -> Any:
    """Serve the app for ``sim``; the simulator delivers to it."""
    context = serve_in_thread(service_config(sim, tmp_path, **overrides))

    class _Attach:
        def __enter__(self) -> Running:
            service = context.__enter__()
            sim.webhook_url = f"{service.url}/webhook"
            return service

        def __exit__(self, *exc: object) -> None:
            context.__exit__(*exc)  # type: ignore[arg-type]

    return _Attach()


def signed(sim: Simulator, lead_id: str, text: str, **fields: Any) -> tuple[bytes, dict[str, str]]:
    """A signed conversation_created delivery for a new inbound message, not yet posted."""
    result = sim.say(lead_id, text, deliver=False, **fields)
    assert isinstance(result, dict)
    return result["body"], result["headers"]


def post(service: Running, body: bytes, headers: dict[str, str]) -> httpx.Response:
    return httpx.post(f"{service.url}/webhook", content=body, headers=headers, timeout=10)


# -- receiving deliveries -----------------------------------------------------------------------


def test_a_signed_message_gets_a_reply(sim: Simulator, tmp_path: Path) -> None:
    with running(sim, tmp_path) as service:
        answer = sim.say("1", HOURS_QUESTION)
        assert isinstance(answer, httpx.Response)
        assert answer.status_code == 202 and answer.json() == {"status": "accepted"}
        [record] = outcomes(service.store, "1")
        assert record.outcome is Outcome.SENT and record.rule == "opening-hours"
        [reply] = sim.replies("1")
        assert "open Mon-Fri" in reply["content"]
        assert reply["messaging_channel_connection_id"] == 123


def test_the_webhook_answers_before_the_reply_api_does(sim: Simulator, tmp_path: Path) -> None:
    with running(sim, tmp_path) as service:
        sim.set_latency(1.0)  # every ABC API call takes a second
        answer = sim.say("1", HOURS_QUESTION)
        # Accepted while the reply is still on its way: the webhook did not wait for it.
        assert isinstance(answer, httpx.Response) and answer.status_code == 202
        assert sim.replies("1") == [] and service.store.decisions(lead_id="1") == []
        assert outcomes(service.store, "1")[0].outcome is Outcome.SENT


@pytest.mark.parametrize("signature", [None, "sha256=" + "0" * 64], ids=["missing", "wrong"])
def test_missing_or_wrong_signature_is_401_and_nothing_happens(
    sim: Simulator, tmp_path: Path, signature: str | None
) -> None:
    with running(sim, tmp_path) as service:
        body, headers = signed(sim, "1", HOURS_QUESTION)
        del headers[HEADER_SIGNATURE]
        if signature is not None:
            headers[HEADER_SIGNATURE] = signature
        answer = post(service, body, headers)
        assert answer.status_code == 401
        assert answer.json() == {"error": "unauthorized"}  # no detail for the sender
        assert service.store.pending() == 0 and service.store.decisions() == []


@pytest.mark.parametrize("offset", [-400, 400], ids=["past", "future"])
def test_a_timestamp_outside_the_tolerance_is_refused(
    sim: Simulator, tmp_path: Path, offset: int
) -> None:
    # Far outside and well inside the 300 s, so that neither the whole-second stamp nor the
    # time the request takes can bring a stamp across; the exact boundary is tested on a
    # fixed clock in tests/test_pipeline.py.
    with running(sim, tmp_path) as service:
        body, headers = signed(sim, "1", HOURS_QUESTION)
        headers[HEADER_TIMESTAMP] = str(int(time.time()) + offset)
        assert post(service, body, headers).status_code == 401
        headers[HEADER_TIMESTAMP] = str(int(time.time() * 1000) + 1000 * offset // 2)
        assert post(service, body, headers).status_code == 202  # milliseconds, inside


def test_a_signed_body_that_is_not_json_is_400(sim: Simulator, tmp_path: Path) -> None:
    with running(sim, tmp_path) as service:
        body = b"{not json"
        headers = {HEADER_SIGNATURE: sign(body, SECRET), HEADER_TIMESTAMP: str(int(time.time()))}
        answer = post(service, body, headers)
        assert answer.status_code == 400 and answer.json() == {"error": "malformed delivery"}


def test_a_body_over_1_mib_is_413(sim: Simulator, tmp_path: Path) -> None:
    with running(sim, tmp_path) as service:
        body = b'{"pad": "' + b"x" * (1024 * 1024) + b'"}'
        headers = {HEADER_SIGNATURE: sign(body, SECRET), HEADER_TIMESTAMP: str(int(time.time()))}
        assert post(service, body, headers).status_code == 413


def test_the_webhook_never_answers_500_with_a_traceback(sim: Simulator, tmp_path: Path) -> None:
    with running(sim, tmp_path) as service:
        answer = httpx.get(f"{service.url}/webhook", timeout=5)
        assert answer.status_code == 405 and "Traceback" not in answer.text


def test_a_wrong_method_is_told_which_methods_are_allowed(sim: Simulator, tmp_path: Path) -> None:
    with running(sim, tmp_path) as service:
        answer = httpx.get(f"{service.url}/webhook", timeout=5)
        assert answer.status_code == 405
        assert set(answer.headers["allow"].split(", ")) == {"OPTIONS", "POST"}
        assert answer.headers["content-type"] == "application/json"


# -- sending: concurrency and a fault of the API ------------------------------------------------


def test_concurrent_copies_in_one_process_are_answered_once(sim: Simulator, tmp_path: Path) -> None:
    with running(sim, tmp_path) as service:
        body, headers = signed(sim, "1", HOURS_QUESTION)
        with ThreadPoolExecutor(20) as pool:
            statuses = sorted(
                pool.map(lambda _: post(service, body, headers).status_code, range(20))
            )
        assert statuses == [200] * 19 + [202]
        outcomes(service.store, "1")
        assert len(sim.replies("1")) == 1


def test_a_read_timeout_after_the_reply_was_stored_sends_no_second_reply(
    sim: Simulator, tmp_path: Path
) -> None:
    sim.inject({"kind": "timeout_after_store", "seconds": 2.0})
    with running(sim, tmp_path, read_timeout=0.5) as service:
        sim.say("1", HOURS_QUESTION)
        [record] = outcomes(service.store, "1")
        assert record.outcome is Outcome.SENT and "answer was lost" in record.reason
        assert sim.reply_attempts() == 1 and len(sim.replies("1")) == 1


# Attempts that end with nothing definite are taken over after the lease: short ones here.
QUICK_TAKEOVER = {"lease": timedelta(seconds=2), "job_deadline": timedelta(seconds=1.5)}


def recorded(tmp_path: Path, lead_id: str) -> list[str]:
    """The outcomes recorded for the lead, read once the service has stopped."""
    store = SQLiteStore(tmp_path / "responder.db")
    try:
        return [record.outcome.value for record in store.decisions(lead_id=lead_id)]
    finally:
        store.close()


def test_a_trickling_answer_is_given_up_before_the_lease_and_the_reply_sent_once(
    sim: Simulator, tmp_path: Path
) -> None:
    # 200 at once, then a space every 20 ms for some 5 s, well within every read timeout; the
    # reply is stored only at the end, unless the caller has hung up by then.
    sim.inject({"kind": "trickle_before_store", "seconds": 0.02, "padding": 250})
    with running(sim, tmp_path, **QUICK_TAKEOVER) as service:
        sim.say("1", HOURS_QUESTION)
        [record] = outcomes(service.store, "1")
        assert record.outcome is Outcome.SENT and "taken over" in record.reason
    # Every attempt has ended with the service: the first one hung up at its deadline.
    assert len(sim.replies("1")) == 1 and sim.reply_attempts() == 2
    assert recorded(tmp_path, "1") == ["sent"]


def test_an_attempt_stuck_on_a_trickling_read_ends_before_it_is_taken_over(
    sim: Simulator, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    # The channel connections answered one byte every 20 ms: some 5 s in all.
    sim.inject({"kind": "trickle", "seconds": 0.02, "path": "*/messaging-channel-connections"})
    caplog.set_level("INFO")
    with running(sim, tmp_path, **QUICK_TAKEOVER) as service:
        sim.say("1", HOURS_QUESTION, omit=["messaging_channel_connection_id"])
        assert outcomes(service.store, "1")[0].outcome is Outcome.SENT
    assert len(sim.replies("1")) == 1 and recorded(tmp_path, "1") == ["sent"]
    messages = [record.getMessage() for record in caplog.records]
    gave_up = next(i for i, m in enumerate(messages) if "tried again after its lease" in m)
    assert gave_up < next(i for i, m in enumerate(messages) if "taking over job" in m)


# -- health, configuration ----------------------------------------------------------------------


def test_health_and_readiness(sim: Simulator, tmp_path: Path) -> None:
    with running(sim, tmp_path) as service:
        assert httpx.get(f"{service.url}/healthz").json() == {"status": "alive"}
        ready = httpx.get(f"{service.url}/readyz")
        assert ready.status_code == 200
        assert ready.json()["rules"] == {"live": 1, "folder": "published as release 1", "count": 8}


def test_not_ready_while_every_sender_is_busy_and_replies_wait(
    sim: Simulator, tmp_path: Path
) -> None:
    sim.set_latency(2.0)
    config = {"senders": 1, "sender_wait": timedelta(seconds=0.2)}
    with running(sim, tmp_path, **config) as service:
        sim.webhook_url = f"{service.url}/webhook"
        for lead in ("1", "2", "3"):
            assert sim.say(lead, "What are your opening hours?").status_code == 202
        busy = wait_for(lambda: (r := httpx.get(f"{service.url}/readyz")).status_code == 503 and r)
        assert "every sender is busy" in busy.json()["reason"]
        sim.set_latency(0)
        wait_for(lambda: httpx.get(f"{service.url}/readyz").status_code == 200)
        # Ready again as soon as the last job has a sender; its reply follows moments later.
        wait_for(lambda: {r["lead_id"] for r in sim.replies()} == {"1", "2", "3"}, what="replies")


def test_not_ready_when_the_disk_of_the_store_is_full(
    sim: Simulator, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    with running(sim, tmp_path) as service:
        store = service.service.store
        assert isinstance(store, SQLiteStore)
        store._min_free_bytes = 2**62  # more than any disk has free
        ready = httpx.get(f"{service.url}/readyz")
    assert ready.status_code == 503 and ready.json()["reason"] == "store unavailable"
    assert any("the disk holding the store is full" in r.getMessage() for r in caplog.records)


def test_starting_without_a_webhook_secret_is_refused(sim: Simulator, tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="ABC_WEBHOOK_SECRET is not set"):
        create_app(service_config(sim, tmp_path, webhook_secrets=()))


def test_the_api_key_never_reaches_the_log(
    sim: Simulator, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level("DEBUG")
    with running(sim, tmp_path, api_key="sk-live-do-not-leak") as service:
        sim.say("1", HOURS_QUESTION)  # the simulator refuses this key: 401 on every call
        outcomes(service.store, "1")
    assert "sk-live-do-not-leak" not in caplog.text
    assert SECRET not in caplog.text
    assert EVENT_CONVERSATION_CREATED  # the delivery was read (module import used)


# -- the service's commands ---------------------------------------------------------------------


def test_responder_send_plays_the_lead_and_prints_the_reply(
    sim: Simulator, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with running(sim, tmp_path):
        code = main(["send", HOURS_QUESTION, "--lead", "42", "--simulator", sim.url])
    out = capsys.readouterr().out
    assert code == 0
    assert "the service answered HTTP 202" in out
    assert "bot> Hi Alex! Kopi Kita is open" in out


def test_responder_log_prints_decisions_with_filters(
    sim: Simulator, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with running(sim, tmp_path) as service:
        sim.say("1", HOURS_QUESTION)
        sim.say("2", HOURS_QUESTION, at=timedelta(hours=30))
        outcomes(service.store, "1")
        outcomes(service.store, "2")
    store = str(tmp_path / "responder.db")
    assert main(["log", "--store", store]) == 0
    out = capsys.readouterr().out
    assert "lead 1" in out and "sent" in out and "opening-hours" in out
    assert "lead 2" in out and "window_closed" in out
    assert main(["log", "--store", store, "--outcome", "window_closed"]) == 0
    only = capsys.readouterr().out
    assert "lead 2" in only and "lead 1 " not in only
    assert main(["log", "--store", store, "--rule", "nosuch"]) == 0
    assert "no decisions match" in capsys.readouterr().out


def test_a_customer_with_a_long_history_is_not_welcomed_as_new(tmp_path: Path) -> None:
    rules_dir, templates_dir = write_book(
        tmp_path / "book",
        """
        rules:
          - name: welcome
            first_message: true
            text: "Welcome!"
          - name: hello
            keywords: [hello]
            text: "Hello again"
        """,
    )
    # Lead 1 wrote once, 40 days ago, and the team wrote 60 times since: the history is four
    # pages long, newest first, and the lead's own message is only on the last one.
    with Simulator(api_key="sim-key", webhook_secret=SECRET, page_size=20) as sim:
        sim.add_message("1", "do you deliver?", at=timedelta(days=40))
        for minutes in range(60, 0, -1):
            sim.add_message(
                "1",
                f"news {minutes}",
                at=timedelta(days=30, minutes=minutes),
                direction="outbound",
                sender_type="bot",
            )
        sim.add_message(
            "2",
            "Thanks for your order!",
            at=timedelta(days=2),
            direction="outbound",
            sender_type="user",
        )
        with running(sim, tmp_path, rules_dir=rules_dir, templates_dir=templates_dir) as service:
            sim.say("1", "hello")
            sim.say("2", "hello")
            [returning] = outcomes(service.store, "1")
            [new] = outcomes(service.store, "2")
    assert (returning.outcome, returning.rule) == (Outcome.SENT, "hello")
    assert (new.outcome, new.rule) == (Outcome.SENT, "welcome")


def test_a_service_stopping_mid_gather_hands_its_burst_over_at_once(
    sim: Simulator, tmp_path: Path
) -> None:
    rules = (
        'settings:\n  gather: 20s\nrules:\n  - name: hello\n    fallback: true\n    text: "Hi!"\n'
    )
    rules_dir, templates_dir = write_book(tmp_path / "book", rules, {})
    folders = {"rules_dir": rules_dir, "templates_dir": templates_dir}
    with running(sim, tmp_path, lease=timedelta(seconds=60), **folders) as service:
        answer = sim.say("1", "hi")
        assert isinstance(answer, httpx.Response) and answer.status_code == 202
        wait_for(lambda: service.service.later.waiting() == 1, what="the leader to be set aside")
    # Stopped 20 s before the burst is quiet, its lease (3 x 20 s + 60 s) far from over.
    other = open_store(str(tmp_path / "responder.db"))
    try:
        [job] = other.reclaim(owner="next", lease=timedelta(seconds=60), now=datetime.now(UTC))
        assert job.message.text == "hi" and other.decisions(lead_id="1") == []
    finally:
        other.close()
