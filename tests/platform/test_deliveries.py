"""Webhook deliveries read the way the platform sends them, and built the way it would."""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from responder.errors import MalformedDelivery
from responder.model import Direction, Lead, Message, SenderType
from responder.platform import deliveries
from responder.platform.messages import needs_hydration
from responder.platform.signature import check_timestamp, verify_signature

SAMPLES = Path(__file__).parents[1] / "samples"
T0 = datetime(2026, 11, 26, 10, 15, tzinfo=UTC)


def sample(name: str) -> bytes:
    return (SAMPLES / name).read_bytes()


def parse(
    name: str, header: str | None = None, delivery_id: str | None = "d-1"
) -> deliveries.Delivery:
    return deliveries.parse_delivery(sample(name), event_header=header, delivery_id=delivery_id)


def test_full_delivery() -> None:
    delivery = parse("delivery_full.json", header=deliveries.EVENT_CONVERSATION_CREATED)
    assert delivery.event_type == deliveries.EVENT_CONVERSATION_CREATED
    assert delivery.delivery_id == "d-1"
    assert delivery.lead == Lead(
        id="4321",
        name="Aisyah Rahman",
        email="a@example.com",
        phone="+60123456789",
        locale="en",
        timezone="Asia/Kuala_Lumpur",
        tags=("pricing-page",),
        custom_fields={"plan_interest": "scale"},
    )
    assert delivery.message == Message(
        text="What are your opening hours?",
        channel="whatsapp",
        received_at=T0,
        id="98765",
        direction=Direction.INBOUND,
        sender_type=SenderType.LEAD,
        connection_id=123,
    )
    assert delivery.message.received_at is not None
    assert delivery.message.received_at.tzinfo is UTC
    assert not needs_hydration(delivery.message)


def test_delivery_with_empty_event_data_needs_hydration() -> None:
    delivery = parse("delivery_empty_event_data.json")
    assert delivery.lead is not None and delivery.lead.id == "4321"
    assert delivery.message is not None
    assert delivery.message.text == "" and delivery.message.received_at is None
    assert needs_hydration(delivery.message)


def test_outbound_bot_echo() -> None:
    message = parse("delivery_bot_echo.json").message
    assert message is not None
    assert message.direction is Direction.OUTBOUND and message.sender_type is SenderType.BOT
    assert not needs_hydration(message)


def test_agent_message_is_outbound_from_a_user() -> None:
    message = parse("delivery_agent_message.json").message
    assert message is not None
    assert message.direction is Direction.OUTBOUND and message.sender_type is SenderType.USER


def test_escalation_event_carries_the_lead_and_no_message() -> None:
    delivery = parse("delivery_escalation.json", header="leads_escalation_requested")
    assert delivery.event_type == deliveries.EVENT_ESCALATION
    assert delivery.lead is not None and delivery.lead.id == "4321"
    assert delivery.message is None


def test_unknown_event_type_is_read_not_refused() -> None:
    delivery = parse("delivery_unknown_event.json")
    assert delivery.event_type == "leads_updated"
    assert delivery.message is None
    assert delivery.lead is not None and delivery.lead.tags == ("pricing-page", "vip")


def test_field_name_variants_with_milliseconds() -> None:
    delivery = parse("delivery_variants_ms.json")
    assert delivery.event_type == deliveries.EVENT_CONVERSATION_CREATED
    assert delivery.lead == Lead(
        id="5150", name="Tan Wei Ming", locale="ms", tags=("pricing-page", "scale")
    )
    assert delivery.message == Message(
        text="Berapa harga pakej Scale?",
        channel="whatsapp",
        received_at=T0,
        id="m-77",
        direction=Direction.INBOUND,
        sender_type=SenderType.LEAD,
        connection_id=123,
    )


def test_field_name_variants_with_seconds_and_event_type_from_the_header() -> None:
    delivery = parse("delivery_variants_seconds.json", header="conversation_created")
    assert delivery.event_type == deliveries.EVENT_CONVERSATION_CREATED
    assert delivery.lead is not None and delivery.lead.id == "777"
    message = delivery.message
    assert message is not None
    assert (message.text, message.received_at, message.id) == ("Do you ship to Penang?", T0, "5")
    assert message.direction is Direction.INBOUND and message.sender_type is SenderType.LEAD
    assert message.connection_id is None


def test_nested_message_object_and_offset_time() -> None:
    delivery = parse("delivery_variants_nested.json")
    assert delivery.lead == Lead(id="88")
    message = delivery.message
    assert message is not None
    assert message.text == "Can I get a demo?"
    assert message.received_at == T0 and message.received_at.tzinfo is UTC
    # Only the sender was given: a lead's message is inbound.
    assert message.direction is Direction.INBOUND


def test_body_event_type_wins_over_the_header() -> None:
    delivery = parse("delivery_full.json", header="leads_updated")
    assert delivery.event_type == deliveries.EVENT_CONVERSATION_CREATED


@pytest.mark.parametrize(
    ("direction", "sender", "expected"),
    [
        ("in", None, (Direction.INBOUND, SenderType.LEAD)),
        ("Incoming", None, (Direction.INBOUND, SenderType.LEAD)),
        ("OUTBOUND", None, (Direction.OUTBOUND, SenderType.BOT)),
        ("out", "agent", (Direction.OUTBOUND, SenderType.USER)),
        ("outgoing", "staff", (Direction.OUTBOUND, SenderType.USER)),
        (None, "customer", (Direction.INBOUND, SenderType.LEAD)),
        (None, "automation", (Direction.OUTBOUND, SenderType.BOT)),
        (None, "system", (Direction.OUTBOUND, SenderType.BOT)),
        (None, "user", (Direction.OUTBOUND, SenderType.USER)),
    ],
)
def test_direction_and_sender_values(
    direction: str | None, sender: str | None, expected: tuple[Direction, SenderType]
) -> None:
    data: dict[str, Any] = {"content": "x", "created_at": "2026-11-26T10:15:00Z"}
    if direction is not None:
        data["direction"] = direction
    if sender is not None:
        data["sender_type"] = sender
    body = json.dumps({"event_type": "conversation_created", "event_data": data, "lead": {"id": 1}})
    message = deliveries.parse_delivery(body.encode(), event_header=None, delivery_id="d").message
    assert message is not None
    assert (message.direction, message.sender_type) == expected
    assert not needs_hydration(message)


def test_message_of_unknown_direction_is_never_taken_for_the_leads_and_needs_hydration() -> None:
    data = {"content": "hello", "created_at": "2026-11-26T10:15:00Z", "direction": "sideways"}
    body = json.dumps({"event_type": "conversation_created", "event_data": data, "lead": {"id": 1}})
    message = deliveries.parse_delivery(body.encode(), event_header=None, delivery_id="d").message
    assert message is not None
    assert message.direction is Direction.OUTBOUND
    assert needs_hydration(message)


def test_missing_delivery_id_falls_back_to_the_body_hash() -> None:
    body = sample("delivery_full.json")
    delivery = deliveries.parse_delivery(body, event_header=None, delivery_id=None)
    assert delivery.delivery_id == "sha256:" + hashlib.sha256(body).hexdigest()


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (b"{not json", "not valid JSON"),
        (b"\xff\xfe", "not valid JSON"),
        (b"[1, 2]", "not an object"),
        (b'{"event_data": {}, "lead": {"id": "1"}}', "no event type"),
        (
            b'{"event_type": "conversation_created", "event_data": [], "lead": {"id": "1"}}',
            "event_data is not an object",
        ),
        (
            b'{"event_type": "conversation_created", "event_data": {"content": "hi"}, "lead": {}}',
            "does not say which lead",
        ),
        (
            b'{"event_type": "conversation_created", "event_data": {}, "lead": {"id": true}}',
            "does not say which lead",
        ),
        (
            b'{"event_type": "leads_escalation_requested", "event_data": {}, "lead": {"id": " "}}',
            "does not say which lead",
        ),
    ],
)
def test_malformed_deliveries_are_refused_with_a_sentence(body: bytes, reason: str) -> None:
    with pytest.raises(MalformedDelivery, match=reason) as caught:
        deliveries.parse_delivery(body, event_header=None, delivery_id="d")
    assert caught.value.status == 400


def test_unknown_event_without_lead_is_accepted() -> None:
    body = b'{"event_type": "leads_deleted", "event_data": {}}'
    delivery = deliveries.parse_delivery(body, event_header=None, delivery_id="d")
    assert delivery.lead is None and delivery.message is None


def test_build_delivery_round_trips_through_the_checks() -> None:
    body, headers = deliveries.build_delivery(
        deliveries.EVENT_CONVERSATION_CREATED,
        {
            "id": 1,
            "lead_id": "9",
            "content": "Hi",
            "direction": "inbound",
            "created_at": "2026-11-26T10:15:00Z",
        },
        {"id": "9", "name": "Siti"},
        secret="s3",
        delivery_id="dlv-1",
        timestamp=1_795_688_100.7,
    )
    verify_signature(body, headers[deliveries.HEADER_SIGNATURE], ["other", "s3"])
    check_timestamp(headers[deliveries.HEADER_TIMESTAMP], now=1_795_688_100.7)
    assert headers[deliveries.HEADER_TIMESTAMP] == "1795688100"
    assert headers[deliveries.HEADER_EVENT] == deliveries.EVENT_CONVERSATION_CREATED
    assert headers["User-Agent"] == deliveries.WEBHOOK_USER_AGENT
    delivery = deliveries.parse_delivery(
        body,
        event_header=headers[deliveries.HEADER_EVENT],
        delivery_id=headers[deliveries.HEADER_DELIVERY],
    )
    assert delivery.delivery_id == "dlv-1"
    assert delivery.message is not None and delivery.message.text == "Hi"


def test_build_delivery_makes_fresh_ids() -> None:
    _, first = deliveries.build_delivery("leads_updated", {}, {"id": "1"}, secret="s")
    _, second = deliveries.build_delivery("leads_updated", {}, {"id": "1"}, secret="s")
    assert first[deliveries.HEADER_DELIVERY] != second[deliveries.HEADER_DELIVERY]
