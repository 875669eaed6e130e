"""Per-lead state on the SQLite store: first and last inbound, the people's pauses, and the
reservation of each reply against the cooldown and the budget.

Mixed into :class:`responder.store.sqlite.SQLiteStore`; every read-modify-write runs in the
store's ``BEGIN IMMEDIATE`` transaction, so the guards and the writes they allow are one step.
"""

from __future__ import annotations

import sqlite3
from contextlib import AbstractContextManager
from datetime import datetime, timedelta

from responder.model import EVERYONE, LeadState, Outcome, Pause, Sending
from responder.queries import PauseChange
from responder.store import sqlite_sql as sql
from responder.store._convert import from_ts, seconds, to_ts


class SQLiteLeads:
    """The per-lead half of :class:`responder.store.sqlite.SQLiteStore` (mixed into it)."""

    def _tx(self, *, write: bool = True) -> AbstractContextManager[sqlite3.Connection]:
        raise NotImplementedError  # the store's own

    def _guard(self) -> AbstractContextManager[None]:
        raise NotImplementedError  # the store's own

    def _conn(self) -> sqlite3.Connection:
        raise NotImplementedError  # the store's own

    def lead_state(self, lead_id: str) -> LeadState:
        with self._tx(write=False) as db:
            return _read_lead(db, lead_id)

    def note_inbound(self, lead_id: str, at: datetime) -> LeadState:
        ts = to_ts(at)
        with self._tx() as db:
            db.execute(sql.NOTE_INBOUND, (lead_id, ts, ts))
            return _read_lead(db, lead_id)

    def pause(self, lead_id: str, until: datetime) -> None:
        with self._tx() as db:
            db.execute(sql.PAUSE, (lead_id, to_ts(until)))

    def pause_once(self, key: str, lead_id: str, until: datetime, *, now: datetime) -> bool:
        at = to_ts(now)
        with self._tx() as db:
            if db.execute(sql.CLAIM, (key, at)).rowcount == 0:
                paused = db.execute(sql.PAUSED_UNTIL, (lead_id,)).fetchone()
                if paused is not None and paused[0] is not None and paused[0] > at:
                    return False
                db.execute("UPDATE claims SET claimed_at = ? WHERE key = ?", (at, key))
            db.execute(sql.PAUSE, (lead_id, to_ts(until)))
        return True

    def put_pause(self, pause: Pause) -> None:
        until = to_ts(pause.until) if pause.until is not None else None
        at = to_ts(pause.at)
        with self._tx() as db:
            db.execute(sql.PUT_PAUSE, (pause.lead_id, pause.by, at, until, pause.note))
            db.execute(
                sql.RECORD_PAUSE_CHANGE, (at, pause.lead_id, "pause", pause.by, until, pause.note)
            )

    def end_pause(self, lead_id: str, *, by: str, now: datetime) -> Pause | None:
        with self._tx() as db:
            row = db.execute(
                "DELETE FROM pauses WHERE lead_id = ? RETURNING lead_id, author, at, until, note",
                (lead_id,),
            ).fetchone()
            if lead_id != EVERYONE:
                db.execute("UPDATE leads SET paused_until = NULL WHERE lead_id = ?", (lead_id,))
            db.execute(sql.RECORD_PAUSE_CHANGE, (to_ts(now), lead_id, "resume", by, None, ""))
        return _pause(row) if row is not None else None

    def pause_changes(self, *, limit: int = 50) -> list[PauseChange]:
        with self._guard():
            rows = self._conn().execute(sql.PAUSE_CHANGES, (limit,)).fetchall()
        return [
            PauseChange(
                lead_id=lead_id,
                action="resume" if action == "resume" else "pause",
                by=author,
                at=from_ts(at),
                until=from_ts(until) if until is not None else None,
                note=note,
            )
            for lead_id, action, author, at, until, note in rows
        ]

    def pauses(self, *, now: datetime) -> list[Pause]:
        with self._guard():
            rows = self._conn().execute(sql.RUNNING_PAUSES, (to_ts(now),)).fetchall()
        return [_pause(row) for row in rows]

    def reserve_reply(
        self,
        job_key: str,
        lead_id: str,
        sending: Sending,
        *,
        cooldown: timedelta,
        budget: int,
        budget_period: timedelta,
    ) -> Outcome | None:
        at = to_ts(sending.reserved_at)
        rule = sending.rule
        window_start = at - seconds(budget_period)
        with self._tx() as db:
            paused_until, last, holder, used, held = db.execute(
                sql.GUARDS, {"lead": lead_id, "rule": rule, "window_start": window_start, "at": at}
            ).fetchone()
            if holder == job_key:
                return None  # reserved by this very job already
            if held or (paused_until is not None and at < paused_until):
                return Outcome.PAUSED
            # A zero cooldown never blocks, even when another process's clock ran ahead.
            if cooldown and last is not None and last > at - seconds(cooldown):
                return Outcome.COOLDOWN
            if used >= budget:
                return Outcome.BUDGET
            db.execute(
                "DELETE FROM reply_budget WHERE lead_id = ? AND at <= ?", (lead_id, window_start)
            )
            db.execute(
                "INSERT OR REPLACE INTO last_replies (lead_id, rule, at, job_key)"
                " VALUES (?, ?, ?, ?)",
                (lead_id, rule, at, job_key),
            )
            db.execute(
                "INSERT INTO reply_budget (lead_id, rule, at, job_key) VALUES (?, ?, ?, ?)",
                (lead_id, rule, at, job_key),
            )
            db.execute("UPDATE jobs SET sending = ? WHERE key = ?", (sending.to_json(), job_key))
        return None

    def release_reply(self, job_key: str, lead_id: str, rule: str) -> None:
        with self._tx() as db:
            db.execute(
                "DELETE FROM last_replies WHERE lead_id = ? AND rule = ? AND job_key = ?",
                (lead_id, rule, job_key),
            )
            db.execute(
                "DELETE FROM reply_budget WHERE lead_id = ? AND rule = ? AND job_key = ?",
                (lead_id, rule, job_key),
            )


def _read_lead(db: sqlite3.Connection, lead_id: str) -> LeadState:
    row = db.execute(
        "SELECT first_seen, last_inbound, paused_until FROM leads WHERE lead_id = ?", (lead_id,)
    ).fetchone()
    replies = db.execute(
        "SELECT rule, at FROM last_replies WHERE lead_id = ?", (lead_id,)
    ).fetchall()
    held = db.execute(sql.HELD, (lead_id,)).fetchall()
    first_seen, last_inbound, paused_until = row if row is not None else (None, None, None)
    return LeadState(
        first_seen=from_ts(first_seen) if first_seen is not None else None,
        last_inbound=from_ts(last_inbound) if last_inbound is not None else None,
        paused_until=from_ts(paused_until) if paused_until is not None else None,
        last_reply={rule: from_ts(at) for rule, at in replies},
        held=tuple(_pause(pause) for pause in held),
    )


def _pause(row: tuple[str, str, float, float | None, str]) -> Pause:
    lead_id, author, at, until, note = row
    return Pause(
        lead_id=lead_id,
        by=author,
        at=from_ts(at),
        until=from_ts(until) if until is not None else None,
        note=note,
    )
