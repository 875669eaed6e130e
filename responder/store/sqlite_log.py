"""The SQLite store's decision log queries: pages of the log, and the unanswered messages.

Used by :class:`responder.store.sqlite.SQLiteStore` on its connection, inside its error
guard; every value reaches SQLite as a bound parameter (see :mod:`sqlite_sql`).
"""

from __future__ import annotations

import sqlite3
from datetime import datetime
from typing import Any

from responder.model import DecisionRecord, Outcome
from responder.queries import ActivityPage, ActivityQuery, Unanswered
from responder.store import sqlite_sql as sql
from responder.store._convert import from_ts, to_ts


def activity(db: sqlite3.Connection, query: ActivityQuery) -> ActivityPage:
    """See :meth:`responder.ports.Store.activity`. A page's mark is its last decision's
    ``at`` and row number."""
    given: dict[str, str | float | None] = {
        "lead_id": query.lead_id,
        "outcome": query.outcome.value if query.outcome is not None else None,
        "rule": query.rule,
        "contains": query.contains,
        "since": to_ts(query.since) if query.since is not None else None,
    }
    clauses = [sql.FILTERS[name] for name, value in given.items() if value is not None]
    values: list[str | float | int] = [value for value in given.values() if value is not None]
    if query.before is not None:
        at, seq = _mark(query.before)
        clauses.append(sql.BEFORE)
        values.extend((at, at, seq))
    where = f" WHERE {' AND '.join(clauses)}" if clauses else ""
    statement = f"{sql.SELECT_ACTIVITY}{where} ORDER BY at DESC, seq DESC LIMIT ?"
    rows = db.execute(statement, (*values, query.limit + 1)).fetchall()
    page = rows[: query.limit]
    more = len(rows) > query.limit and page
    mark = f"{page[-1][5]!r}/{page[-1][0]}" if more else None
    return ActivityPage(tuple(decision(row[1:]) for row in page), mark)


def unanswered(db: sqlite3.Connection, *, since: datetime | None, limit: int) -> list[Unanswered]:
    """See :meth:`responder.ports.Store.unanswered`."""
    start = to_ts(since) if since is not None else float("-inf")
    rows = db.execute(sql.UNANSWERED, (start, limit)).fetchall()
    return [
        Unanswered(normalized, count, from_ts(at), lead_id, text)
        for normalized, count, at, lead_id, text in rows
    ]


def _mark(before: str) -> tuple[float, int]:
    at, _, seq = before.partition("/")
    try:
        return float(at), int(seq)
    except ValueError:
        raise ValueError(f"{before!r} is not a page mark of this decision log") from None


def decision(row: tuple[Any, ...]) -> DecisionRecord:
    """The record of a row of ``sql.COLUMNS``."""
    key, lead_id, outcome, rule, at, reason, reply, message_id, release, text, normalized = row[:11]
    return DecisionRecord(
        key=key,
        lead_id=lead_id,
        outcome=Outcome(outcome),
        at=from_ts(at),
        rule=rule,
        reason=reason,
        reply=reply,
        message_id=message_id,
        release=release,
        text=text,
        normalized=normalized,
        unmatched=bool(row[11]),
        language=row[12],
    )
