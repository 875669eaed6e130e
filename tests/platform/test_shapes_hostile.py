"""The adapter on values nobody well-meaning sends: it hands on only what the rest of the
service can store and compute with, and refuses lead ids that are not plain identifiers."""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime, timedelta

import pytest

from responder.errors import MalformedDelivery
from responder.model import Direction, Message
from responder.platform import shapes

CUT = "\ud83d"
NOW = datetime(2024, 5, 15, 3, tzinfo=UTC)


def _body(lead: dict[str, object], /, **event_data: object) -> bytes:
    data = {"content": "hi", "direction": "inbound", "created_at": NOW.isoformat(), **event_data}
    return json.dumps(
        {"event_type": "conversation_created", "event_data": data, "lead": lead}
    ).encode()


def test_every_string_of_a_delivery_comes_out_encodable() -> None:
    lead = {
        "id": "7",
        "name": f"Ais{CUT}",
        "email": CUT,
        "tags": [CUT, "vip"],
        "custom_fields": {CUT: [CUT, {"k": CUT}]},
    }
    body = _body(lead, content=f"hi {CUT}", id=f"m{CUT}", messaging_channel_id=CUT)
    delivery = shapes.parse_delivery(body, event_header=None, delivery_id=f"d{CUT}")
    assert delivery.lead is not None and delivery.message is not None
    assert delivery.message.text == "hi \ufffd" and delivery.message.id == "m\ufffd"
    assert delivery.lead.name == "Ais\ufffd" and delivery.lead.tags == ("\ufffd", "vip")
    assert delivery.lead.custom_fields == {"\ufffd": ["\ufffd", {"k": "\ufffd"}]}
    assert delivery.delivery_id == "d\ufffd"
    for value in (delivery.lead.to_dict(), delivery.message.to_dict(), delivery.delivery_id):
        json.dumps(value, ensure_ascii=False).encode("utf-8")


@pytest.mark.parametrize(
    "lead_and_data",
    [
        ({"id": ".."}, {}),
        ({"id": "."}, {}),
        ({"id": "7/../../x"}, {}),
        ({"id": "7?x=1"}, {}),
        ({"id": "7#x"}, {}),
        ({"id": "7%2F"}, {}),
        ({}, {"lead_id": ".."}),
        ({}, {"lead": {"id": "a b"}}),
        ({"id": "x" * 129}, {}),
    ],
)
def test_a_lead_id_that_is_not_a_plain_identifier_is_refused(
    lead_and_data: tuple[dict[str, object], dict[str, object]],
) -> None:
    lead, data = lead_and_data
    with pytest.raises(MalformedDelivery, match="not a plain identifier") as refused:
        shapes.parse_delivery(_body(lead, **data), event_header=None, delivery_id="d")
    assert refused.value.status == 400


def test_an_escalation_or_another_event_with_such_a_lead_id_is_refused_too() -> None:
    for event in (shapes.EVENT_ESCALATION, shapes.EVENT_LEAD_UPDATED):
        body = json.dumps({"event_type": event, "lead": {"id": ".."}}).encode()
        with pytest.raises(MalformedDelivery, match="not a plain identifier"):
            shapes.parse_delivery(body, event_header=None, delivery_id="d")


def test_the_delivery_carries_the_digest_of_its_body() -> None:
    body = _body({"id": "7"})
    delivery = shapes.parse_delivery(body, event_header=None, delivery_id="d-1")
    assert delivery.digest == hashlib.sha256(body).hexdigest()


def test_a_far_future_time_in_a_delivery_is_no_time() -> None:
    body = _body({"id": "7"}, created_at="9999-12-31T00:00:00Z")
    message = shapes.parse_delivery(body, event_header=None, delivery_id="d").message
    assert message is not None and message.received_at is None
    assert shapes.needs_hydration(message)


def test_not_after_takes_a_later_time_as_now() -> None:
    later = Message("hi", received_at=NOW + timedelta(days=30))
    assert shapes.not_after(later, NOW).received_at == NOW
    earlier = Message("hi", received_at=NOW - timedelta(seconds=1))
    assert shapes.not_after(earlier, NOW) is earlier
    untimed = Message("hi")
    assert shapes.not_after(untimed, NOW) is untimed


def test_odd_digits_in_api_answers_are_not_read_as_numbers() -> None:
    payload = {"data": [{"id": "²", "connected": True}, {"id": "12", "connected": True}]}
    assert [c.id for c in shapes.parse_connections(payload)] == [12]
    conversation = {
        "data": [
            {"id": "²", "content": "a", "direction": "inbound", "created_at": NOW.isoformat()},
            {"id": "5", "content": "b", "direction": "inbound", "created_at": NOW.isoformat()},
        ]
    }
    messages, _ = shapes.parse_conversation(conversation)
    newest = shapes.newest_message(messages)
    assert newest is not None and newest.id == "5" and newest.direction is Direction.INBOUND


def test_lone_surrogates_in_api_answers_come_out_replaced() -> None:
    conversation = {
        "data": [{"id": f"m{CUT}", "content": f"a{CUT}", "created_at": "9999-12-31T00:00:00Z"}]
    }
    [message], _ = shapes.parse_conversation(conversation)
    assert message.id == "m\ufffd" and message.text == "a\ufffd" and message.received_at is None
