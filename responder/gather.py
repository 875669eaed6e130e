"""One answer to a burst of messages (``settings: gather``): which job waits, and for what.

Leads write in fragments ("hi" / "do you deliver" / "to Shah Alam?"). With ``gather`` set,
the first job of a lead that reaches the sender side opens a *burst* in the store and leads
it; the lead's later jobs join it while it is open (one atomic join-or-open,
:meth:`responder.ports.Bursts.join_burst`) and end their attempt there. The leader is set
aside (no thread sleeps: :class:`Deferred` tells the pipeline when to come back) until no
message has joined for ``gather``, or at most ``GATHER_CAP`` times ``gather`` after the
burst opened. It then closes the burst, and the pipeline decides once on the messages
joined in order of their time (:func:`gather`), replies once, and records every member
with the one outcome (:func:`finish`).

A burst survives the death of its leader's process: the members are durable jobs, joining
holds every member's lease for the whole wait plus a lease, and whoever takes the leader
over finds its burst again (joining is idempotent) and finishes it.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import replace
from datetime import datetime, timedelta

from responder.config import Config
from responder.engine.decide import decide
from responder.engine.gathering import GATHER_CAP, joined_text
from responder.engine.normalize import normalize
from responder.engine.rulebook import RuleBook
from responder.inbound import inbound_at
from responder.model import TEXT_KEPT, DecisionRecord, Job, LeadState, Message
from responder.platform.messages import needs_hydration, not_after
from responder.ports import SeatRole, Store

log = logging.getLogger("responder.gather")


class Deferred(Exception):
    """This attempt ends without an outcome: the job waits in a burst.

    ``until`` is when the leader should look again; None for a member (its leader answers
    it) or a job answered already.
    """

    def __init__(self, until: datetime | None, why: str) -> None:
        super().__init__(why)
        self.until = until


def applies(job: Job, book: RuleBook) -> bool:
    """Whether ``job`` may be part of a burst: the book gathers, or this copy comes from a
    takeover or a wait (a burst opened under an earlier rule book is still finished)."""
    return book.gathers or job.attempts > 0 or job.gathering


def longest(book: RuleBook) -> timedelta:
    """The longest wait any burst of ``book`` may have."""
    rules = book.by_order.values()
    return max((book.settings.gather, *(r.gather for r in rules if r.gather)))


def gather(
    job: Job,
    message: Message,
    state: LeadState,
    book: RuleBook,
    store: Store,
    config: Config,
    now: datetime,
    hydrate: Callable[[Job], Message],
) -> tuple[Message, LeadState]:
    """Put ``job`` (inbound, ``message`` hydrated, ``state`` its lead's) in its lead's burst;
    ``hydrate`` completes a member's message from the conversation.

    Returns the message to decide on and the lead's state: ``message`` and ``state`` when
    the job is answered alone (nothing gathers, or its message alone goes to a rule with
    ``gather: 0s`` and no burst is open), the burst's joined message when this job leads it
    and it has gone quiet. Raises :class:`Deferred` otherwise.
    """
    wait = _wait(book, job, message, state, now)
    cap = GATHER_CAP * longest(book)
    seat = store.join_burst(
        job.key, job.lead.id, now=now, hold_until=now + cap + config.lease, may_open=bool(wait)
    )
    if seat.role is SeatRole.NONE:
        return message, state
    if seat.role is SeatRole.GONE:
        raise Deferred(None, "answered already")
    if seat.role is SeatRole.MEMBER:
        raise Deferred(None, f"gathered with {seat.leader}, which answers it")
    assert seat.opened_at is not None and seat.last_at is not None
    quiet_at = min(seat.last_at + wait, seat.opened_at + GATHER_CAP * wait)
    if not seat.closed and now < quiet_at:
        raise Deferred(quiet_at, "waiting for more messages")
    members = store.close_burst(seat.burst)
    messages = [message if m.key == job.key else _hydrated(m, hydrate, now) for m in members]
    order = sorted(range(len(messages)), key=lambda i: (_time(messages[i], members[i]), i))
    # Every member's time is in the lead's state once it joined (folded when it was
    # accepted, or by its own sender after completing it), save one first completed here.
    completed = [
        each.received_at
        for member, each in zip(members, messages, strict=True)
        if member.key != job.key and inbound_at(member.message) is None and each.received_at
    ]
    for at in completed:
        state = store.note_inbound(job.lead.id, at)
    if not completed:  # members may have joined after ``state`` was read
        state = store.lead_state(job.lead.id)
    first, last = messages[order[0]], messages[order[-1]]
    text = joined_text(messages[i].text for i in order)
    # The last message's channel and connection; the first one's time, so that a burst
    # that opens a conversation is its first message. The window is judged on the lead's
    # last inbound time, which every member has just been folded into.
    joined = replace(last, text=text, received_at=first.received_at or last.received_at)
    log.info(
        "job %s: answering %d message(s) of lead %s together", job.key, len(members), job.lead.id
    )
    return joined, state


def finish(
    store: Store,
    job: Job,
    record: DecisionRecord,
    book: RuleBook,
    *,
    pause_until: datetime | None = None,
) -> bool:
    """Record ``record`` for ``job`` and, when it leads a burst, the same outcome for every
    other member, in one atomic step, pausing the lead until ``pause_until`` if given (see
    :meth:`Store.finish`). False when the outcome was recorded already."""
    if not applies(job, book):
        return store.finish(record, pause_until=pause_until)
    seat = store.burst_seat(job.key)
    if seat.role is not SeatRole.LEADER:
        return store.finish(record, pause_until=pause_until)
    others = [m for m in store.close_burst(seat.burst) if m.key != job.key]
    if not others:
        return store.finish_burst([record], pause_until=pause_until)
    together = f"answered together with {len(others)} more message{'s' * (len(others) > 1)}"
    led = replace(record, reason=f"{record.reason}; {together}" if record.reason else together)
    records: Sequence[DecisionRecord] = [
        led,
        *(
            replace(
                led,
                key=member.key,
                message_id=member.message.id,
                text=member.message.text[:TEXT_KEPT],
                normalized=normalize(member.message.text)[:TEXT_KEPT],
                reply="",
                reason=f"{led.reason} (the reply is recorded on {job.key})",
            )
            for member in others
        ),
    ]
    return store.finish_burst(records, pause_until=pause_until)


def _wait(book: RuleBook, job: Job, message: Message, state: LeadState, now: datetime) -> timedelta:
    """How long a burst this job opens waits: ``settings: gather``, unless the rule its
    message alone goes to sets its own (deciding twice only when some rule does)."""
    if not any(rule.gather is not None for rule in book.by_order.values()):
        return book.settings.gather
    return book.gather_for(decide(message, job.lead, book, state, now).rule)


def _hydrated(member: Job, hydrate: Callable[[Job], Message], now: datetime) -> Message:
    message = hydrate(member) if needs_hydration(member.message) else member.message
    return not_after(message, now)


def _time(message: Message, job: Job) -> datetime:
    return message.received_at or job.accepted_at
