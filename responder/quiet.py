"""When the bot stays quiet: a person of the team taking a conversation over.

A message a person of the company wrote to a lead means the bot steps back for
``Config.takeover_pause``; the platform's echo of the bot's own reply (same text, shortly
after it was sent) is not such a message. :class:`responder.pipeline.Responder` asks
:func:`step_back` for every outbound message it is delivered.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from responder.config import Config
from responder.engine.hours import show_moment
from responder.model import Message, Outcome, SenderType
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
