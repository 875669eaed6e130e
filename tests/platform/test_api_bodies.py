"""The REST API's bodies: connections and conversation pages read, the reply body built, a
window rejection told from other refusals."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from responder.errors import PlatformUnavailable
from responder.model import Connection, Direction
from responder.platform import api_bodies
from responder.platform.messages import newest_message

SAMPLES = Path(__file__).parents[1] / "samples"
T0 = datetime(2026, 11, 26, 10, 15, tzinfo=UTC)


def sample(name: str) -> bytes:
    return (SAMPLES / name).read_bytes()


CUT = "\ud83d"
NOW = datetime(2024, 5, 15, 3, tzinfo=UTC)


def test_parse_connections_skips_broken_entries_and_ignores_unknown_fields() -> None:
    connections = api_bodies.parse_connections(json.loads(sample("api_connections.json")))
    assert connections == [
        Connection(123, "Main WhatsApp", "whatsapp", default=True, connected=True),
        Connection(124, "Old WhatsApp number", "whatsapp", default=False, connected=False),
        Connection(125, "Instagram", "instagram", default=False, connected=True),
    ]


def test_connection_without_connected_flag_is_not_connected() -> None:
    payload = {"data": {"messaging_channel_connections": [{"id": 1, "default": True}]}}
    assert api_bodies.parse_connections(payload)[0].connected is False


@pytest.mark.parametrize("payload", [None, [], {"data": {}}, {"data": {"x": []}}, "text"])
def test_unknown_response_shapes_are_not_taken_for_empty_lists(payload: object) -> None:
    with pytest.raises(PlatformUnavailable, match="shape"):
        api_bodies.parse_connections(payload)
    with pytest.raises(PlatformUnavailable, match="shape"):
        api_bodies.parse_conversation(payload)


def test_parse_conversation_sorts_by_time_and_returns_the_cursor() -> None:
    messages, cursor = api_bodies.parse_conversation(
        json.loads(sample("api_conversation_page.json"))
    )
    assert [m.id for m in messages] == ["1", "2", "3"]
    assert cursor == "b2Zmc2V0OjUw"
    assert messages[2].direction is Direction.OUTBOUND


@pytest.mark.parametrize("meta", [None, {}, {"next_cursor": None}, {"next_cursor": ""}])
def test_last_page_has_no_cursor(meta: object) -> None:
    payload = {"data": {"conversations": []}, "meta": meta}
    assert api_bodies.parse_conversation(payload) == ([], None)


def test_reply_payload_shape() -> None:
    assert api_bodies.reply_payload("Hi", 123) == {
        "content": "Hi",
        "messaging_channel_connection_id": 123,
    }


@pytest.mark.parametrize(
    ("status", "body", "expected"),
    [
        (400, sample("api_window_rejection.json").decode(), True),
        (400, '{"error": "Message failed to send because more than 24 hours have passed"}', True),
        (422, "Outside the messaging window", True),
        (400, "OUTSIDE OF THE CUSTOMER SERVICE WINDOW", True),
        (403, '{"code": 131047}', True),
        (400, "the 24-hour window is closed", True),
        (400, "content is required", False),
        (401, "Unauthorized", False),
        (500, "re-engagement message", False),
        (200, "131047", False),
    ],
)
def test_is_window_rejection(status: int, body: str, expected: bool) -> None:
    assert api_bodies.is_window_rejection(status, body) is expected


def test_odd_digits_in_api_answers_are_not_read_as_numbers() -> None:
    payload = {"data": [{"id": "²", "connected": True}, {"id": "12", "connected": True}]}
    assert [c.id for c in api_bodies.parse_connections(payload)] == [12]
    conversation = {
        "data": [
            {"id": "²", "content": "a", "direction": "inbound", "created_at": NOW.isoformat()},
            {"id": "5", "content": "b", "direction": "inbound", "created_at": NOW.isoformat()},
        ]
    }
    messages, _ = api_bodies.parse_conversation(conversation)
    newest = newest_message(messages)
    assert newest is not None and newest.id == "5" and newest.direction is Direction.INBOUND


def test_lone_surrogates_in_api_answers_come_out_replaced() -> None:
    conversation = {
        "data": [{"id": f"m{CUT}", "content": f"a{CUT}", "created_at": "9999-12-31T00:00:00Z"}]
    }
    [message], _ = api_bodies.parse_conversation(conversation)
    assert message.id == "m\ufffd" and message.text == "a\ufffd" and message.received_at is None
