"""Published rule books in the SQLite file of the state store.

``releases`` holds one row per release, its files as one JSON object; ``release_pointers``
holds ``live`` (the live number) and ``folder`` (the content hash of the last folder
release). A publish is one ``BEGIN IMMEDIATE`` transaction, so publishers in several
processes get distinct numbers and never a half-written release.
"""

from __future__ import annotations

import json
import os
from datetime import datetime

from responder.ports import RELEASES_KEPT
from responder.release import Release, ReleaseSource, content_hash
from responder.store.sqlite_file import SQLiteFile

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


class SQLiteReleases(SQLiteFile):
    """The :class:`~responder.ports.ReleaseStore` contract on one SQLite file.

    One connection per instance, used under a lock: releases are read when one is published
    and the live number once a second, so there is nothing to gain from more.
    """

    def __init__(self, path: str | os.PathLike[str], *, busy_timeout: float = 5.0) -> None:
        super().__init__(path, what="the release store", schema=SCHEMA, busy_timeout=busy_timeout)

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
