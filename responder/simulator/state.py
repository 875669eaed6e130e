"""What the simulated platform holds, and the rules it applies when a reply is sent.

:class:`PlatformState` keeps the leads, their conversations, the accepted replies, the queue
of pending faults, the request counters, the latency and the channel connections, behind one
lock; every method is thread-safe and returns copies (except where it says otherwise).
:meth:`PlatformState.send_reply` applies the platform's checks, WhatsApp's 24-hour window
among them (:func:`window_open`).
"""

from __future__ import annotations

import itertools
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from responder.simulator.faults import Fault

WINDOW = timedelta(hours=24)
WINDOW_ERROR_CODE = 131047
WINDOW_ERROR_MESSAGE = (
    "Re-engagement message: more than 24 hours have passed since the customer last replied"
)
DEFAULT_CONNECTIONS: tuple[dict[str, Any], ...] = (
    {
        "id": 123,
        "name": "Main WhatsApp",
        "messaging_channel_id": "whatsapp",
        "default": True,
        "connected": True,
    },
    {
        "id": 124,
        "name": "Old WhatsApp number",
        "messaging_channel_id": "whatsapp",
        "default": False,
        "connected": False,
    },
)


@dataclass(frozen=True)
class Refusal:
    """The platform's refusal of a call: the HTTP status, the error ``code`` and message."""

    status: int
    message: str
    code: int | None = None  # the status when None


@dataclass
class _Records:
    """Everything :meth:`PlatformState.reset` forgets."""

    conversations: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    leads: dict[str, dict[str, Any]] = field(default_factory=dict)
    replies: list[dict[str, Any]] = field(default_factory=list)
    faults: deque[Fault] = field(default_factory=deque)
    reply_attempts: int = 0
    requests: int = 0
    in_flight: int = 0
    peak_in_flight: int = 0


class PlatformState:
    """The simulated platform's data and counters; thread-safe.

    ``now`` is the platform's clock (for the 24-hour window and for replies' times).
    Message ids count up from the microseconds since the epoch at start and are never reused,
    not even after :meth:`reset`: a simulator started again later never gives an id an earlier
    run gave, so a store kept across runs never takes a new message for an old one.
    """

    def __init__(
        self,
        *,
        connections: Sequence[Mapping[str, Any]] = DEFAULT_CONNECTIONS,
        latency: float = 0.0,
        now: Callable[[], datetime] | None = None,
    ) -> None:
        self.now: Callable[[], datetime] = now or (lambda: datetime.now(UTC))
        self._lock = threading.Lock()
        self._records = _Records()
        self._ids = itertools.count(time.time_ns() // 1000)
        self._latency = latency
        self._connections = [dict(c) for c in connections]

    # -- leads and conversations -----------------------------------------------------------

    def add_lead(self, lead_id: str, fields: Mapping[str, Any]) -> dict[str, Any]:
        """Create or update a lead's profile (``id`` is not changeable); return the profile."""
        with self._lock:
            return self._lead(lead_id, fields)

    def add_message(
        self,
        lead_id: str,
        text: str,
        *,
        when: datetime,
        direction: str,
        sender_type: str,
        channel: str,
        connection_id: int,
        profile: Mapping[str, Any] | None = None,
    ) -> tuple[dict[str, Any], dict[str, Any]]:
        """Record a message (creating the lead, updated with ``profile``, if need be).

        Returns the lead's profile and the message as the API shows it, both taken at once.
        """
        with self._lock:
            lead = self._lead(lead_id, profile or {})
            message = self._store_message(
                lead_id, text, direction, sender_type, when, channel, connection_id
            )
        return lead, message

    def conversation(self, lead_id: str) -> list[dict[str, Any]]:
        """The lead's messages, oldest first (none for an unknown lead)."""
        with self._lock:
            return [dict(m) for m in self._records.conversations.get(lead_id, [])]

    def newest_first(self, lead_id: str) -> list[dict[str, Any]] | None:
        """The lead's messages, newest first, or None for an unknown lead.

        The messages are the stored ones, not copies (they are never changed once stored);
        the caller must not change them.
        """
        with self._lock:
            if lead_id not in self._records.leads:
                return None
            return list(reversed(self._records.conversations[lead_id]))

    # -- replies ---------------------------------------------------------------------------

    def send_reply(
        self, lead_id: str, content: str, connection_id: int, *, attachment: str | None = None
    ) -> dict[str, Any] | Refusal:
        """Accept a bot reply to the lead on the connection, or say why the platform refuses.

        ``attachment`` (the request's ``s3_attachment``) is kept on the message as it came.

        Refused: an unknown lead or connection (404), a disconnected connection (400), and, on
        WhatsApp, a lead whose last inbound message is more than 24 hours old (400, code
        131047). An accepted reply is added to the conversation and to :meth:`replies`.
        """
        now = self.now()
        with self._lock:
            if lead_id not in self._records.leads:
                return Refusal(404, f"Lead {lead_id} not found.")
            connection = next((c for c in self._connections if c.get("id") == connection_id), None)
            named = f"Messaging channel connection {connection_id}"
            if connection is None:
                return Refusal(404, f"{named} not found.")
            if not connection.get("connected"):
                return Refusal(400, f"{named} is disconnected.")
            channel = str(connection.get("messaging_channel_id") or "")
            if channel == "whatsapp" and not window_open(self._records.conversations[lead_id], now):
                return Refusal(400, WINDOW_ERROR_MESSAGE, code=WINDOW_ERROR_CODE)
            message = self._store_message(
                lead_id, content, "outbound", "bot", now, channel, connection_id
            )
            if attachment is not None:
                message["s3_attachment"] = attachment
            self._records.replies.append(message)
        return message

    def replies(self, lead_id: str | None = None) -> list[dict[str, Any]]:
        """Every reply accepted (optionally for one lead), in order."""
        with self._lock:
            return [
                dict(r) for r in self._records.replies if lead_id is None or r["lead_id"] == lead_id
            ]

    # -- requests, counters and faults -----------------------------------------------------

    def begin_request(self, path: str, method: str) -> float:
        """Count an API request as arrived and in flight; return the latency to add to it."""
        with self._lock:
            records = self._records
            records.requests += 1
            records.in_flight += 1
            records.peak_in_flight = max(records.peak_in_flight, records.in_flight)
            if method == "POST" and path.endswith("/conversations/reply"):
                records.reply_attempts += 1
            return self._latency

    def end_request(self) -> None:
        """Count an API request begun with :meth:`begin_request` as no longer in flight."""
        with self._lock:
            self._records.in_flight -= 1

    def reply_attempts(self) -> int:
        """How many reply requests arrived, refused and faulted ones included."""
        with self._lock:
            return self._records.reply_attempts

    def stats(self) -> dict[str, int]:
        """Counters: ``requests``, ``reply_attempts``, ``peak_in_flight``, ``pending_faults``."""
        with self._lock:
            return self._stats()

    def snapshot(self) -> dict[str, Any]:
        """:meth:`stats` with every accepted reply and every conversation, taken at once."""
        with self._lock:
            return {
                **self._stats(),
                "replies": [dict(r) for r in self._records.replies],
                "conversations": {k: list(v) for k, v in self._records.conversations.items()},
            }

    def add_faults(self, faults: Iterable[Fault]) -> None:
        """Queue faults, after those already pending."""
        with self._lock:
            self._records.faults.extend(faults)

    def take_fault(self, path: str, method: str) -> Fault | None:
        """Remove and return the first pending fault meant for this request, if any."""
        with self._lock:
            for fault in self._records.faults:
                if fault.matches(path, method):
                    self._records.faults.remove(fault)
                    return fault
        return None

    def clear_faults(self) -> None:
        """Drop every pending fault."""
        with self._lock:
            self._records.faults.clear()

    # -- settings --------------------------------------------------------------------------

    def set_latency(self, seconds: float) -> None:
        """Delay every API call by ``seconds`` (at least 0)."""
        with self._lock:
            self._latency = max(0.0, float(seconds))

    def connections(self) -> list[dict[str, Any]]:
        """The messaging channel connections the API lists."""
        with self._lock:
            return [dict(c) for c in self._connections]

    def set_connections(self, connections: Sequence[Mapping[str, Any]]) -> None:
        """Replace the messaging channel connections."""
        with self._lock:
            self._connections = [dict(c) for c in connections]

    def reset(self) -> None:
        """Forget leads, messages, replies, counters and pending faults; latency to 0.

        Requests still in flight stay counted, so they end the count at zero.
        """
        with self._lock:
            self._records = _Records(in_flight=self._records.in_flight)
            self._latency = 0.0

    # -- internals, called with the lock held ----------------------------------------------

    def _stats(self) -> dict[str, int]:
        return {
            "requests": self._records.requests,
            "reply_attempts": self._records.reply_attempts,
            "peak_in_flight": self._records.peak_in_flight,
            "pending_faults": len(self._records.faults),
        }

    def _lead(self, lead_id: str, fields: Mapping[str, Any]) -> dict[str, Any]:
        leads = self._records.leads
        profile = leads.setdefault(lead_id, {"id": lead_id, "name": f"Lead {lead_id}"})
        profile.update({k: v for k, v in fields.items() if k != "id"})
        self._records.conversations.setdefault(lead_id, [])
        return dict(profile)

    def _store_message(
        self,
        lead_id: str,
        text: str,
        direction: str,
        sender_type: str,
        when: datetime,
        channel: str,
        connection_id: int,
    ) -> dict[str, Any]:
        message = {
            "id": next(self._ids),
            "lead_id": lead_id,
            "content": text,
            "direction": direction,
            "sender_type": sender_type,
            "messaging_channel_connection_id": connection_id,
            "messaging_channel_id": channel,
            "created_at": iso(when),
        }
        self._records.conversations.setdefault(lead_id, []).append(message)
        return dict(message)


def window_open(messages: Sequence[Mapping[str, Any]], now: datetime) -> bool:
    """Whether WhatsApp lets a business message through: an inbound message at most 24 h old."""
    inbound = [
        datetime.fromisoformat(m["created_at"]) for m in messages if m["direction"] == "inbound"
    ]
    return bool(inbound) and now - max(inbound) <= WINDOW


def iso(value: datetime) -> str:
    """``value`` as the API writes times: ISO 8601 in UTC with a ``Z``."""
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z")
