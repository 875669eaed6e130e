"""Published rule books in the SQLite file of the state store.

``releases`` holds one row per release, its files as one JSON object; ``release_pointers``
holds ``live`` (the live number) and ``folder`` (the content hash of the last folder
release). A publish is one ``BEGIN IMMEDIATE`` transaction, so publishers in several
processes get distinct numbers and never a half-written release.
"""

from __future__ import annotations

import json
import os
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path

from responder.errors import StoreUnavailable
from responder.ports import RELEASES_KEPT
from responder.release import Release, ReleaseSource, content_hash

SCHEMA = (
    """CREATE TABLE IF NOT EXISTS releases (
        number INTEGER PRIMARY KEY,
        meta TEXT NOT NULL,
        files TEXT NOT NULL
    )""",
    """CREATE TABLE IF NOT EXISTS release_pointers (
        name TEXT PRIMARY KEY,
        value TEXT NOT NULL
    )""",
)
_META = "SELECT meta FROM releases"
_POINTER = "SELECT value FROM release_pointers WHERE name = ?"
_SET_POINTER = "INSERT OR REPLACE INTO release_pointers (name, value) VALUES (?, ?)"


class SQLiteReleases:
    """The :class:`~responder.ports.ReleaseStore` contract on one SQLite file.

    One connection per instance, used under a lock: releases are read when one is published
    and the live number once a second, so there is nothing to gain from more.
    """

    def __init__(self, path: str | os.PathLike[str], *, busy_timeout: float = 5.0) -> None:
        self.path = Path(path)
        self._lock = threading.Lock()
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._conn = sqlite3.connect(
                self.path, timeout=busy_timeout, isolation_level=None, check_same_thread=False
            )
        except (OSError, sqlite3.Error) as exc:
            raise StoreUnavailable(
                f"The release store {self.path} cannot be opened ({exc})."
            ) from exc
        with self._transaction() as conn:
            for statement in SCHEMA:
                conn.execute(statement)

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
                raise StoreUnavailable(f"The release store {self.path} failed ({exc}).") from exc

    @contextmanager
    def _reading(self) -> Iterator[sqlite3.Connection]:
        with self._lock:
            try:
                yield self._conn
            except sqlite3.Error as exc:
                raise StoreUnavailable(f"The release store {self.path} failed ({exc}).") from exc

    def publish(
        self,
        files: dict[str, str],
        *,
        author: str,
        source: ReleaseSource,
        note: str,
        report: str,
        now: datetime,
    ) -> Release | None:
        digest = content_hash(files)
        with self._transaction() as conn:
            if source is ReleaseSource.FOLDER:
                row = conn.execute(_POINTER, ("folder",)).fetchone()
                if row is not None and row[0] == digest:
                    return None
                conn.execute(_SET_POINTER, ("folder", digest))
            (last,) = conn.execute("SELECT COALESCE(MAX(number), 0) FROM releases").fetchone()
            release = Release(last + 1, now, author, source, note, digest, report, dict(files))
            conn.execute(
                "INSERT INTO releases (number, meta, files) VALUES (?, ?, ?)",
                (release.number, json.dumps(release.meta()), json.dumps(release.files)),
            )
            conn.execute(_SET_POINTER, ("live", str(release.number)))
            conn.execute(
                "DELETE FROM releases WHERE number <= ?", (release.number - RELEASES_KEPT,)
            )
        return release

    def live_number(self) -> int | None:
        with self._reading() as conn:
            row = conn.execute(_POINTER, ("live",)).fetchone()
        return int(row[0]) if row is not None else None

    def release(self, number: int) -> Release | None:
        with self._reading() as conn:
            row = conn.execute(
                "SELECT meta, files FROM releases WHERE number = ?", (number,)
            ).fetchone()
        if row is None:
            return None
        return Release.from_meta(json.loads(row[0]), json.loads(row[1]))

    def releases(self, limit: int = RELEASES_KEPT) -> list[Release]:
        with self._reading() as conn:
            rows = conn.execute(f"{_META} ORDER BY number DESC LIMIT ?", (limit,)).fetchall()
        return [Release.from_meta(json.loads(meta)) for (meta,) in rows]

    def close(self) -> None:
        with self._lock:
            self._conn.close()
