"""Questions to the decision log and to the record of pauses, and their answers: plain
values shared by the store engines (:meth:`responder.ports.Store.activity`,
:meth:`~responder.ports.Store.unanswered`, :meth:`~responder.ports.Store.pause_changes`)
and the tools that show them (``responder log``, ``unanswered``, ``pauses --history``)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from responder.model import DecisionRecord, Outcome


@dataclass(frozen=True, slots=True)
class ActivityQuery:
    """Which decisions to list, newest first; every filter given must hold.

    ``contains`` is found in the message's *normalised* text, so give it normalised too
    (:func:`responder.activity.search` does). ``since`` keeps decisions made at or after it.
    ``before`` is the ``next`` mark of the page before, to read the following (older) page.
    """

    lead_id: str | None = None
    outcome: Outcome | None = None
    rule: str | None = None
    contains: str | None = None
    since: datetime | None = None
    before: str | None = None
    limit: int = 50


@dataclass(frozen=True, slots=True)
class ActivityPage:
    """At most ``limit`` decisions, newest first. ``next`` is the mark to pass as ``before``
    for older ones; None when the log has no more that could match."""

    records: tuple[DecisionRecord, ...]
    next: str | None = None


@dataclass(frozen=True, slots=True)
class Unanswered:
    """Messages no rule (but perhaps a fallback) matched, grouped by their normalised text:
    how many, when the last came, and the last one's lead and text as written."""

    normalized: str
    count: int
    last_seen: datetime
    lead_id: str
    text: str


@dataclass(frozen=True, slots=True)
class PauseChange:
    """One pausing or resuming of the bot as recorded: for whom (``lead_id``, ``*`` for
    everyone), by whom, when; a pause's ``until`` (None: until resumed) and note."""

    lead_id: str
    action: Literal["pause", "resume"]
    by: str
    at: datetime
    until: datetime | None = None
    note: str = ""
