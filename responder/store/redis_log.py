"""The Redis store's decision log queries: pages of the log stream, and the unanswered
messages grouped from their own capped stream.

Used by :class:`responder.store.redis_store.RedisStore`, which hands in a :data:`Reader` of
one stream (XREVRANGE inside its error guard). A stream lists entries in the order they were
recorded; "newest" here means recorded last.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import replace
from datetime import datetime

from responder.model import DecisionRecord
from responder.queries import ActivityPage, ActivityQuery, Unanswered
from responder.store._convert import from_ts

#: ``read(upper, count)``: at most ``count`` entries of one stream, newest first, from
#: ``upper`` (``+`` for the newest, ``(<id>`` for those before an id).
Reader = Callable[[str, int], list[tuple[str, dict[str, str]]]]

BATCH = 200


def activity(read: Reader, query: ActivityQuery, *, scan_cap: int) -> ActivityPage:
    """See :meth:`responder.ports.Store.activity`: at most ``scan_cap`` entries are read per
    call; a page's mark is the id of the last entry it read."""
    found: list[DecisionRecord] = []
    upper = "(" + _stream_id(query.before) if query.before is not None else "+"
    scanned = 0
    last = ""
    while scanned < scan_cap:
        batch = read(upper, BATCH)
        for entry_id, fields in batch:
            last = entry_id
            scanned += 1
            record = DecisionRecord.from_dict(json.loads(fields["d"]))
            if query.since is not None and record.at < query.since:
                return ActivityPage(tuple(found))
            if _wanted(record, query):
                found.append(record)
                if len(found) == query.limit:
                    return ActivityPage(tuple(found), entry_id)
        if len(batch) < BATCH:
            return ActivityPage(tuple(found))
        upper = "(" + last
    return ActivityPage(tuple(found), last)


def unanswered(read: Reader, *, since: datetime | None, limit: int) -> list[Unanswered]:
    """See :meth:`responder.ports.Store.unanswered`, over the whole (capped) stream of
    unmatched messages: entries hold ``at``, ``lead``, ``text`` and ``n`` (normalised)."""
    groups: dict[str, Unanswered] = {}
    upper = "+"
    while True:
        batch = read(upper, BATCH * 5)
        for _, fields in batch:
            at = from_ts(fields["at"])
            if since is not None and at < since:
                return _ranked(groups, limit)
            seen = groups.get(fields["n"])
            if seen is None:  # the newest of its group: its lead and text are the example
                groups[fields["n"]] = Unanswered(fields["n"], 1, at, fields["lead"], fields["text"])
            else:
                groups[fields["n"]] = replace(seen, count=seen.count + 1)
        if len(batch) < BATCH * 5:
            return _ranked(groups, limit)
        upper = "(" + batch[-1][0]


def _ranked(groups: dict[str, Unanswered], limit: int) -> list[Unanswered]:
    ranked = sorted(groups.values(), key=lambda g: (-g.count, -g.last_seen.timestamp()))
    return ranked[:limit]


def _stream_id(mark: str) -> str:
    head, _, tail = mark.partition("-")
    if not (head.isdigit() and tail.isdigit()):
        raise ValueError(f"{mark!r} is not a page mark of this decision log")
    return mark


def _wanted(record: DecisionRecord, query: ActivityQuery) -> bool:
    return (
        (query.lead_id is None or record.lead_id == query.lead_id)
        and (query.outcome is None or record.outcome == query.outcome)
        and (query.rule is None or record.rule == query.rule)
        and (query.contains is None or query.contains in record.normalized)
    )
