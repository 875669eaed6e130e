"""The simulator's state and fault queue, without HTTP: replies, the window, faults, reset."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from responder.simulator import Fault
from responder.simulator.faults import copies
from responder.simulator.state import PlatformState, Refusal, window_open

NOW = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)


def state_with(lead: str, ago: timedelta) -> PlatformState:
    state = PlatformState(now=lambda: NOW)
    state.add_message(
        lead,
        "Hello",
        when=NOW - ago,
        direction="inbound",
        sender_type="lead",
        channel="whatsapp",
        connection_id=123,
    )
    return state


def test_a_reply_inside_the_window_is_stored_and_listed() -> None:
    state = state_with("42", timedelta(hours=1))
    message = state.send_reply("42", "Hi!", 123)
    assert not isinstance(message, Refusal)
    assert message["direction"] == "outbound" and message["created_at"] == "2026-11-26T12:00:00Z"
    assert state.replies() == [message] and state.conversation("42")[-1] == message


@pytest.mark.parametrize(
    ("lead", "connection", "refusal"),
    [
        ("7", 123, Refusal(404, "Lead 7 not found.")),
        ("42", 5, Refusal(404, "Messaging channel connection 5 not found.")),
        ("42", 124, Refusal(400, "Messaging channel connection 124 is disconnected.")),
    ],
)
def test_refused_replies_say_why(lead: str, connection: int, refusal: Refusal) -> None:
    state = state_with("42", timedelta(hours=1))
    assert state.send_reply(lead, "Hi!", connection) == refusal
    assert state.replies() == []


def test_the_window_closes_after_exactly_24_hours() -> None:
    assert window_open([{"direction": "inbound", "created_at": "2026-11-25T12:00:00Z"}], NOW)
    assert not window_open([{"direction": "inbound", "created_at": "2026-11-25T11:59:59Z"}], NOW)
    assert not window_open([{"direction": "outbound", "created_at": "2026-11-26T11:00:00Z"}], NOW)
    refusal = state_with("42", timedelta(hours=25)).send_reply("42", "Hi!", 123)
    assert isinstance(refusal, Refusal) and (refusal.status, refusal.code) == (400, 131047)


def test_faults_are_taken_in_order_by_the_requests_they_match() -> None:
    state = PlatformState()
    state.add_faults([Fault(status=500, path="/v1/leads/*"), *copies({"status": 502, "times": 2})])
    reply = "/v1/leads/1/conversations/reply"
    assert state.take_fault("/v1/messaging-channel-connections", "GET") is None
    assert [state.take_fault(reply, "POST") for _ in range(4)] == [
        Fault(status=500, path="/v1/leads/*"),
        Fault(status=502),
        Fault(status=502),
        None,
    ]


def test_reset_forgets_all_but_the_requests_in_flight() -> None:
    state = state_with("42", timedelta(hours=1))
    state.begin_request("/v1/leads/42/conversations/reply", "POST")
    state.set_latency(2)
    state.add_faults([Fault()])
    state.reset()
    assert state.stats() == {
        "requests": 0,
        "reply_attempts": 0,
        "peak_in_flight": 0,
        "pending_faults": 0,
    }
    assert state.conversation("42") == [] and state.begin_request("/", "GET") == 0.0
    state.end_request()
    state.end_request()
    assert state.snapshot()["peak_in_flight"] == 2
