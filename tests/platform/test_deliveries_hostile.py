"""Deliveries with values nobody well-meaning sends: reading one hands on only what the rest
of the service can store and compute with, and refuses lead ids that are not plain
identifiers."""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime

import pytest

from responder.errors import MalformedDelivery
from responder.platform import deliveries
from responder.platform.messages import needs_hydration

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
    delivery = deliveries.parse_delivery(body, event_header=None, delivery_id=f"d{CUT}")
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
        deliveries.parse_delivery(_body(lead, **data), event_header=None, delivery_id="d")
    assert refused.value.status == 400


def test_an_escalation_or_another_event_with_such_a_lead_id_is_refused_too() -> None:
    for event in (deliveries.EVENT_ESCALATION, deliveries.EVENT_LEAD_UPDATED):
        body = json.dumps({"event_type": event, "lead": {"id": ".."}}).encode()
        with pytest.raises(MalformedDelivery, match="not a plain identifier"):
            deliveries.parse_delivery(body, event_header=None, delivery_id="d")


def test_the_delivery_carries_the_digest_of_its_body() -> None:
    body = _body({"id": "7"})
    delivery = deliveries.parse_delivery(body, event_header=None, delivery_id="d-1")
    assert delivery.digest == hashlib.sha256(body).hexdigest()


def test_a_far_future_time_in_a_delivery_is_no_time() -> None:
    body = _body({"id": "7"}, created_at="9999-12-31T00:00:00Z")
    message = deliveries.parse_delivery(body, event_header=None, delivery_id="d").message
    assert message is not None and message.received_at is None
    assert needs_hydration(message)
