"""First contact: is a message the first the lead ever wrote, or only the first seen here?

The store knows the messages this service has received. A lead who wrote before the service
was deployed (or before the store was reset) looks new to it, and a ``first_message: true``
rule would welcome a customer of years. So when a message looks like a lead's first and the
rule book has a rule that cares, the lead's conversation is read from the platform once and
its earliest inbound message folded into the store; the next message of that lead is not a
first one to the store either, so the history is read at most once per lead. When the history
cannot be read, the store's view stands and the reason says so.
"""

from __future__ import annotations

import logging
from dataclasses import replace
from datetime import datetime, timedelta

from responder.engine.decide import Decision, decide
from responder.engine.rulebook import RuleBook
from responder.errors import PlatformRejected, RetryableError
from responder.model import Direction, Lead, LeadState, Message
from responder.ports import PlatformApi, Store

log = logging.getLogger(__name__)

#: Added to the reason of a decision made on the store's view alone.
UNVERIFIED = (
    "first message as far as this service knows: the conversation history could not be read"
)


def settle_first_contact(
    decision: Decision,
    *,
    api: PlatformApi,
    store: Store,
    message: Message,
    lead: Lead,
    book: RuleBook,
    state: LeadState,
    now: datetime,
    deadline: float,
) -> Decision:
    """``decision``, or the decision the platform's history calls for.

    The history is read only when the message is the lead's first to the store and the
    decision would be another one if it were not (deciding twice costs microseconds; the
    read costs a round trip). When the history shows an earlier inbound message, that time
    is folded into the store and the message decided again. When it cannot be read, the
    decision stands and its reason says so. Only the platform's errors are absorbed; a store
    error propagates.
    """
    if not (book.asks_first_message and state.is_first_message(message)):
        return decision
    returning = replace(state, first_seen=(message.received_at or now) - timedelta(microseconds=1))
    if _same(decide(message, lead, book, returning, now), decision):
        return decision
    try:
        history = api.conversation(lead.id, deadline=deadline)
    except (RetryableError, PlatformRejected) as exc:
        log.warning("lead=%s: history not read (%s); first message unverified", lead.id, exc)
        return replace(decision, why=f"{decision.why}; {UNVERIFIED} ({exc})")
    earliest = min(
        (m.received_at for m in history if m.direction is Direction.INBOUND and m.received_at),
        default=None,
    )
    if earliest is None or message.received_at is None or earliest >= message.received_at:
        return decision
    return decide(message, lead, book, store.note_inbound(lead.id, earliest), now)


def _same(one: Decision, other: Decision) -> bool:
    return (one.rule, one.outcome) == (other.rule, other.outcome)
