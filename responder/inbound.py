"""Which inbound times the store folds into their lead when it accepts a job.

:meth:`responder.ports.Store.accept` folds a message's time into its lead in the step that
claims it, so that the sender reads the lead's state instead of writing it again. Only a
time the delivery states for a message known to be the lead's is folded then; any other is
folded by the sender once the message is complete (:meth:`~responder.ports.Store.note_inbound`).
"""

from __future__ import annotations

from datetime import datetime

from responder.model import Direction, Job, Message
from responder.platform.messages import needs_hydration


def inbound_at(message: Message) -> datetime | None:
    """The time to fold at acceptance: that of a lead's message the delivery states in full.

    None for a message to complete from the conversation first (its text, time or direction
    unknown yet) and for a message of the company's.
    """
    if needs_hydration(message) or message.direction is not Direction.INBOUND:
        return None
    return message.received_at


def noted_at_accept(job: Job) -> bool:
    """Whether accepting ``job`` folded its message's time into the lead.

    Never assumed of a job taken over (``attempts`` > 0): the process that accepted it may
    have run a release that left the fold to the sender, and folding again changes nothing.
    """
    return job.attempts == 0 and inbound_at(job.message) is not None
