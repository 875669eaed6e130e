"""The ABC Sales AI platform's webhook deliveries: reading one, and building one the way the
platform would (no I/O).

The assumptions about what the vendor does not document:

  * The body is a JSON object ``{"event_type", "event_data", "lead"}``. The body's
    ``event_type`` wins over the ``X-AbcSalesAI-Event`` header when both are present, because
    the body is covered by the signature and the header is not. Event types are compared in
    lower case.
  * When the ``X-AbcSalesAI-Delivery`` header is missing, the delivery id is ``sha256:`` plus
    the hex SHA-256 of the body, so a resent identical body keeps the same id.
  * ``conversation_created`` carries the new message in ``event_data`` (or in an object under
    ``event_data.message`` / ``event_data.conversation``), read as
    :mod:`responder.platform.messages` reads any message object.
  * The lead id is ``lead.id``; when the lead object has none, ``event_data.lead_id`` (or
    ``event_data.lead.id``). It is taken to be the id the ``/v1/leads/{leadID}`` paths use,
    so it must be a plain identifier (ASCII letters, digits and ``. _ : @ + -``, at most 128
    characters, not ``.`` or ``..``): a delivery naming any other lead id is malformed.
    ``conversation_created`` and ``leads_escalation_requested`` without a usable lead id
    are malformed; other events may come without a lead.
  * A delivered message whose direction cannot be told at all has its time dropped, so that
    :func:`~responder.platform.messages.needs_hydration` is true and the service reads the
    conversation instead (the dropped time survives a job's JSON round trip, a flag would
    not).
"""

from __future__ import annotations

import hashlib
import json
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

from responder.errors import MalformedDelivery
from responder.model import Lead, Message
from responder.platform import values
from responder.platform.messages import read_message
from responder.platform.signature import sign
from responder.platform.values import identifier as _identifier
from responder.platform.values import text as _text

EVENT_CONVERSATION_CREATED = "conversation_created"
EVENT_ESCALATION = "leads_escalation_requested"
EVENT_LEAD_CREATED = "leads_created"
EVENT_LEAD_UPDATED = "leads_updated"
EVENT_LEAD_DELETED = "leads_deleted"

HEADER_SIGNATURE = "X-AbcSalesAI-Signature"
HEADER_EVENT = "X-AbcSalesAI-Event"
HEADER_DELIVERY = "X-AbcSalesAI-Delivery"
HEADER_TIMESTAMP = "X-AbcSalesAI-Timestamp"
WEBHOOK_USER_AGENT = "Engagematic-Webhook-Dispatcher/1.0"

_EVENTS_NEEDING_LEAD = frozenset({EVENT_CONVERSATION_CREATED, EVENT_ESCALATION})


@dataclass(frozen=True)
class Delivery:
    """One webhook delivery, read. ``message`` is set for ``conversation_created`` only and
    may lack fields (see :func:`~responder.platform.messages.needs_hydration`); ``lead`` is
    None when the body names none. ``digest`` is the hex SHA-256 of the (signed) body.
    """

    event_type: str
    delivery_id: str
    lead: Lead | None
    message: Message | None
    digest: str = ""


def parse_delivery(body: bytes, *, event_header: str | None, delivery_id: str | None) -> Delivery:
    """Read a webhook body (already verified) into a :class:`Delivery`.

    Raises :class:`MalformedDelivery` when the body is not a UTF-8 JSON object this service
    reads (see :mod:`responder.platform.values`), names no event type, has an ``event_data``
    or ``lead`` that is not an object, names a lead id that is not a plain identifier, or is a
    ``conversation_created`` / ``leads_escalation_requested`` delivery without a usable lead id.
    """
    try:
        data = values.load_json(body.decode("utf-8"))
    except UnicodeDecodeError:
        raise MalformedDelivery("The delivery body is not valid JSON.") from None
    except values.UnreadableJson as exc:
        raise MalformedDelivery(f"The delivery body {exc}.") from None
    if not isinstance(data, dict):
        raise MalformedDelivery("The delivery body is JSON but not an object.")

    event_type = _text(data.get("event_type")) or values.clean_text((event_header or "").strip())
    event_type = event_type.lower()
    if not event_type:
        raise MalformedDelivery("The delivery names no event type, neither in its body nor header.")

    event_data = _object(data.get("event_data"), "event_data")
    lead_data = _object(data.get("lead"), "lead")
    lead = _delivered_lead(event_type, event_data, lead_data)
    message = _delivered_message(event_data) if event_type == EVENT_CONVERSATION_CREATED else None

    digest = hashlib.sha256(body).hexdigest()
    given = values.clean_text((delivery_id or "").strip())
    return Delivery(event_type, given or "sha256:" + digest, lead, message, digest)


def build_delivery(
    event_type: str,
    event_data: Mapping[str, Any],
    lead: Mapping[str, Any],
    *,
    secret: str,
    delivery_id: str | None = None,
    timestamp: float | None = None,
) -> tuple[bytes, dict[str, str]]:
    """The body and headers the platform would send for one event, signed with ``secret``.

    ``timestamp`` is Unix seconds (now when None) and is sent as whole seconds; the delivery
    id is a fresh random one when None.
    """
    body = json.dumps(
        {"event_type": event_type, "event_data": dict(event_data), "lead": dict(lead)},
        ensure_ascii=False,
        separators=(",", ":"),
    ).encode("utf-8")
    headers = {
        "Content-Type": "application/json",
        "User-Agent": WEBHOOK_USER_AGENT,
        HEADER_SIGNATURE: sign(body, secret),
        HEADER_EVENT: event_type,
        HEADER_DELIVERY: delivery_id or uuid.uuid4().hex,
        HEADER_TIMESTAMP: str(int(time.time() if timestamp is None else timestamp)),
    }
    return body, headers


def _delivered_lead(
    event_type: str, event_data: Mapping[str, Any], lead_data: Mapping[str, Any]
) -> Lead | None:
    lead_id = (
        _identifier(lead_data.get("id"))
        or _identifier(event_data.get("lead_id"))
        or _identifier(_object_or_empty(event_data.get("lead")).get("id"))
    )
    if not lead_id:
        if event_type in _EVENTS_NEEDING_LEAD:
            raise MalformedDelivery(
                f"The {event_type} delivery does not say which lead it is about."
            )
        return None
    if not values.plain_identifier(lead_id):
        raise MalformedDelivery(
            f"The delivery's lead id {lead_id[:40]!r} is not a plain identifier (letters, "
            "digits and . _ : @ + -, at most 128 characters)."
        )
    return _lead(lead_id, lead_data)


def _delivered_message(event_data: Mapping[str, Any]) -> Message:
    source = event_data
    for key in ("message", "conversation"):
        nested = event_data.get(key)
        if isinstance(nested, dict):
            source = {**event_data, **nested}
            break
    message, direction_known = read_message(source)
    # Dropping the time makes needs_hydration() true; see the module notes.
    return message if direction_known else replace(message, received_at=None)


def _lead(lead_id: str, data: Mapping[str, Any]) -> Lead:
    tags = data.get("tags")
    if isinstance(tags, str):
        tag_list = [t.strip() for t in tags.split(",")]
    elif isinstance(tags, list):
        tag_list = [_text(t) for t in tags]
    else:
        tag_list = []
    custom = data.get("custom_fields")
    name = _text(data.get("name")) or " ".join(
        p for p in (_text(data.get("first_name")), _text(data.get("last_name"))) if p
    )
    return Lead(
        id=lead_id,
        name=name,
        email=_text(data.get("email")),
        phone=_text(data.get("phone")),
        locale=_text(data.get("locale")) or _text(data.get("language")),
        timezone=_text(data.get("timezone")),
        tags=tuple(t for t in tag_list if t),
        custom_fields=dict(custom) if isinstance(custom, dict) else {},
    )


def _object(value: object, name: str) -> dict[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise MalformedDelivery(f"The delivery's {name} is not an object.")
    return value


def _object_or_empty(value: object) -> Mapping[str, Any]:
    return value if isinstance(value, dict) else {}
