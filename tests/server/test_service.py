"""The webhook service end to end: real HTTP on loopback, real SQLite, the ABC simulator."""

from __future__ import annotations

import json
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
from responder.model import Job, Lead, Message, Outcome
from responder.platform.shapes import (
    EVENT_CONVERSATION_CREATED,
    HEADER_SIGNATURE,
    HEADER_TIMESTAMP,
    build_delivery,
)
from responder.platform.signature import sign
from responder.server.web import create_app
from responder.simulator import Simulator
from responder.store.sqlite import SQLiteStore
from tests.harness import SECRET, Running, outcomes, serve_in_thread, service_config, wait_for

HOURS_QUESTION = "What are your opening hours?"
WINDOW_REJECTION = json.loads(
    (Path(__file__).parents[1] / "samples" / "api_window_rejection.json").read_text()
)


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


# -- verifying deliveries ---------------------------------------------------------------------


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


@pytest.mark.parametrize(
    "mangle",
    [
        lambda sig: "sha256=" + sig,
        lambda sig: sig.upper(),
        lambda sig: "sha256=" + sig.upper(),
    ],
)
def test_signature_variants_are_accepted(sim: Simulator, tmp_path: Path, mangle: Any) -> None:
    with running(sim, tmp_path) as service:
        body, headers = signed(sim, "1", HOURS_QUESTION)
        headers[HEADER_SIGNATURE] = mangle(sign(body, SECRET))
        assert post(service, body, headers).status_code == 202


@pytest.mark.parametrize("signature", [None, "", "deadbeef", "sha256=" + "0" * 64])
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


def test_two_secrets_both_verify_during_rotation(sim: Simulator, tmp_path: Path) -> None:
    with running(sim, tmp_path, webhook_secrets=("new-secret", SECRET)) as service:
        body, headers = signed(sim, "1", HOURS_QUESTION)
        assert post(service, body, headers).status_code == 202  # old secret
        body, headers = signed(sim, "2", HOURS_QUESTION)
        headers[HEADER_SIGNATURE] = sign(body, "new-secret")
        assert post(service, body, headers).status_code == 202
        body, headers = signed(sim, "3", HOURS_QUESTION)
        headers[HEADER_SIGNATURE] = sign(body, "retired-secret")
        assert post(service, body, headers).status_code == 401


@pytest.mark.parametrize("offset", [-301, 301])
def test_a_timestamp_outside_the_tolerance_is_refused(
    sim: Simulator, tmp_path: Path, offset: int
) -> None:
    with running(sim, tmp_path) as service:
        body, headers = signed(sim, "1", HOURS_QUESTION)
        headers[HEADER_TIMESTAMP] = str(int(time.time()) + offset)
        assert post(service, body, headers).status_code == 401
        headers[HEADER_TIMESTAMP] = str(
            int(time.time() * 1000) + 1000 * (offset - offset // abs(offset) * 2)
        )
        assert post(service, body, headers).status_code == 202  # milliseconds, just inside


def test_a_body_over_1_mib_is_413(sim: Simulator, tmp_path: Path) -> None:
    with running(sim, tmp_path) as service:
        body = b'{"pad": "' + b"x" * (1024 * 1024) + b'"}'
        headers = {HEADER_SIGNATURE: sign(body, SECRET), HEADER_TIMESTAMP: str(int(time.time()))}
        assert post(service, body, headers).status_code == 413


@pytest.mark.parametrize("body", [b"{not json", b"[1, 2]", b'"text"', b"\xff\xfe"])
def test_a_signed_body_that_is_not_a_json_object_is_400(
    sim: Simulator, tmp_path: Path, body: bytes
) -> None:
    with running(sim, tmp_path) as service:
        headers = {HEADER_SIGNATURE: sign(body, SECRET), HEADER_TIMESTAMP: str(int(time.time()))}
        answer = post(service, body, headers)
        assert answer.status_code == 400 and answer.json() == {"error": "malformed delivery"}


def test_uninteresting_events_are_ignored(sim: Simulator, tmp_path: Path) -> None:
    with running(sim, tmp_path) as service:
        body, headers = build_delivery("leads_updated", {}, {"id": "5"}, secret=SECRET)
        answer = post(service, body, headers)
        assert answer.status_code == 200 and answer.json() == {"status": "ignored"}


def test_the_webhook_never_answers_500_with_a_traceback(sim: Simulator, tmp_path: Path) -> None:
    with running(sim, tmp_path) as service:
        answer = httpx.get(f"{service.url}/webhook", timeout=5)
        assert answer.status_code == 405 and "Traceback" not in answer.text


# -- exactly once -------------------------------------------------------------------------------


def test_the_same_message_delivered_twice_is_answered_once(sim: Simulator, tmp_path: Path) -> None:
    with running(sim, tmp_path) as service:
        body, headers = signed(sim, "1", HOURS_QUESTION)
        assert post(service, body, headers).status_code == 202
        again = post(service, body, {**headers, "X-AbcSalesAI-Delivery": "redelivery-2"})
        assert again.status_code == 200 and again.json() == {"status": "duplicate"}
        outcomes(service.store, "1")
        assert len(sim.replies("1")) == 1
        assert len(service.store.decisions(lead_id="1")) == 1


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


# -- the loop guard and pauses -----------------------------------------------------------------


def test_outbound_bot_messages_are_never_answered(sim: Simulator, tmp_path: Path) -> None:
    with running(sim, tmp_path) as service:
        sim.say("1", HOURS_QUESTION, direction="outbound", sender_type="bot")
        [record] = outcomes(service.store, "1")
        assert record.outcome is Outcome.NOT_INBOUND
        sim.say("1", HOURS_QUESTION)  # the lead can still be answered: no takeover
        assert outcomes(service.store, "1", 2)[1].outcome is Outcome.SENT
        assert len(sim.replies("1")) == 1


def test_an_agent_message_pauses_the_bot(sim: Simulator, tmp_path: Path) -> None:
    with running(sim, tmp_path) as service:
        sim.say("1", "Hi, Farid from the team here", direction="outbound", sender_type="user")
        [takeover] = outcomes(service.store, "1")
        assert takeover.outcome is Outcome.NOT_INBOUND and "paused until" in takeover.reason
        sim.say("1", HOURS_QUESTION)
        assert outcomes(service.store, "1", 2)[1].outcome is Outcome.PAUSED
        assert sim.replies("1") == []


def test_our_own_reply_echoed_as_an_agent_message_is_not_a_takeover(
    sim: Simulator, tmp_path: Path
) -> None:
    with running(sim, tmp_path) as service:
        sim.say("1", HOURS_QUESTION)
        [sent] = outcomes(service.store, "1")
        sim.say("1", sent.reply, direction="outbound", sender_type="user")
        assert "from the bot" in outcomes(service.store, "1", 2)[1].reason
        sim.say("1", "how much is it?")
        assert outcomes(service.store, "1", 3)[2].outcome is Outcome.SENT


def test_an_escalation_pauses_the_lead(sim: Simulator, tmp_path: Path) -> None:
    with running(sim, tmp_path) as service:
        answer = sim.escalate("1")
        assert isinstance(answer, httpx.Response) and answer.json() == {"status": "paused"}
        sim.say("1", HOURS_QUESTION)
        assert outcomes(service.store, "1")[0].outcome is Outcome.PAUSED
        assert sim.replies("1") == []


def test_the_reply_budget_stops_a_loop(sim: Simulator, tmp_path: Path) -> None:
    with running(sim, tmp_path, reply_budget=2) as service:
        for i, text in enumerate(["opening hours?", "how much?", "your address?"]):
            sim.say("1", text)
            outcomes(service.store, "1", i + 1)
        last = outcomes(service.store, "1", 3)[2]
        assert last.outcome is Outcome.BUDGET
        assert len(sim.replies("1")) == 2


def test_a_rule_cooldown_holds_across_messages(sim: Simulator, tmp_path: Path) -> None:
    with running(sim, tmp_path) as service:
        sim.say("1", HOURS_QUESTION)
        outcomes(service.store, "1")
        sim.say("1", "are you open today?")
        assert outcomes(service.store, "1", 2)[1].outcome is Outcome.COOLDOWN
        assert len(sim.replies("1")) == 1


# -- the 24-hour window -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("ago", "outcome"),
    [
        (timedelta(hours=23, minutes=49), Outcome.SENT),
        (timedelta(hours=23, minutes=51), Outcome.WINDOW_CLOSED),  # inside the safety margin
        (timedelta(hours=25), Outcome.WINDOW_CLOSED),
    ],
)
def test_window_edges(sim: Simulator, tmp_path: Path, ago: timedelta, outcome: Outcome) -> None:
    with running(sim, tmp_path) as service:
        sim.say("1", HOURS_QUESTION, at=ago)
        assert outcomes(service.store, "1")[0].outcome is outcome
        assert len(sim.replies("1")) == (1 if outcome is Outcome.SENT else 0)
        assert sim.reply_attempts() == (1 if outcome is Outcome.SENT else 0)


def test_a_window_rejection_is_recorded_once_and_not_retried(
    sim: Simulator, tmp_path: Path
) -> None:
    sim.inject({"status": 400, "body": WINDOW_REJECTION})
    with running(sim, tmp_path) as service:
        sim.say("1", HOURS_QUESTION)
        [record] = outcomes(service.store, "1")
        assert record.outcome is Outcome.WINDOW_CLOSED
        time.sleep(0.5)  # would a retry have happened, it would have by now
        assert sim.reply_attempts() == 1
        assert service.store.pending() == 0


def test_a_window_rejection_gives_the_cooldown_back(sim: Simulator, tmp_path: Path) -> None:
    sim.inject({"status": 400, "body": WINDOW_REJECTION})
    with running(sim, tmp_path) as service:
        sim.say("1", HOURS_QUESTION)
        outcomes(service.store, "1")
        sim.say("1", "are you open today?")  # same rule: not in cooldown, nothing was sent
        assert outcomes(service.store, "1", 2)[1].outcome is Outcome.SENT


# -- failures of the API ------------------------------------------------------------------------


def test_429_with_retry_after_then_success(sim: Simulator, tmp_path: Path) -> None:
    sim.inject({"status": 429, "retry_after": "1"})
    with running(sim, tmp_path) as service:
        sim.say("1", HOURS_QUESTION)
        assert outcomes(service.store, "1")[0].outcome is Outcome.SENT
        assert sim.reply_attempts() == 2 and len(sim.replies("1")) == 1


def test_503_twice_then_success(sim: Simulator, tmp_path: Path) -> None:
    sim.inject({"status": 503, "times": 2})
    with running(sim, tmp_path) as service:
        sim.say("1", HOURS_QUESTION)
        assert outcomes(service.store, "1")[0].outcome is Outcome.SENT
        assert sim.reply_attempts() == 3 and len(sim.replies("1")) == 1


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


def test_a_reply_lost_before_it_was_stored_is_sent_again_after_the_lease(
    sim: Simulator, tmp_path: Path
) -> None:
    sim.inject({"kind": "drop_before_store"})
    with running(sim, tmp_path, **QUICK_TAKEOVER) as service:
        sim.say("1", HOURS_QUESTION)
        [record] = outcomes(service.store, "1")
        assert record.outcome is Outcome.SENT and "taken over" in record.reason
        assert sim.reply_attempts() == 2 and len(sim.replies("1")) == 1


def test_a_lost_answer_is_not_resent_at_once_while_the_platform_may_still_store_it(
    sim: Simulator, tmp_path: Path
) -> None:
    # The platform stores the reply 1.5 s after the request, long after our 0.5 s timeout.
    sim.inject({"kind": "timeout_before_store", "seconds": 1.5})
    with running(sim, tmp_path, read_timeout=0.5, **QUICK_TAKEOVER) as service:
        sim.say("1", HOURS_QUESTION)
        [record] = outcomes(service.store, "1")
        assert record.outcome is Outcome.SENT and "earlier attempt" in record.reason
        assert sim.reply_attempts() == 1 and len(sim.replies("1")) == 1


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


def test_an_api_down_for_a_while_is_answered_by_a_later_attempt(
    sim: Simulator, tmp_path: Path
) -> None:
    sim.inject({"status": 503, "times": 1000})
    with running(sim, tmp_path, **QUICK_TAKEOVER) as service:
        sim.say("1", HOURS_QUESTION)
        wait_for(lambda: sim.reply_attempts() >= 1, what="the first attempt to start")
        time.sleep(QUICK_TAKEOVER["job_deadline"].total_seconds())  # ...and to give up
        httpx.delete(f"{sim.url}/_sim/faults")  # the API is back
        [record] = outcomes(service.store, "1")
        assert record.outcome is Outcome.SENT and "taken over" in record.reason
        assert len(sim.replies("1")) == 1


def test_an_api_down_through_every_attempt_is_recorded_as_failed(
    sim: Simulator, tmp_path: Path
) -> None:
    sim.inject({"status": 503, "times": 1000})
    with running(sim, tmp_path, max_attempts=2, **QUICK_TAKEOVER) as service:
        sim.say("1", HOURS_QUESTION)
        [record] = outcomes(service.store, "1")
        assert record.outcome is Outcome.FAILED
        assert "gave up after 2 attempt(s)" in record.reason and "503" in record.reason
        assert sim.replies("1") == []
        # Nothing went out, so the rule's cooldown was given back.
        assert service.store.lead_state("1").last_reply == {}


def test_a_copy_of_a_job_taken_over_meanwhile_does_nothing(sim: Simulator, tmp_path: Path) -> None:
    with running(sim, tmp_path) as service:
        responder = service.service.responder
        now = datetime.now(UTC)
        message = Message(text=HOURS_QUESTION, channel="whatsapp", received_at=now, id="m9",
                          connection_id=123)  # fmt: skip
        # Accepted long ago by this process, waited in its queue past the lease...
        lease = responder.config.lease
        job = Job(key="msg:m9", lead=Lead(id="9"), message=message, accepted_at=now - 2 * lease)
        assert service.store.accept(job, owner=responder.owner, lease=lease, now=job.accepted_at)
        # ...and meanwhile taken over by another process.
        assert service.store.reclaim(owner="another-process", lease=lease, now=now)
        assert responder.handle(job) is None
        assert sim.reply_attempts() == 0 and service.store.pending() == 1


# -- hydration, dry run, channels ---------------------------------------------------------------


def test_a_delivery_without_the_message_is_completed_from_the_conversation(
    sim: Simulator, tmp_path: Path
) -> None:
    with running(sim, tmp_path) as service:
        sim.say("1", HOURS_QUESTION, omit=["content", "created_at", "direction", "sender_type"])
        [record] = outcomes(service.store, "1")
        assert record.outcome is Outcome.SENT and record.rule == "opening-hours"


def test_dry_run_records_but_never_calls_the_reply_endpoint(sim: Simulator, tmp_path: Path) -> None:
    with running(sim, tmp_path, dry_run=True) as service:
        sim.say("1", HOURS_QUESTION)
        [record] = outcomes(service.store, "1")
        assert record.outcome is Outcome.DRY_RUN and "open Mon-Fri" in record.reply
        assert sim.reply_attempts() == 0


def test_no_connected_channel_is_recorded(sim: Simulator, tmp_path: Path) -> None:
    sim.set_connections([{"id": 9, "name": "Old", "messaging_channel_id": "whatsapp",
                          "default": True, "connected": False}])  # fmt: skip
    with running(sim, tmp_path) as service:
        sim.say("1", HOURS_QUESTION, omit=["messaging_channel_connection_id"])
        [record] = outcomes(service.store, "1")
        assert record.outcome is Outcome.CHANNEL_UNAVAILABLE
        assert sim.reply_attempts() == 0


def test_a_message_nobody_has_a_rule_for_is_recorded_as_no_match(
    sim: Simulator, tmp_path: Path
) -> None:
    (tmp_path / "rules").mkdir()
    (tmp_path / "rules" / "only.yaml").write_text(
        "rules:\n  - name: hours\n    keywords: [hours]\n    text: Nine to five\n"
    )
    with running(sim, tmp_path, rules_dir=tmp_path / "rules") as service:
        sim.say("1", "something else")
        assert outcomes(service.store, "1")[0].outcome is Outcome.NO_MATCH


# -- health, configuration ----------------------------------------------------------------------


def test_health_and_readiness(sim: Simulator, tmp_path: Path) -> None:
    with running(sim, tmp_path) as service:
        assert httpx.get(f"{service.url}/healthz").json() == {"status": "alive"}
        ready = httpx.get(f"{service.url}/readyz")
        assert ready.status_code == 200 and ready.json()["rules"] == 8


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
    assert "bot> Hi Aisyah! Kopi Kita is open" in out


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
