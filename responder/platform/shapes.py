"""The one adapter for the ABC Sales AI platform's data shapes (no I/O).

Everything the service assumes about shapes the vendor does not document lives here, so that
the day the vendor documents them, this is the file that changes. The assumptions:

Deliveries
  * The body is a JSON object ``{"event_type", "event_data", "lead"}``. The body's
    ``event_type`` wins over the ``X-AbcSalesAI-Event`` header when both are present, because
    the body is covered by the signature and the header is not. Event types are compared in
    lower case.
  * When the ``X-AbcSalesAI-Delivery`` header is missing, the delivery id is ``sha256:`` plus
    the hex SHA-256 of the body, so a resent identical body keeps the same id.
  * ``conversation_created`` carries the new message in ``event_data`` (or in an object under
    ``event_data.message`` / ``event_data.conversation``). Field names are read tolerantly:
    text from ``content``, ``text``, ``body`` or ``message``; time from ``created_at``,
    ``timestamp``, ``sent_at`` or ``received_at``, as ISO 8601 (a time without zone is UTC)
    or as a Unix time in seconds or milliseconds (by magnitude, as for the timestamp header);
    the message id from ``id`` or ``message_id``; the connection from
    ``messaging_channel_connection_id`` or ``connection_id``; the channel from
    ``messaging_channel_id`` or ``channel``.
  * The lead id is ``lead.id``; when the lead object has none, ``event_data.lead_id`` (or
    ``event_data.lead.id``). It is taken to be the id the ``/v1/leads/{leadID}`` paths use,
    so it must be a plain identifier (ASCII letters, digits and ``. _ : @ + -``, at most 128
    characters, not ``.`` or ``..``): a delivery naming any other lead id is malformed.
    ``conversation_created`` and ``leads_escalation_requested`` without a usable lead id
    are malformed; other events may come without a lead.
  * Direction: ``inbound``/``in``/``incoming``/``received`` and ``outbound``/``out``/
    ``outgoing``/``sent``, in any case. Sender: ``lead``/``contact``/``customer`` is the
    lead, ``bot``/``system``/``automation`` the bot, ``user``/``agent``/``staff``/``human``
    a person of the company. A missing direction is inferred from the sender (lead means
    inbound) and a missing sender from the direction (inbound means lead, outbound means
    bot, since a human agent cannot be told from an echo of the bot's own reply).
  * A message whose direction cannot be told at all is never treated as the lead's: it is
    read as outbound from the bot. In a delivery its time is also dropped, so that
    :func:`needs_hydration` is true and the service reads the conversation instead (the
    dropped time survives a job's JSON round trip, a flag would not).

Values
  * Every value is read through :mod:`responder.platform.values`, so that whatever passes the
    signature can be stored and computed with: lone surrogates in text become U+FFFD; a body
    nested deeper than 32 levels or holding an integer of more than 4,300 digits is
    malformed; ids are strings of at most 256 characters or integers within 64 bits.
  * Times are plausible or absent: a time before 2000 or after 2100 is read as no time at
    all (the message then needs hydration, and a window that cannot be proven open counts as
    closed). A time later than the clock that handles the message is taken as that clock's
    now (:func:`not_after`, applied by the pipeline): a platform clock running ahead, or a
    forged far-future time, must not hold the lead's window open.

API responses
  * ``GET /v1/leads/{id}/conversations`` answers ``{"data": {"conversations": [...]},
    "meta": {"next_cursor": ...}}`` with message objects shaped like ``event_data`` above, in
    no guaranteed order. ``data.messages``, a bare ``data`` list and top-level
    ``conversations``/``messages`` lists are read too. Anything else raises
    :class:`PlatformUnavailable` rather than passing for an empty conversation, because an
    empty conversation would let a reply be sent twice.
  * ``GET /v1/messaging-channel-connections`` is documented; a connection without a
    ``connected`` flag is taken as not connected.
  * A window rejection is any 4xx whose body mentions the messaging window, re-engagement or
    WhatsApp's code 131047 (the error body format is not documented).
  * The reply endpoint takes ``{"content", "messaging_channel_connection_id"}``; its success
    body is not read.
"""

from __future__ import annotations

import hashlib
import json
import re
import time
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

from responder.errors import MalformedDelivery, PlatformUnavailable
from responder.model import Connection, Direction, Lead, Message, SenderType
from responder.platform import values
from responder.platform.signature import sign
from responder.platform.values import identifier as _identifier
from responder.platform.values import integer as _integer
from responder.platform.values import text as _text
from responder.platform.values import time as _time

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

#: How much earlier than ``since`` a stored reply may be stamped and still count as ours:
#: the platform's clock and ours are not the same clock.
REPLY_CLOCK_SKEW = timedelta(minutes=2)

_EVENTS_NEEDING_LEAD = frozenset({EVENT_CONVERSATION_CREATED, EVENT_ESCALATION})
_TEXT_KEYS = ("content", "text", "body", "message")
_TIME_KEYS = ("created_at", "timestamp", "sent_at", "received_at")
_ID_KEYS = ("id", "message_id")
_CONNECTION_KEYS = ("messaging_channel_connection_id", "connection_id")
_CHANNEL_KEYS = ("messaging_channel_id", "channel")
_DIRECTIONS = {
    "inbound": Direction.INBOUND,
    "in": Direction.INBOUND,
    "incoming": Direction.INBOUND,
    "received": Direction.INBOUND,
    "outbound": Direction.OUTBOUND,
    "out": Direction.OUTBOUND,
    "outgoing": Direction.OUTBOUND,
    "sent": Direction.OUTBOUND,
}
_SENDERS = {
    "lead": SenderType.LEAD,
    "contact": SenderType.LEAD,
    "customer": SenderType.LEAD,
    "bot": SenderType.BOT,
    "system": SenderType.BOT,
    "automation": SenderType.BOT,
    "user": SenderType.USER,
    "agent": SenderType.USER,
    "staff": SenderType.USER,
    "human": SenderType.USER,
}
_WINDOW_REJECTION = re.compile(
    r"131047|re-?engagement|more than 24 hours"
    r"|(messaging|service|conversation|customer care|24[- ]?hours?)\s+window"
    r"|outside\s+(of\s+)?the\s+(\w+\s+)?window"
    r"|window\s+(is\s+|has\s+)?(closed|expired)",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class Delivery:
    """One webhook delivery, read. ``message`` is set for ``conversation_created`` only and
    may lack fields (see :func:`needs_hydration`); ``lead`` is None when the body names none.
    ``digest`` is the hex SHA-256 of the (signed) body.
    """

    event_type: str
    delivery_id: str
    lead: Lead | None
    message: Message | None
    digest: str = ""


# -- deliveries ------------------------------------------------------------------------------


def parse_delivery(body: bytes, *, event_header: str | None, delivery_id: str | None) -> Delivery:
    """Read a webhook body (already verified) into a :class:`Delivery`.

    Raises :class:`MalformedDelivery` when the body is not a UTF-8 JSON object this service
    reads (see the module notes on values), names no event type, has an ``event_data`` or
    ``lead`` that is not an object, names a lead id that is not a plain identifier, or is a
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


def not_after(message: Message, now: datetime) -> Message:
    """``message`` with its time taken as ``now`` when it is stamped later than ``now``."""
    if message.received_at is None or message.received_at <= now:
        return message
    return replace(message, received_at=now)


def needs_hydration(message: Message) -> bool:
    """True when the message lacks its text, its time or (see the module notes) its direction."""
    return not message.text.strip() or message.received_at is None


def hydrate(partial: Message, conversation: Sequence[Message]) -> Message | None:
    """The complete version of ``partial`` taken from the lead's ``conversation``.

    When the delivery named the message's id, the conversation's message with that id, or
    None while the conversation does not list it (yet): answering the newest message instead
    could answer another one. Without an id, the newest message of the conversation (None when
    it holds no message with a time). The caller must still check the result's direction.
    """
    if partial.id:
        return next((m for m in conversation if m.id == partial.id), None)
    return newest_message(conversation)


def newest_message(messages: Sequence[Message]) -> Message | None:
    """The message with the latest time (ties go to the larger numeric id); messages without
    a time are ignored. None when there is none."""
    timed = [m for m in messages if m.received_at is not None]
    return max(timed, key=_order_key) if timed else None


def reply_present(
    messages: Sequence[Message],
    content: str,
    *,
    since: datetime | None,
    skew: timedelta = REPLY_CLOCK_SKEW,
) -> bool:
    """True when an outbound message with exactly ``content`` is in ``messages``, stamped at or
    after ``since - skew`` (any time when ``since`` is None).

    Used after a reply whose answer was lost. Surrounding whitespace and line-ending style are
    ignored. An outbound message without a time counts as present: when in doubt, not sending
    a second copy is the safer error.
    """
    wanted = _normalise(content)
    for message in messages:
        if message.direction is not Direction.OUTBOUND or _normalise(message.text) != wanted:
            continue
        if since is None or message.received_at is None or message.received_at >= since - skew:
            return True
    return False


# -- API responses ---------------------------------------------------------------------------


def parse_connections(payload: object) -> list[Connection]:
    """Read ``GET /v1/messaging-channel-connections``. Entries without an integer id are
    skipped. Raises :class:`PlatformUnavailable` when no connection list can be found."""
    items = _find_list(payload, ("messaging_channel_connections", "connections"))
    if items is None:
        raise PlatformUnavailable(
            "The ABC API answered the channel connections request with a shape this service "
            "does not know."
        )
    connections = []
    for item in items:
        if not isinstance(item, dict):
            continue
        conn_id = _integer(item.get("id"))
        if conn_id is None:
            continue
        connections.append(
            Connection(
                id=conn_id,
                name=_text(item.get("name")),
                channel=(_first(item, _CHANNEL_KEYS, _text) or "").lower(),
                default=item.get("default") is True,
                connected=item.get("connected") is True,
            )
        )
    return connections


def parse_conversation(payload: object) -> tuple[list[Message], str | None]:
    """Read one page of ``GET /v1/leads/{id}/conversations``: its messages sorted oldest first
    (those without a time first of all) and the next cursor, None on the last page.

    Raises :class:`PlatformUnavailable` when no message list can be found.
    """
    items = _find_list(payload, ("conversations", "messages"))
    if items is None:
        raise PlatformUnavailable(
            "The ABC API answered the conversation request with a shape this service does not know."
        )
    messages = [_message(item)[0] for item in items if isinstance(item, dict)]
    return sort_messages(messages), _next_cursor(payload)


def sort_messages(messages: Sequence[Message]) -> list[Message]:
    """Oldest first; messages without a time first of all; ties by numeric id."""
    return sorted(messages, key=_sort_key)


def reply_payload(content: str, connection_id: int, attachment: str = "") -> dict[str, object]:
    """The JSON body of ``POST /v1/leads/{id}/conversations/reply``; ``s3_attachment`` only
    when there is a file to send (the platform documents the field as optional)."""
    payload: dict[str, object] = {
        "content": content,
        "messaging_channel_connection_id": connection_id,
    }
    if attachment:
        payload["s3_attachment"] = attachment
    return payload


def is_window_rejection(status: int, body: str) -> bool:
    """True for a 4xx whose body says WhatsApp's 24-hour window is closed."""
    return 400 <= status < 500 and _WINDOW_REJECTION.search(body) is not None


# -- the platform's side ---------------------------------------------------------------------


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


# -- reading helpers -------------------------------------------------------------------------


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
    message, direction_known = _message(source)
    # Dropping the time makes needs_hydration() true; see the module notes.
    return message if direction_known else replace(message, received_at=None)


def _message(data: Mapping[str, Any]) -> tuple[Message, bool]:
    """One message object; the flag says whether its direction could be told."""
    direction = _DIRECTIONS.get(_text(data.get("direction")).lower())
    sender = _SENDERS.get(
        (_first(data, ("sender_type", "sender", "author_type"), _text) or "").lower()
    )
    direction_known = direction is not None or sender is not None
    if direction is None:
        direction = Direction.INBOUND if sender is SenderType.LEAD else Direction.OUTBOUND
    if sender is None:
        sender = SenderType.LEAD if direction is Direction.INBOUND else SenderType.BOT
    message = Message(
        text=_message_text(data),
        channel=(_first(data, _CHANNEL_KEYS, _text) or "").lower(),
        received_at=_first(data, _TIME_KEYS, _time),
        id=_first(data, _ID_KEYS, _identifier) or "",
        direction=direction,
        sender_type=sender,
        connection_id=_first(data, _CONNECTION_KEYS, _integer),
    )
    return message, direction_known


def _message_text(data: Mapping[str, Any]) -> str:
    for key in _TEXT_KEYS:
        value = data.get(key)
        if isinstance(value, str) and value.strip():
            return values.clean_text(value)
        if isinstance(value, dict):
            inner = _message_text({k: v for k, v in value.items() if k != "message"})
            if inner:
                return inner
    return ""


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


T = TypeVar("T")


def _first(data: Mapping[str, Any], keys: Sequence[str], read: Callable[[object], T]) -> T | None:
    """The first of ``keys`` whose value ``read`` makes something of (not None, not "")."""
    for key in keys:
        value = read(data.get(key))
        if value is not None and value != "":
            return value
    return None


def _find_list(payload: object, keys: Sequence[str]) -> list[Any] | None:
    if not isinstance(payload, dict):
        return None
    data = payload.get("data")
    if isinstance(data, list):
        return data
    for container in (data, payload):
        if isinstance(container, dict):
            for key in keys:
                value = container.get(key)
                if isinstance(value, list):
                    return value
    return None


def _next_cursor(payload: object) -> str | None:
    if not isinstance(payload, dict):
        return None
    meta = payload.get("meta")
    if not isinstance(meta, dict):
        return None
    cursor = _identifier(meta.get("next_cursor"))
    return cursor or None


def _numeric_id(message: Message) -> int:
    return int(message.id) if message.id.isascii() and message.id.isdigit() else -1


def _order_key(message: Message) -> tuple[datetime, int]:
    assert message.received_at is not None
    return message.received_at, _numeric_id(message)


def _sort_key(message: Message) -> tuple[bool, datetime, int]:
    at = message.received_at
    return at is not None, at or datetime.min.replace(tzinfo=UTC), _numeric_id(message)


def _normalise(text: str) -> str:
    return text.replace("\r\n", "\n").strip()
