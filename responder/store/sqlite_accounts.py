"""The console's accounts, changes and failed logins in the SQLite file of the state store.

``accounts`` holds one row per account (its fields as JSON), ``changes`` the record of changes
(newest kept), ``login_failures`` one row per failed login, forgotten once out of every window.
"""

from __future__ import annotations

import json
import os
import sqlite3
from datetime import datetime, timedelta

from responder.accounts import Account, Change
from responder.ports import CHANGES_KEPT
from responder.store.sqlite_file import SQLiteFile

SCHEMA = (
    "CREATE TABLE IF NOT EXISTS accounts (name TEXT PRIMARY KEY, data TEXT NOT NULL)",
    """CREATE TABLE IF NOT EXISTS changes (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        data TEXT NOT NULL
    )""",
    "CREATE TABLE IF NOT EXISTS login_failures (key TEXT NOT NULL, at REAL NOT NULL)",
    "CREATE INDEX IF NOT EXISTS login_failures_key ON login_failures (key, at)",
)
# Failed logins older than this are forgotten, whatever window is asked about.
FORGET_FAILURES = timedelta(days=1)


class SQLiteAccounts(SQLiteFile):
    """The :class:`~responder.ports.AccountStore` contract on one SQLite file."""

    def __init__(self, path: str | os.PathLike[str], *, busy_timeout: float = 5.0) -> None:
        super().__init__(path, what="the account store", schema=SCHEMA, busy_timeout=busy_timeout)

    def add_account(self, account: Account) -> bool:
        with self._transaction() as conn:
            cursor = conn.execute(
                "INSERT OR IGNORE INTO accounts (name, data) VALUES (?, ?)",
                (account.name, json.dumps(account.to_dict())),
            )
            return cursor.rowcount == 1

    def account(self, name: str) -> Account | None:
        with self._transaction() as conn:
            row = conn.execute("SELECT data FROM accounts WHERE name = ?", (name,)).fetchone()
        return Account.from_dict(json.loads(row[0])) if row is not None else None

    def accounts(self) -> list[Account]:
        with self._transaction() as conn:
            rows = conn.execute("SELECT data FROM accounts ORDER BY name").fetchall()
        return [Account.from_dict(json.loads(data)) for (data,) in rows]

    def remove_account(self, name: str) -> bool:
        with self._transaction() as conn:
            return conn.execute("DELETE FROM accounts WHERE name = ?", (name,)).rowcount == 1

    def record_change(self, change: Change) -> None:
        with self._transaction() as conn:
            cursor = conn.execute(
                "INSERT INTO changes (data) VALUES (?)", (json.dumps(change.to_dict()),)
            )
            conn.execute(
                "DELETE FROM changes WHERE id <= ?", ((cursor.lastrowid or 0) - CHANGES_KEPT,)
            )

    def changes(self, limit: int = 50) -> list[Change]:
        with self._transaction() as conn:
            rows = conn.execute(
                "SELECT data FROM changes ORDER BY id DESC LIMIT ?", (limit,)
            ).fetchall()
        return [Change.from_dict(json.loads(data)) for (data,) in rows]

    def failed_login(self, key: str, *, now: datetime, window: timedelta) -> int:
        at = now.timestamp()
        with self._transaction() as conn:
            conn.execute(
                "DELETE FROM login_failures WHERE at < ?",
                (at - max(window, FORGET_FAILURES).total_seconds(),),
            )
            conn.execute("INSERT INTO login_failures (key, at) VALUES (?, ?)", (key, at))
            return self._count(conn, key, at, window)

    def failed_logins(self, key: str, *, now: datetime, window: timedelta) -> int:
        with self._transaction() as conn:
            return self._count(conn, key, now.timestamp(), window)

    @staticmethod
    def _count(conn: sqlite3.Connection, key: str, at: float, window: timedelta) -> int:
        (count,) = conn.execute(
            "SELECT COUNT(*) FROM login_failures WHERE key = ? AND at > ? AND at <= ?",
            (key, at - window.total_seconds(), at),
        ).fetchone()
        return int(count)
