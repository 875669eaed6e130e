"""Bursts on the SQLite store (:class:`responder.ports.Bursts`): two tables beside the jobs.

``bursts`` holds one row per burst (at most one open per lead, enforced by a partial unique
index); ``burst_members`` the jobs in it, in the order they joined. Every step runs inside
``BEGIN IMMEDIATE`` like the rest of the store, so a join and the close it races with are
ordered: a job joins before the close (and is answered with the burst) or after it (and
opens the next burst).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from contextlib import AbstractContextManager
from datetime import datetime

from responder.model import DecisionRecord, Job, Sending
from responder.ports import Seat, SeatRole
from responder.store import sqlite_sql as sql
from responder.store._convert import from_ts, to_ts

SCHEMA = (
    """CREATE TABLE IF NOT EXISTS bursts (
        id INTEGER PRIMARY KEY,
        lead_id TEXT NOT NULL,
        leader TEXT NOT NULL,
        opened_at REAL NOT NULL,
        last_at REAL NOT NULL,
        closed INTEGER NOT NULL DEFAULT 0
    )""",
    "CREATE UNIQUE INDEX IF NOT EXISTS bursts_open ON bursts (lead_id) WHERE closed = 0",
    """CREATE TABLE IF NOT EXISTS burst_members (
        job_key TEXT PRIMARY KEY,
        burst INTEGER NOT NULL,
        seq INTEGER NOT NULL
    ) WITHOUT ROWID""",
    "CREATE INDEX IF NOT EXISTS burst_members_in_order ON burst_members (burst, seq)",
)

_SEAT = """
    SELECT b.id, b.leader, b.opened_at, b.last_at, b.closed
    FROM burst_members m JOIN bursts b ON b.id = m.burst WHERE m.job_key = ?
"""
_HOLD = "UPDATE jobs SET lease_until = max(lease_until, ?) WHERE key = ?"
_ADD = """
    INSERT INTO burst_members (job_key, burst, seq)
    VALUES (?, ?, (SELECT coalesce(max(seq), 0) + 1 FROM burst_members WHERE burst = ?))
"""


class SQLiteBursts:
    """The burst half of :class:`responder.store.sqlite.SQLiteStore` (mixed into it)."""

    def _tx(self, *, write: bool = True) -> AbstractContextManager[sqlite3.Connection]:
        raise NotImplementedError  # the store's own

    def join_burst(
        self, job_key: str, lead_id: str, *, now: datetime, hold_until: datetime, may_open: bool
    ) -> Seat:
        at = to_ts(now)
        with self._tx() as db:
            if db.execute("SELECT 1 FROM jobs WHERE key = ?", (job_key,)).fetchone() is None:
                return Seat(SeatRole.GONE)
            row = db.execute(_SEAT, (job_key,)).fetchone()
            if row is not None:
                return _seat(job_key, row)
            open_burst = db.execute(
                "SELECT id FROM bursts WHERE lead_id = ? AND closed = 0", (lead_id,)
            ).fetchone()
            if open_burst is not None:
                db.execute("UPDATE bursts SET last_at = ? WHERE id = ?", (at, open_burst[0]))
                db.execute(_ADD, (job_key, open_burst[0], open_burst[0]))
            elif may_open:
                (burst,) = db.execute(
                    "INSERT INTO bursts (lead_id, leader, opened_at, last_at) VALUES (?, ?, ?, ?)"
                    " RETURNING id",
                    (lead_id, job_key, at, at),
                ).fetchone()
                db.execute(_ADD, (job_key, burst, burst))
            else:
                return Seat(SeatRole.NONE)
            db.execute(_HOLD, (to_ts(hold_until), job_key))
            return _seat(job_key, db.execute(_SEAT, (job_key,)).fetchone())

    def burst_seat(self, job_key: str) -> Seat:
        with self._tx(write=False) as db:
            row = db.execute(_SEAT, (job_key,)).fetchone()
        return Seat(SeatRole.NONE) if row is None else _seat(job_key, row)

    def close_burst(self, burst: str) -> list[Job]:
        with self._tx() as db:
            db.execute("UPDATE bursts SET closed = 1 WHERE id = ?", (int(burst),))
            rows = db.execute(
                "SELECT j.payload, j.attempts, j.sending FROM burst_members m"
                " JOIN jobs j ON j.key = m.job_key WHERE m.burst = ? ORDER BY m.seq",
                (int(burst),),
            ).fetchall()
        return [
            Job.from_json(payload, attempts=attempts, sending=Sending.from_json(sending))
            for payload, attempts, sending in rows
        ]

    def finish_burst(
        self, records: Sequence[DecisionRecord], *, pause_until: datetime | None = None
    ) -> bool:
        with self._tx() as db:
            if pause_until is not None:
                db.execute(sql.PAUSE, (records[0].lead_id, to_ts(pause_until)))
            burst = db.execute(
                "SELECT burst FROM burst_members WHERE job_key = ?", (records[0].key,)
            ).fetchone()
            for index, record in enumerate(records):
                cur = db.execute(sql.INSERT_DECISION, sql.decision_row(record))
                if cur.rowcount == 0 and index == 0:
                    return False  # nothing written but the pause, if any
                db.execute("DELETE FROM jobs WHERE key = ?", (record.key,))
            if burst is not None:
                db.execute("DELETE FROM burst_members WHERE burst = ?", burst)
                db.execute("DELETE FROM bursts WHERE id = ?", burst)
        return True


def _seat(job_key: str, row: tuple[int, str, float, float, int]) -> Seat:
    burst, leader, opened_at, last_at, closed = row
    return Seat(
        SeatRole.LEADER if leader == job_key else SeatRole.MEMBER,
        str(burst),
        leader,
        from_ts(opened_at),
        from_ts(last_at),
        bool(closed),
    )
