"""WhatsApp's 24-hour window: by when a reply must have gone out, and why it cannot.

WhatsApp accepts free-form messages only within 24 hours of the lead's LAST inbound message,
and a send outside it fails for good. So the window must be *provably* open: without the
time of the lead's last inbound message nothing is provable and the window counts as closed.
The service stops ``Config.window_margin`` before the real end, to leave room for the send.
"""

from __future__ import annotations

from datetime import UTC, datetime

from responder.config import Config
from responder.model import LeadState, Message

#: "The window closed at the beginning of time": no inbound time is known.
UNPROVABLE = datetime.min.replace(tzinfo=UTC)


def window_closes(message: Message, state: LeadState, config: Config) -> datetime | None:
    """When a reply to ``message`` must have been sent by; None on a channel with no window.

    The last inbound time is the later of the stored state's and the message's own; without
    either the answer is :data:`UNPROVABLE`. An unknown channel is treated as windowed.
    """
    if message.channel and message.channel.lower() not in config.windowed_channels:
        return None
    last = max(filter(None, (state.last_inbound, message.received_at)), default=None)
    if last is None:
        return UNPROVABLE
    return last + config.window - config.window_margin


def closed_reason(closes: datetime) -> str:
    """Why a reply could not be sent, for a window that closed at ``closes``."""
    if closes == UNPROVABLE:
        return "the time of the lead's last message is unknown, so the window cannot be proven open"
    return (
        f"WhatsApp's 24-hour window closed at {closes:%Y-%m-%d %H:%M} UTC (with the safety margin)"
    )
