"""The serving processes' records in the SQLite file of the state store.

``instances`` holds one row per process: its name, when it was last heard from (Unix
seconds, to drop the old ones) and its record as JSON. A heartbeat is one ``BEGIN
IMMEDIATE`` transaction of an upsert and a delete over a table of a few rows. The table is
created beside the others as the release and account tables are (``CREATE TABLE IF NOT
EXISTS``), so the state store's schema version is not concerned.
"""

from __future__ import annotations

import json
import os
from datetime import datetime, timedelta

from responder.instances import Instance
from responder.store._convert import seconds, to_ts
from responder.store.sqlite_file import SQLiteFile

SCHEMA = (
    """CREATE TABLE IF NOT EXISTS instances (
        name TEXT PRIMARY KEY,
        seen_at REAL NOT NULL,
        data TEXT NOT NULL
    )""",
)


class SQLiteInstances(SQLiteFile):
    """The :class:`~responder.ports.InstanceStore` contract on one SQLite file."""

    def __init__(self, path: str | os.PathLike[str], *, busy_timeout: float = 5.0) -> None:
        super().__init__(path, what="the instance store", schema=SCHEMA, busy_timeout=busy_timeout)

    def heartbeat(self, instance: Instance, *, forget: timedelta) -> None:
        seen = to_ts(instance.seen_at)
        with self._transaction() as conn:
            conn.execute(
                "INSERT OR REPLACE INTO instances (name, seen_at, data) VALUES (?, ?, ?)",
                (instance.name, seen, json.dumps(instance.to_dict())),
            )
            conn.execute("DELETE FROM instances WHERE seen_at < ?", (seen - seconds(forget),))

    def instances(self, *, now: datetime, forget: timedelta) -> list[Instance]:
        with self._reading() as conn:
            rows = conn.execute(
                "SELECT data FROM instances WHERE seen_at >= ?", (to_ts(now) - seconds(forget),)
            ).fetchall()
        found = [Instance.from_dict(json.loads(data)) for (data,) in rows]
        return sorted(found, key=lambda i: (i.started_at, i.name))

    def leave(self, name: str) -> None:
        with self._transaction() as conn:
            conn.execute("DELETE FROM instances WHERE name = ?", (name,))
