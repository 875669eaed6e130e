"""Reading the decision log as people ask about it: what the CLI and the console share.

A search for text is made with the rules' own normalisation (case, accents, punctuation
and spacing do not matter), so ``preco`` finds ``PREÇO?``.
"""

from __future__ import annotations

from datetime import datetime

from responder.engine.normalize import normalize
from responder.model import Outcome
from responder.ports import Store
from responder.queries import ActivityPage, ActivityQuery


def search(
    store: Store,
    *,
    lead_id: str | None = None,
    outcome: Outcome | None = None,
    rule: str | None = None,
    text: str | None = None,
    since: datetime | None = None,
    before: str | None = None,
    limit: int = 50,
) -> ActivityPage:
    """One page of decisions, newest first (see :meth:`Store.activity`); ``text`` as a
    person typed it. Text that normalises to nothing (only punctuation, say) filters
    nothing."""
    contains = normalize(text) if text else None
    query = ActivityQuery(lead_id, outcome, rule, contains or None, since, before, limit)
    return store.activity(query)
