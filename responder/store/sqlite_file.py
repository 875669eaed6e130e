"""One SQLite file beside the state store, for a store of its own (releases, accounts).

:class:`SQLiteFile` opens the file, creates its tables, and runs each change as one
``BEGIN IMMEDIATE`` transaction under a lock; every SQLite error becomes
:class:`~responder.errors.StoreUnavailable` naming what the file keeps.
"""

from __future__ import annotations

import os
import sqlite3
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

from responder.errors import StoreUnavailable


class SQLiteFile:
    """A connection to ``path`` shared by a process's threads; ``what`` names it in errors
    (``the release store``)."""

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        what: str,
        schema: Sequence[str],
        busy_timeout: float = 5.0,
    ) -> None:
        self.path = Path(path)
        self._what = what
        self._lock = threading.Lock()
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._conn = sqlite3.connect(
                self.path, timeout=busy_timeout, isolation_level=None, check_same_thread=False
            )
        except (OSError, sqlite3.Error) as exc:
            raise StoreUnavailable(f"{self._named} cannot be opened ({exc}).") from exc
        with self._transaction() as conn:
            for statement in schema:
                conn.execute(statement)

    @property
    def _named(self) -> str:
        return f"{self._what[0].upper()}{self._what[1:]} {self.path}"

    @contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        with self._lock:
            try:
                self._conn.execute("BEGIN IMMEDIATE")
                try:
                    yield self._conn
                except BaseException:
                    self._conn.execute("ROLLBACK")
                    raise
                self._conn.execute("COMMIT")
            except sqlite3.Error as exc:
                raise StoreUnavailable(f"{self._named} failed ({exc}).") from exc

    @contextmanager
    def _reading(self) -> Iterator[sqlite3.Connection]:
        with self._lock:
            try:
                yield self._conn
            except sqlite3.Error as exc:
                raise StoreUnavailable(f"{self._named} failed ({exc}).") from exc

    def close(self) -> None:
        with self._lock:
            self._conn.close()
