"""The decision-log entry of one job, as both sides of the pipeline record it."""

from __future__ import annotations

from datetime import datetime

from responder.engine.normalize import normalize
from responder.engine.rulebook import RuleBook
from responder.model import TEXT_KEPT, DecisionRecord, Job, Outcome


def outcome_record(
    job: Job,
    outcome: Outcome,
    reason: str,
    *,
    at: datetime,
    book: RuleBook,
    rule: str = "",
    reply: str = "",
    language: str = "",
) -> DecisionRecord:
    """The record of ``job`` ending in ``outcome`` at ``at``: the reply kept only when it was
    sent (or would have been, on a dry run), the lead's text cut to ``TEXT_KEPT``, and
    ``unmatched`` when no rule but a fallback of ``book`` (or none) answered."""
    return DecisionRecord(
        key=job.key,
        lead_id=job.lead.id,
        outcome=outcome,
        at=at,
        rule=rule,
        reason=reason,
        reply=reply if outcome in (Outcome.SENT, Outcome.DRY_RUN) else "",
        message_id=job.message.id,
        text=job.message.text[:TEXT_KEPT],
        normalized=normalize(job.message.text)[:TEXT_KEPT],
        unmatched=outcome is Outcome.NO_MATCH or rule in book.fallback_names,
        language=language,
    )
