"""The bodies of the ABC Sales AI REST API the client sends and reads (no I/O).

The assumptions about what the vendor does not document:

  * ``GET /v1/leads/{id}/conversations`` answers ``{"data": {"conversations": [...]},
    "meta": {"next_cursor": ...}}`` with message objects (read by
    :mod:`responder.platform.messages`), in no guaranteed order. ``data.messages``, a bare
    ``data`` list and top-level ``conversations``/``messages`` lists are read too. Anything
    else raises :class:`PlatformUnavailable` rather than passing for an empty conversation,
    because an empty conversation would let a reply be sent twice.
  * ``GET /v1/messaging-channel-connections`` is documented; a connection without a
    ``connected`` flag is taken as not connected.
  * A window rejection is any 4xx whose body mentions the messaging window, re-engagement or
    WhatsApp's code 131047 (the error body format is not documented).
  * The reply endpoint takes ``{"content", "messaging_channel_connection_id"}``; its success
    body is not read.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from responder.errors import PlatformUnavailable
from responder.model import Connection, Message
from responder.platform.messages import CHANNEL_KEYS, numeric_id, read_message
from responder.platform.values import first as _first
from responder.platform.values import identifier as _identifier
from responder.platform.values import integer as _integer
from responder.platform.values import text as _text

_WINDOW_REJECTION = re.compile(
    r"131047|re-?engagement|more than 24 hours"
    r"|(messaging|service|conversation|customer care|24[- ]?hours?)\s+window"
    r"|outside\s+(of\s+)?the\s+(\w+\s+)?window"
    r"|window\s+(is\s+|has\s+)?(closed|expired)",
    re.IGNORECASE,
)


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
                channel=(_first(item, CHANNEL_KEYS, _text) or "").lower(),
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
    messages = [read_message(item)[0] for item in items if isinstance(item, dict)]
    return sort_messages(messages), _next_cursor(payload)


def sort_messages(messages: Sequence[Message]) -> list[Message]:
    """Oldest first; messages without a time first of all; ties by numeric id (the order of
    a conversation put together from its pages)."""
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


def _sort_key(message: Message) -> tuple[bool, datetime, int]:
    at = message.received_at
    return at is not None, at or datetime.min.replace(tzinfo=UTC), numeric_id(message)
