"""One message object as the ABC Sales AI platform shapes it, and what the service asks of a
list of them (no I/O).

A message object comes in a delivery's ``event_data`` (see
:mod:`responder.platform.deliveries`) and in the conversation pages of the API (see
:mod:`responder.platform.api_bodies`); both are read here. The assumptions about what the
vendor does not document:

  * Field names are read tolerantly: text from ``content``, ``text``, ``body`` or
    ``message``; time from ``created_at``, ``timestamp``, ``sent_at`` or ``received_at``, as
    ISO 8601 (a time without zone is UTC) or as a Unix time in seconds or milliseconds (by
    magnitude, as for the timestamp header); the message id from ``id`` or ``message_id``;
    the connection from ``messaging_channel_connection_id`` or ``connection_id``; the channel
    from ``messaging_channel_id`` or ``channel``.
  * Direction: ``inbound``/``in``/``incoming``/``received`` and ``outbound``/``out``/
    ``outgoing``/``sent``, in any case. Sender: ``lead``/``contact``/``customer`` is the
    lead, ``bot``/``system``/``automation`` the bot, ``user``/``agent``/``staff``/``human``
    a person of the company. A missing direction is inferred from the sender (lead means
    inbound) and a missing sender from the direction (inbound means lead, outbound means
    bot, since a human agent cannot be told from an echo of the bot's own reply).
  * A message whose direction cannot be told at all is never treated as the lead's: it is
    read as outbound from the bot (and a delivery drops its time, see
    :func:`responder.platform.deliveries.parse_delivery`).
  * Times are plausible or absent (see :mod:`responder.platform.values`): a time before 2000
    or after 2100 is read as no time at all (the message then needs hydration, and a window
    that cannot be proven open counts as closed). A time later than the clock that handles
    the message is taken as that clock's now (:func:`not_after`, applied by the pipeline): a
    platform clock running ahead, or a forged far-future time, must not hold the lead's
    window open.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any

from responder.model import Direction, Message, SenderType
from responder.platform import values
from responder.platform.values import first as _first
from responder.platform.values import identifier as _identifier
from responder.platform.values import integer as _integer
from responder.platform.values import text as _text
from responder.platform.values import time as _time

#: How much earlier than ``since`` a stored reply may be stamped and still count as ours:
#: the platform's clock and ours are not the same clock.
REPLY_CLOCK_SKEW = timedelta(minutes=2)

#: Where a message (or a channel connection) names its channel, in order of preference.
CHANNEL_KEYS = ("messaging_channel_id", "channel")

_TEXT_KEYS = ("content", "text", "body", "message")
_TIME_KEYS = ("created_at", "timestamp", "sent_at", "received_at")
_ID_KEYS = ("id", "message_id")
_CONNECTION_KEYS = ("messaging_channel_connection_id", "connection_id")
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


def read_message(data: Mapping[str, Any]) -> tuple[Message, bool]:
    """One message object read into a :class:`Message`; the flag says whether its direction
    could be told (when not, the message is read as outbound from the bot)."""
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
        channel=(_first(data, CHANNEL_KEYS, _text) or "").lower(),
        received_at=_first(data, _TIME_KEYS, _time),
        id=_first(data, _ID_KEYS, _identifier) or "",
        direction=direction,
        sender_type=sender,
        connection_id=_first(data, _CONNECTION_KEYS, _integer),
    )
    return message, direction_known


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


def numeric_id(message: Message) -> int:
    """The message's id as a number, to break ties in time; -1 when it is not ASCII digits."""
    return int(message.id) if message.id.isascii() and message.id.isdigit() else -1


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


def _order_key(message: Message) -> tuple[datetime, int]:
    assert message.received_at is not None
    return message.received_at, numeric_id(message)


def _normalise(text: str) -> str:
    return text.replace("\r\n", "\n").strip()
