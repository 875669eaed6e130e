"""The values the responder passes around: leads, messages, per-lead state, outcomes, jobs.

Plain frozen dataclasses with no I/O. Times are timezone-aware datetimes in UTC unless a
field says otherwise.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from types import MappingProxyType
from typing import Any

_EMPTY: Mapping[str, Any] = MappingProxyType({})


@dataclass(frozen=True, slots=True)
class Lead:
    """A lead as the platform describes it. Every field but ``id`` may be empty."""

    id: str
    name: str = ""
    email: str = ""
    phone: str = ""
    locale: str = ""
    timezone: str = ""
    tags: tuple[str, ...] = ()
    custom_fields: Mapping[str, Any] = field(default_factory=lambda: _EMPTY)

    @property
    def first_name(self) -> str:
        parts = self.name.split()
        return parts[0] if parts else ""

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "name": self.name,
            "email": self.email,
            "phone": self.phone,
            "locale": self.locale,
            "timezone": self.timezone,
            "tags": list(self.tags),
            "custom_fields": dict(self.custom_fields),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Lead:
        return cls(
            id=str(data["id"]),
            name=str(data.get("name") or ""),
            email=str(data.get("email") or ""),
            phone=str(data.get("phone") or ""),
            locale=str(data.get("locale") or ""),
            timezone=str(data.get("timezone") or ""),
            tags=tuple(str(t) for t in data.get("tags") or ()),
            custom_fields=dict(data.get("custom_fields") or {}),
        )


class Direction(StrEnum):
    INBOUND = "inbound"
    OUTBOUND = "outbound"


class SenderType(StrEnum):
    LEAD = "lead"
    BOT = "bot"
    USER = "user"  # a human agent of the company


@dataclass(frozen=True, slots=True)
class Message:
    """One message of a conversation.

    ``received_at`` is when the platform recorded it (its ``created_at``); ``None`` when the
    delivery did not say. ``channel`` is the platform's ``messaging_channel_id`` (``whatsapp``),
    ``connection_id`` the channel connection it travelled on, when known.
    """

    text: str
    channel: str = ""
    received_at: datetime | None = None
    id: str = ""
    direction: Direction = Direction.INBOUND
    sender_type: SenderType = SenderType.LEAD
    connection_id: int | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "text": self.text,
            "channel": self.channel,
            "received_at": _iso(self.received_at),
            "id": self.id,
            "direction": self.direction.value,
            "sender_type": self.sender_type.value,
            "connection_id": self.connection_id,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Message:
        return cls(
            text=str(data.get("text") or ""),
            channel=str(data.get("channel") or ""),
            received_at=_from_iso(data.get("received_at")),
            id=str(data.get("id") or ""),
            direction=Direction(data.get("direction") or Direction.INBOUND),
            sender_type=SenderType(data.get("sender_type") or SenderType.LEAD),
            connection_id=data.get("connection_id"),
        )


@dataclass(frozen=True, slots=True)
class LeadState:
    """What the responder remembers of one lead, as read at one moment.

    ``first_seen`` is the time of the lead's earliest inbound message known, ``last_inbound``
    of the latest; ``paused_until`` silences the bot for the lead until then; ``last_reply``
    maps rule names to the time that rule last answered the lead.
    """

    first_seen: datetime | None = None
    last_inbound: datetime | None = None
    paused_until: datetime | None = None
    last_reply: Mapping[str, datetime] = field(default_factory=lambda: _EMPTY)
    #: The pauses people set that concern the lead: its own and the one for everyone.
    held: tuple[Pause, ...] = ()

    def is_first_message(self, message: Message) -> bool:
        """True when no inbound message of the lead is known from before ``message``."""
        if self.first_seen is None or message.received_at is None:
            return self.first_seen is None
        return message.received_at <= self.first_seen

    def is_paused(self, now: datetime) -> bool:
        return self.paused_until is not None and now < self.paused_until

    def held_by(self, now: datetime) -> Pause | None:
        """The pause a person set that silences the lead at ``now`` (the lead's own or the
        one for everyone; of two, the one that lasts longer), or None."""
        running = [pause for pause in self.held if pause.active(now)]
        return max(running, key=Pause.ends_sort_key) if running else None


#: The ``lead_id`` of a pause for every lead.
EVERYONE = "*"


@dataclass(frozen=True, slots=True)
class Pause:
    """A person of the team pausing the bot, for one lead or (``lead_id`` EVERYONE) for all.

    ``by`` names who did it, ``at`` when; ``until`` None lasts until someone resumes.
    """

    lead_id: str
    by: str
    at: datetime
    until: datetime | None = None
    note: str = ""

    @property
    def everyone(self) -> bool:
        return self.lead_id == EVERYONE

    def active(self, now: datetime) -> bool:
        return self.until is None or now < self.until

    def ends_sort_key(self) -> float:
        return self.until.timestamp() if self.until is not None else float("inf")

    def to_json(self) -> str:
        return json.dumps(
            {
                "lead_id": self.lead_id,
                "by": self.by,
                "at": _iso(self.at),
                "until": _iso(self.until),
                "note": self.note,
            },
            separators=(",", ":"),
            ensure_ascii=False,
        )

    @classmethod
    def from_json(cls, raw: str | bytes) -> Pause:
        data = json.loads(raw)
        at = _from_iso(data["at"])
        assert at is not None
        return cls(
            lead_id=str(data["lead_id"]),
            by=str(data.get("by") or ""),
            at=at,
            until=_from_iso(data.get("until")),
            note=str(data.get("note") or ""),
        )


class Outcome(StrEnum):
    """How the handling of one inbound message ended. Exactly one is recorded per message.

    ``DUPLICATE`` is the exception: it is recorded (once per message) for a delivery of a
    message already taken, and names what became of the original (responder/duplicates.py).
    """

    SENT = "sent"
    DRY_RUN = "dry_run"
    NO_MATCH = "no_match"
    COOLDOWN = "cooldown"
    PAUSED = "paused"
    SILENT = "silent"
    NOT_INBOUND = "not_inbound"
    WINDOW_CLOSED = "window_closed"
    BUDGET = "budget"
    CHANNEL_UNAVAILABLE = "channel_unavailable"
    FAILED = "failed"
    DUPLICATE = "duplicate"


#: How many characters of a lead's message the decision log keeps.
TEXT_KEPT = 1000


@dataclass(frozen=True, slots=True)
class DecisionRecord:
    """One line of the decision log: the single recorded outcome of one message."""

    key: str
    lead_id: str
    outcome: Outcome
    at: datetime
    rule: str = ""
    reason: str = ""
    reply: str = ""
    message_id: str = ""
    #: The number of the rule-book release the decision was made with (None: no release).
    release: int | None = None
    #: What the lead wrote, at most TEXT_KEPT characters, and its normalised form (as the
    #: rules compare it), for searching and for grouping the messages no rule answered.
    text: str = ""
    normalized: str = ""
    #: No rule matched the message, or only a fallback rule did: what ``unanswered`` groups.
    unmatched: bool = False
    #: The language the reply was written in (``es``); "" when no reply was written or the
    #: rule book names no languages.
    language: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {
            "key": self.key,
            "lead_id": self.lead_id,
            "outcome": self.outcome.value,
            "at": _iso(self.at),
            "rule": self.rule,
            "reason": self.reason,
            "reply": self.reply,
            "message_id": self.message_id,
            "release": self.release,
            "text": self.text,
            "normalized": self.normalized,
            "unmatched": self.unmatched,
            "language": self.language,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> DecisionRecord:
        at = _from_iso(data["at"])
        assert at is not None
        return cls(
            key=str(data["key"]),
            lead_id=str(data["lead_id"]),
            outcome=Outcome(data["outcome"]),
            at=at,
            rule=str(data.get("rule") or ""),
            reason=str(data.get("reason") or ""),
            reply=str(data.get("reply") or ""),
            message_id=str(data.get("message_id") or ""),
            release=int(data["release"]) if data.get("release") is not None else None,
            text=str(data.get("text") or ""),
            normalized=str(data.get("normalized") or ""),
            unmatched=bool(data.get("unmatched")),
            language=str(data.get("language") or ""),
        )


@dataclass(frozen=True, slots=True)
class Sending:
    """The reply decided for a job, persisted before it may leave.

    A job taken over with this set does not decide again: it checks the conversation for
    ``reply`` and sends it only if it is not there (and the window is still open).
    """

    rule: str
    reply: str
    connection_id: int
    reserved_at: datetime
    #: The number of the rule-book release the reply was decided with.
    release: int | None = None
    #: The platform's storage reference of a file sent with the reply; empty for none.
    attachment: str = ""
    #: The language the reply is written in ("" when the rule book names no languages).
    language: str = ""

    def to_json(self) -> str:
        return json.dumps(
            {
                "rule": self.rule,
                "reply": self.reply,
                "connection_id": self.connection_id,
                "reserved_at": _iso(self.reserved_at),
                "release": self.release,
                "attachment": self.attachment,
                "language": self.language,
            },
            separators=(",", ":"),
            ensure_ascii=False,
        )

    @classmethod
    def from_json(cls, raw: str | bytes | None) -> Sending | None:
        if not raw:
            return None
        data = json.loads(raw)
        reserved_at = _from_iso(data["reserved_at"])
        assert reserved_at is not None
        release = data.get("release")
        return cls(
            data["rule"],
            data["reply"],
            int(data["connection_id"]),
            reserved_at,
            int(release) if release is not None else None,
            str(data.get("attachment") or ""),
            str(data.get("language") or ""),
        )


@dataclass(frozen=True, slots=True)
class Job:
    """One accepted inbound message waiting for its outcome.

    ``key`` is the idempotency key (the message id, else the delivery id) and the job's
    identity in the store. ``sending`` is set, atomically with the reservation of the reply,
    once a reply request may leave.
    """

    key: str
    lead: Lead
    message: Message
    accepted_at: datetime
    delivery_id: str = ""
    attempts: int = 0
    sending: Sending | None = None
    #: This copy was set aside to wait for a burst to go quiet (``settings: gather``); not
    #: stored: a copy taken over finds its burst in the store.
    gathering: bool = False

    def to_json(self) -> str:
        return json.dumps(
            {
                "key": self.key,
                "lead": self.lead.to_dict(),
                "message": self.message.to_dict(),
                "accepted_at": _iso(self.accepted_at),
                "delivery_id": self.delivery_id,
            },
            separators=(",", ":"),
            ensure_ascii=False,
        )

    @classmethod
    def from_json(
        cls, raw: str | bytes, *, attempts: int = 0, sending: Sending | None = None
    ) -> Job:
        data = json.loads(raw)
        accepted_at = _from_iso(data["accepted_at"])
        assert accepted_at is not None
        return cls(
            key=data["key"],
            lead=Lead.from_dict(data["lead"]),
            message=Message.from_dict(data["message"]),
            accepted_at=accepted_at,
            delivery_id=data.get("delivery_id", ""),
            attempts=attempts,
            sending=sending,
        )


@dataclass(frozen=True)
class Connection:
    """A messaging channel connection; replies go only through a ``connected`` one."""

    id: int
    name: str
    channel: str
    default: bool
    connected: bool


def utcnow() -> datetime:
    return datetime.now(UTC)


def _iso(value: datetime | None) -> str | None:
    return value.astimezone(UTC).isoformat() if value is not None else None


def _from_iso(value: Any) -> datetime | None:
    if not value:
        return None
    parsed = datetime.fromisoformat(str(value))
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
