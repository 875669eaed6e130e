"""When the bot stays quiet: a person of the team taking a conversation over, or pausing it.

A message a person of the company wrote to a lead means the bot steps back for
``Config.takeover_pause``; the platform's echo of the bot's own reply (same text, shortly
after it was sent) is not such a message. :class:`responder.pipeline.Responder` asks
:func:`step_back` for every outbound message it is delivered.

A person may also pause the bot by hand (:class:`Pause`, for one lead or for everyone,
stored by :meth:`Store.put_pause`): the pipeline reads the pauses with the lead's state for
every message and records a paused message as ``paused``, with :func:`held_reason`.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from responder.config import Config
from responder.engine.decide import Decision
from responder.engine.hours import show_moment
from responder.model import Message, Outcome, Pause, SenderType
from responder.ports import Store

# An agent's outbound message with the same text as a reply we sent this recently is the
# platform echoing our own reply, not a person taking over.
ECHO_WINDOW = timedelta(minutes=10)


def step_back(
    store: Store,
    config: Config,
    lead_id: str,
    message: Message,
    *,
    now: datetime,
    zone: ZoneInfo | None,
) -> tuple[Outcome, str]:
    """Handle an outbound message of the lead's conversation: never answered. When a person
    of the team wrote it, the lead is paused until ``now + takeover_pause``. Returns the
    outcome to record (always ``not_inbound``) and its reason."""
    if message.sender_type is not SenderType.USER or _is_our_echo(store, lead_id, message, now):
        return Outcome.NOT_INBOUND, "an outbound message from the bot"
    until = now + config.takeover_pause
    store.pause(lead_id, until)
    shown = show_moment(until, zone)
    return Outcome.NOT_INBOUND, (
        f"a person of the team wrote to the lead: auto-replies paused until {shown}"
    )


def _is_our_echo(store: Store, lead_id: str, message: Message, now: datetime) -> bool:
    since = now - ECHO_WINDOW
    sent = store.decisions(lead_id=lead_id, outcome=Outcome.SENT, limit=20)
    return any(r.reply.strip() == message.text.strip() and r.at >= since for r in sent)


def held_reason(pause: Pause, zone: ZoneInfo | None, decision: Decision | None = None) -> str:
    """Why a message got no reply: who paused whom, until when (in the business's ``zone``,
    named), their note, and what the rules would have done otherwise."""
    whom = "everyone" if pause.everyone else "this lead"
    until = f"until {show_moment(pause.until, zone)}" if pause.until else "until resumed"
    reason = f"{pause.by} paused auto-replies for {whom} {until}"
    if pause.note:
        reason += f" ({pause.note})"
    if decision is not None:
        reason += f"; otherwise: {decision.why}"
    return reason


def blocked_reason(
    store: Store,
    lead_id: str,
    blocked: Outcome,
    decision: Decision,
    *,
    now: datetime,
    zone: ZoneInfo | None,
) -> str:
    """Why the reservation of a reply was refused (:meth:`Store.reserve_reply`). A pause
    found there may be a person's set since the lead's state was read: it is named."""
    held = store.lead_state(lead_id).held_by(now) if blocked is Outcome.PAUSED else None
    if held is not None:
        return held_reason(held, zone, decision)
    why = decision.why
    return {
        Outcome.PAUSED: f"{why}; but auto-replies to this lead are paused",
        Outcome.COOLDOWN: f"{why}; but this rule answered this lead moments ago",
        Outcome.BUDGET: f"{why}; but this lead already got the most auto-replies allowed per hour",
    }.get(blocked, why)
