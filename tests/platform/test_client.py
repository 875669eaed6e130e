"""The ABC API client against the simulator over real HTTP (MockTransport only where the
simulator cannot produce the fault)."""

from __future__ import annotations

import logging
import random
import socket
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import httpx
import pytest

from responder.errors import (
    ConfigError,
    OutcomeUnknown,
    PlatformRejected,
    PlatformUnavailable,
    RateLimited,
    WindowClosed,
)
from responder.model import Direction
from responder.platform.client import AbcClient
from responder.platform.messages import reply_present
from responder.simulator import Simulator

LEAD = "4321"


class FakeTime:
    """A clock that only moves when slept on; every sleep is recorded."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.sleeps: list[float] = []

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


class CeilingRng(random.Random):
    """Jitter that always draws the top of the range, so waits are predictable."""

    def uniform(self, a: float, b: float) -> float:
        return b


@pytest.fixture
def sim() -> Iterator[Simulator]:
    with Simulator(page_size=50) as simulator:
        simulator.add_message(LEAD, "What are your opening hours?", at=timedelta(minutes=5))
        yield simulator


@pytest.fixture
def fake() -> FakeTime:
    return FakeTime()


def make_client(
    sim: Simulator, fake: FakeTime, *, key: str = "sim-key", **kwargs: object
) -> AbcClient:
    options: dict[str, object] = {"sleep": fake.sleep, "clock": fake.clock, "read_timeout": 2.0}
    options.update(kwargs)
    return AbcClient(sim.base_url, key, **options)  # type: ignore[arg-type]


def test_connections(sim: Simulator, fake: FakeTime) -> None:
    with make_client(sim, fake) as client:
        connections = client.connections(deadline=fake.now + 30)
    assert [(c.id, c.default, c.connected) for c in connections] == [
        (123, True, True),
        (124, False, False),
    ]


def test_conversation_follows_the_cursor_across_pages(sim: Simulator, fake: FakeTime) -> None:
    start = datetime.now(UTC) - timedelta(hours=3)
    for i in range(119):
        sim.add_message(LEAD, f"message {i}", at=start + timedelta(seconds=i))
    with make_client(sim, fake) as client:
        messages = client.conversation(LEAD, deadline=fake.now + 30)
    assert len(messages) == 120  # three pages of 50
    assert sim.stats()["requests"] == 3
    assert [m.text for m in messages[:3]] == ["message 0", "message 1", "message 2"]
    assert messages[-1].text == "What are your opening hours?"
    times = [m.received_at for m in messages]
    assert times == sorted(times)  # type: ignore[type-var]


def test_reply_is_stored_in_the_conversation(sim: Simulator, fake: FakeTime) -> None:
    with make_client(sim, fake) as client:
        client.reply(LEAD, "We are open 9 to 6.", 123, deadline=fake.now + 30)
        messages = client.conversation(LEAD, deadline=fake.now + 30)
    assert [r["content"] for r in sim.replies(LEAD)] == ["We are open 9 to 6."]
    assert messages[-1].direction is Direction.OUTBOUND
    assert fake.sleeps == []


def test_a_reply_carries_its_attachment_only_when_it_has_one(
    sim: Simulator, fake: FakeTime
) -> None:
    with make_client(sim, fake) as client:
        client.reply(LEAD, "Our menu", 123, attachment="uploads/menu.pdf", deadline=fake.now + 30)
        client.reply(LEAD, "No file", 123, deadline=fake.now + 30)
    with_file, without = sim.replies(LEAD)
    assert (with_file["content"], with_file["s3_attachment"]) == ("Our menu", "uploads/menu.pdf")
    assert "s3_attachment" not in without


def test_429_with_retry_after_seconds_then_success(sim: Simulator, fake: FakeTime) -> None:
    sim.inject({"status": 429, "retry_after": "7"})
    with make_client(sim, fake) as client:
        client.reply(LEAD, "Hi", 123, deadline=fake.now + 30)
    assert fake.sleeps == [7.0]
    assert sim.reply_attempts() == 2
    assert len(sim.replies()) == 1


def test_retry_after_as_http_date(sim: Simulator, fake: FakeTime) -> None:
    when = format_datetime(datetime.now(UTC) + timedelta(seconds=20), usegmt=True)
    sim.inject({"status": 429, "retry_after": when})
    with make_client(sim, fake) as client:
        client.reply(LEAD, "Hi", 123, deadline=fake.now + 60)
    assert len(fake.sleeps) == 1 and 15 <= fake.sleeps[0] <= 20
    assert len(sim.replies()) == 1


def test_retry_after_beyond_the_deadline_gives_up_at_once(sim: Simulator, fake: FakeTime) -> None:
    sim.inject({"status": 429, "retry_after": "120"})
    with make_client(sim, fake) as client, pytest.raises(RateLimited) as caught:
        client.reply(LEAD, "Hi", 123, deadline=fake.now + 30)
    assert caught.value.retry_after == 120
    assert fake.sleeps == []
    assert sim.reply_attempts() == 1 and sim.replies() == []


def test_503_twice_then_success_with_full_jitter(sim: Simulator, fake: FakeTime) -> None:
    sim.inject({"status": 503, "times": 2})
    with make_client(sim, fake, rng=random.Random(7)) as client:
        client.reply(LEAD, "Hi", 123, deadline=fake.now + 30)
    assert len(fake.sleeps) == 2
    assert 0 <= fake.sleeps[0] <= 0.5 and 0 <= fake.sleeps[1] <= 1.0
    assert sim.reply_attempts() == 3
    assert len(sim.replies()) == 1


def test_backoff_doubles_up_to_the_cap(sim: Simulator, fake: FakeTime) -> None:
    sim.inject({"status": 503, "path": "*", "times": 5})
    with make_client(sim, fake, rng=CeilingRng(), backoff_cap=3.0) as client:
        client.connections(deadline=fake.now + 60)
    assert fake.sleeps == [0.5, 1.0, 2.0, 3.0, 3.0]


def test_retries_run_out(sim: Simulator, fake: FakeTime) -> None:
    sim.inject({"status": 503, "path": "*", "times": 10})
    with make_client(sim, fake, max_attempts=3) as client, pytest.raises(PlatformUnavailable):
        client.connections(deadline=fake.now + 600)
    assert len(fake.sleeps) == 2
    assert sim.stats()["requests"] == 3


def test_no_retry_once_the_next_wait_would_pass_the_deadline(
    sim: Simulator, fake: FakeTime
) -> None:
    sim.inject({"status": 503, "times": 5})
    with make_client(sim, fake, rng=CeilingRng()) as client, pytest.raises(PlatformUnavailable):
        # Waits would be 0.5 then 1.0: the second would end past the deadline.
        client.reply(LEAD, "Hi", 123, deadline=fake.now + 1.2)
    assert fake.sleeps == [0.5]
    assert sim.reply_attempts() == 2
    assert sim.replies() == []


def test_nothing_is_sent_once_the_deadline_has_passed(sim: Simulator, fake: FakeTime) -> None:
    with make_client(sim, fake) as client, pytest.raises(PlatformUnavailable, match="deadline"):
        client.reply(LEAD, "Hi", 123, deadline=fake.now - 0.1)
    assert sim.reply_attempts() == 0


def test_read_timeout_after_the_reply_was_stored_is_an_unknown_outcome(
    sim: Simulator, fake: FakeTime
) -> None:
    sim.inject({"kind": "timeout_after_store", "seconds": 5})
    since = datetime.now(UTC)
    with make_client(sim, fake, read_timeout=0.3) as client:
        with pytest.raises(OutcomeUnknown):
            client.reply(LEAD, "We are open 9 to 6.", 123, deadline=fake.now + 30)
        assert sim.reply_attempts() == 1  # not retried
        messages = client.conversation(LEAD, deadline=fake.now + 30)
    assert reply_present(messages, "We are open 9 to 6.", since=since)
    assert fake.sleeps == []


def test_connection_dropped_after_the_reply_was_stored_is_an_unknown_outcome(
    sim: Simulator, fake: FakeTime
) -> None:
    sim.inject({"kind": "drop_after_store"})
    with make_client(sim, fake) as client, pytest.raises(OutcomeUnknown):
        client.reply(LEAD, "Hi", 123, deadline=fake.now + 30)
    assert sim.reply_attempts() == 1
    assert len(sim.replies()) == 1


@pytest.mark.parametrize("status", [502, 504])
def test_gateway_error_on_the_reply_is_an_unknown_outcome(
    sim: Simulator, fake: FakeTime, status: int
) -> None:
    sim.inject({"status": status})
    with make_client(sim, fake) as client, pytest.raises(OutcomeUnknown, match=str(status)):
        client.reply(LEAD, "Hi", 123, deadline=fake.now + 30)
    assert sim.reply_attempts() == 1


def test_gets_are_retried_after_gateway_errors_drops_and_read_timeouts(
    sim: Simulator, fake: FakeTime
) -> None:
    sim.inject({"status": 502, "path": "/v1/leads/*"})
    sim.inject({"kind": "drop_before_store", "path": "/v1/leads/*"})
    sim.inject({"kind": "timeout_before_store", "seconds": 5, "path": "/v1/leads/*"})
    with make_client(sim, fake, read_timeout=0.3) as client:
        messages = client.conversation(LEAD, deadline=fake.now + 30)
    assert [m.text for m in messages] == ["What are your opening hours?"]
    assert len(fake.sleeps) == 3
    assert sim.stats()["requests"] == 4


def test_connect_errors_are_retried_for_the_reply_too(fake: FakeTime) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    client = AbcClient(
        f"http://127.0.0.1:{port}/v1", "k", sleep=fake.sleep, clock=fake.clock, max_attempts=3
    )
    with client, pytest.raises(PlatformUnavailable, match="could not be reached"):
        client.reply(LEAD, "Hi", 123, deadline=fake.now + 60)
    assert len(fake.sleeps) == 2


# Answers trickling one byte every 50 ms: each read well within the read timeout, the whole
# answer (some 200 bytes) far beyond the deadline. The call ends at its deadline all the same.
# A byte every 0.2 s: a whole answer would take half a minute, so ending within seconds of
# the deadline can only be the deadline's doing, even on a loaded machine.
TRICKLE = {"kind": "trickle", "seconds": 0.2}


def test_a_reply_whose_answer_trickles_ends_at_its_deadline_as_an_unknown_outcome(
    sim: Simulator,
) -> None:
    sim.inject({**TRICKLE, "path": "reply"})
    deadline = time.monotonic() + 1.0
    with AbcClient(sim.base_url, "sim-key") as client, pytest.raises(OutcomeUnknown):
        client.reply(LEAD, "We are open 9 to 6.", 123, deadline=deadline)
    assert time.monotonic() < deadline + 5.0
    assert sim.reply_attempts() == 1 and len(sim.replies()) == 1  # stored, answer cut short


def test_a_read_whose_answer_trickles_ends_at_its_deadline(sim: Simulator) -> None:
    sim.inject({**TRICKLE, "path": "*/conversations"})
    deadline = time.monotonic() + 1.0
    with AbcClient(sim.base_url, "sim-key") as client, pytest.raises(PlatformUnavailable):
        client.conversation(LEAD, deadline=deadline)
    assert time.monotonic() < deadline + 5.0


def test_window_rejection_is_final_after_one_attempt(sim: Simulator, fake: FakeTime) -> None:
    sim.add_message("77", "Hello?", at=timedelta(hours=24, minutes=1))
    with make_client(sim, fake) as client, pytest.raises(WindowClosed) as caught:
        client.reply("77", "Hi", 123, deadline=fake.now + 30)
    assert caught.value.status == 400 and "131047" in caught.value.body
    assert sim.reply_attempts() == 1
    assert fake.sleeps == []
    assert sim.replies() == []


def test_inside_the_window_the_reply_goes_out(sim: Simulator, fake: FakeTime) -> None:
    sim.add_message("78", "Hello?", at=timedelta(hours=23, minutes=49))
    with make_client(sim, fake) as client:
        client.reply("78", "Hi", 123, deadline=fake.now + 30)
    assert len(sim.replies("78")) == 1


def test_wrong_key_is_refused_and_never_shown(
    sim: Simulator, fake: FakeTime, caplog: pytest.LogCaptureFixture
) -> None:
    key = "wrong-key-8f3a9c2e"
    caplog.set_level(logging.DEBUG)
    with make_client(sim, fake, key=key) as client:
        assert key not in repr(client)
        with pytest.raises(PlatformRejected, match="refused the API key") as caught:
            client.connections(deadline=fake.now + 30)
    assert caught.value.status == 401
    assert key not in str(caught.value) and key not in caught.value.body
    assert all(key not in record.getMessage() for record in caplog.records)
    assert fake.sleeps == []


def test_a_body_echoing_the_key_is_masked(fake: FakeTime) -> None:
    key = "secret-key-55aa"

    def answer(request: httpx.Request) -> httpx.Response:
        return httpx.Response(
            400, text=f"bad header Authorization: {request.headers['Authorization']}"
        )

    transport = httpx.MockTransport(answer)
    client = AbcClient("https://abc.test/v1", key, transport=transport, clock=fake.clock)
    with client, pytest.raises(PlatformRejected) as caught:
        client.connections(deadline=fake.now + 30)
    assert key not in str(caught.value) and key not in caught.value.body
    assert "***" in caught.value.body


def test_other_client_errors_are_final_with_a_body_excerpt(sim: Simulator, fake: FakeTime) -> None:
    with make_client(sim, fake) as client, pytest.raises(PlatformRejected) as caught:
        client.reply(LEAD, "Hi", 124, deadline=fake.now + 30)
    assert not isinstance(caught.value, WindowClosed)
    assert caught.value.status == 400 and "disconnected" in str(caught.value)
    assert sim.reply_attempts() == 1


def test_unknown_lead_is_a_404(sim: Simulator, fake: FakeTime) -> None:
    with make_client(sim, fake) as client, pytest.raises(PlatformRejected) as caught:
        client.conversation("nobody", deadline=fake.now + 30)
    assert caught.value.status == 404


def test_lead_id_stays_one_path_segment(fake: FakeTime) -> None:
    seen: list[bytes] = []

    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(request.url.raw_path)
        return httpx.Response(200, json={"data": {"conversations": []}, "meta": {}})

    transport = httpx.MockTransport(answer)
    with AbcClient("https://abc.test/v1/", "k", transport=transport, clock=fake.clock) as client:
        client.conversation("../../webhook-subscriptions?x=1", deadline=fake.now + 30)
    assert seen == [b"/v1/leads/..%2F..%2Fwebhook-subscriptions%3Fx%3D1/conversations"]


def test_requests_carry_bearer_auth_and_user_agent(fake: FakeTime) -> None:
    seen: list[httpx.Request] = []

    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(201, json={})

    transport = httpx.MockTransport(answer)
    with AbcClient("https://abc.test/v1", "k1", transport=transport, clock=fake.clock) as client:
        client.reply("9", "Hi", 123, deadline=fake.now + 30)
    assert seen[0].headers["Authorization"] == "Bearer k1"
    assert seen[0].headers["User-Agent"].startswith("abc-auto-responder/")
    assert seen[0].url.path == "/v1/leads/9/conversations/reply"
    assert seen[0].read() == b'{"content":"Hi","messaging_channel_connection_id":123}'


def test_a_non_json_success_is_not_read_as_empty(fake: FakeTime) -> None:
    transport = httpx.MockTransport(lambda request: httpx.Response(200, text="<html>maintenance"))
    client = AbcClient("https://abc.test/v1", "k", transport=transport, clock=fake.clock)
    with client, pytest.raises(PlatformUnavailable, match="not JSON"):
        client.conversation("9", deadline=fake.now + 30)


def test_each_retry_is_logged_with_its_reason(
    sim: Simulator, fake: FakeTime, caplog: pytest.LogCaptureFixture
) -> None:
    sim.inject({"status": 503, "times": 2})
    caplog.set_level(logging.WARNING, logger="responder.client")
    with make_client(sim, fake) as client:
        client.reply(LEAD, "Hi", 123, deadline=fake.now + 30)
    lines = [r.getMessage() for r in caplog.records if r.name == "responder.client"]
    assert len(lines) == 2
    assert all("503" in line and "retrying the reply" in line for line in lines)


@pytest.mark.parametrize("key", ["", "two words", "line\nbreak"])
def test_unusable_key_is_a_config_error_that_does_not_show_it(key: str) -> None:
    with pytest.raises(ConfigError) as caught:
        AbcClient("https://abc.test/v1", key)
    assert not key or key not in str(caught.value)


def test_base_url_must_be_http() -> None:
    with pytest.raises(ConfigError, match="not an http"):
        AbcClient("ftp://abc.test/v1", "k")
