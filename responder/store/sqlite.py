"""The embedded state store: one SQLite file shared by every thread and process of the host.

Each thread reads on a connection of its own (SQLite connections must not be shared between
threads that use them at once); the writes of a process take turns on one connection, because a
connection drops its whole page cache whenever another connection has written since its last
transaction: with a writer per thread, every write read again each page it touched, where the
shared one finds them cached after the process's own writes. The file runs in WAL mode so
readers never wait for the writer;
``synchronous=NORMAL`` keeps commits cheap (a power cut may lose the last transactions, never
corrupt the file); a busy timeout makes concurrent writers queue instead of failing. Every
read-modify-write runs inside ``BEGIN IMMEDIATE``, which takes the single write lock before
the first read, so checks and the writes they guard are one atomic step across processes.

Times are stored as Unix float seconds. Reply budget entries older than the budget period of
the latest ``reserve_reply`` for that lead are forgotten at that call, so one deployment
should use one budget period; ``prune`` also removes entries older than
``max(retention, CLAIM_TTL)``.
"""

from __future__ import annotations

import os
import sqlite3
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager, nullcontext, suppress
from datetime import datetime, timedelta
from pathlib import Path

from responder.errors import StoreUnavailable
from responder.model import DecisionRecord, Job, Outcome, Sending
from responder.ports import CLAIM_TTL
from responder.queries import ActivityPage, ActivityQuery, Unanswered
from responder.store import sqlite_log
from responder.store import sqlite_sql as sql
from responder.store._convert import seconds, to_ts
from responder.store.sqlite_bursts import SCHEMA as BURST_SCHEMA
from responder.store.sqlite_bursts import SQLiteBursts
from responder.store.sqlite_leads import SQLiteLeads

# Below this much free space a write may fail half-way through a delivery: not ready.
MIN_FREE_BYTES = 16 * 1024 * 1024

# The write-ahead log is copied back into the file once it holds this many pages (SQLite's
# default is 1,000), by the writer whose commit crosses the mark. A delivery writes about 20
# pages, most of them the same few index pages again: at 1,000 a copy came every 50 or so
# deliveries, at 10,000 each page written many times between two copies is copied once. It
# takes a sixth off the pipeline's work per message (bench/gather.py: 0.57 to 0.47 ms), for a
# log of up to 40 MB beside the file.
CHECKPOINT_PAGES = 10_000

# Errors that point at a mistake in this code rather than at an unusable database.
_BUGS = (sqlite3.IntegrityError, sqlite3.ProgrammingError, sqlite3.InterfaceError)


class SQLiteStore(SQLiteLeads, SQLiteBursts):
    """The :class:`~responder.ports.Store` contract on one SQLite file.

    This module holds the connections, the claims and jobs, the decision log and upkeep;
    per-lead state is in :mod:`responder.store.sqlite_leads`, bursts in
    :mod:`responder.store.sqlite_bursts`.

    Opening creates the parent folder and the schema (idempotently, so several processes may
    open the same file at once). Raises :class:`StoreUnavailable` when the file cannot be
    created, opened or written, and from every method when SQLite fails or stays locked
    longer than ``busy_timeout`` seconds (a writer waits at most that long for the other
    writers of this process, then at most that long for those of other processes).
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        busy_timeout: float = 5.0,
        min_free_bytes: int = MIN_FREE_BYTES,
    ) -> None:
        self.path = Path(path)
        self._busy_timeout = busy_timeout
        self._min_free_bytes = min_free_bytes
        self._lock = threading.Lock()
        # Writers of this process queue here rather than in SQLite's busy handler, which
        # sleeps in steps of up to 100 ms and turns a burst of writes into a convoy.
        self._writer = threading.Lock()
        self._local = threading.local()
        self._conns: list[tuple[threading.Thread, sqlite3.Connection]] = []
        self._writing: sqlite3.Connection | None = None  # the writers' one, used under _writer
        # Connections inherited over fork() belong to the parent: never used nor closed here.
        self._inherited: list[sqlite3.Connection] = []
        self._pid = os.getpid()
        self._closed = False
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise StoreUnavailable(
                f"The state store folder {self.path.parent} cannot be created "
                f"({exc.strerror or exc}). Check the path and its permissions."
            ) from exc
        try:
            self._create_schema()
        except StoreUnavailable:
            self.close()
            raise

    # -- connections ------------------------------------------------------------------------

    def _conn(self) -> sqlite3.Connection:
        """This thread's connection, for reading."""
        self._check_fork()
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is not None:
            return conn
        conn = self._open()
        with self._lock:
            self._close_dead_threads()
            self._conns.append((threading.current_thread(), conn))
        self._local.conn = conn
        return conn

    def _write_conn(self) -> sqlite3.Connection:
        """The process's connection for writing; only called with ``_writer`` held."""
        if self._writing is None:
            conn = self._open()
            with self._lock:
                if self._closed:  # close() ran while this one was being opened
                    conn.close()
                    raise StoreUnavailable(f"The state store {self.path} has been closed.")
                self._writing = conn
        return self._writing

    def _open(self) -> sqlite3.Connection:
        if self._closed:
            raise StoreUnavailable(f"The state store {self.path} has been closed.")
        conn = sqlite3.connect(
            self.path,
            timeout=self._busy_timeout,
            isolation_level=None,  # transactions are opened explicitly
            check_same_thread=False,  # used by one thread at a time, not always the same one
            cached_statements=64,
        )
        try:
            conn.execute("PRAGMA synchronous=NORMAL")
            conn.execute(f"PRAGMA wal_autocheckpoint={CHECKPOINT_PAGES}")
        except sqlite3.Error:
            conn.close()
            raise
        return conn

    def _check_fork(self) -> None:
        if os.getpid() != self._pid:
            self._after_fork()

    def _close_dead_threads(self) -> None:
        """Close connections of threads that ended (their thread-local is gone with them)."""
        alive = []
        for thread, conn in self._conns:
            if thread.is_alive():
                alive.append((thread, conn))
            else:
                conn.close()
        self._conns = alive

    def _after_fork(self) -> None:
        # Only the forking thread survives fork(): the old lock may be held by a thread that
        # no longer exists, so it is replaced rather than taken.
        self._lock = threading.Lock()
        self._writer = threading.Lock()
        self._inherited.extend(conn for _, conn in self._conns)
        if self._writing is not None:
            self._inherited.append(self._writing)
            self._writing = None
        self._conns = []
        self._local = threading.local()
        self._pid = os.getpid()

    @contextmanager
    def _guard(self) -> Iterator[None]:
        try:
            yield
        except _BUGS:
            raise
        except sqlite3.DatabaseError as exc:
            raise StoreUnavailable(
                f"The state store {self.path} cannot be used right now ({exc}). Check that "
                "the file and its folder exist, are writable, and that the disk is not full."
            ) from exc

    @contextmanager
    def _queued(self) -> Iterator[None]:
        """This process's turn to write, waited for at most ``busy_timeout`` seconds.

        Else one stuck writer (another process holding the lock) would make the writers
        queued behind it wait their busy timeouts one after the other.
        """
        if not self._writer.acquire(timeout=self._busy_timeout):
            raise StoreUnavailable(
                f"The state store {self.path} stayed locked for more than "
                f"{self._busy_timeout:g} s; another process may be holding it."
            )
        try:
            yield
        finally:
            self._writer.release()

    @contextmanager
    def _tx(self, *, write: bool = True) -> Iterator[sqlite3.Connection]:
        """One transaction; ``write`` takes the write lock up front (BEGIN IMMEDIATE)."""
        self._check_fork()  # before taking _writer, which a fork replaces
        with self._guard(), self._queued() if write else nullcontext():
            conn = self._write_conn() if write else self._conn()
            conn.execute("BEGIN IMMEDIATE" if write else "BEGIN")
            try:
                yield conn
                conn.execute("COMMIT")
            except BaseException:
                # A failed COMMIT leaves the transaction open; the connection is reused.
                if conn.in_transaction:
                    with suppress(sqlite3.Error):
                        conn.execute("ROLLBACK")
                raise

    def _create_schema(self) -> None:
        with self._guard():
            conn = self._conn()
            # Persistent in the file; a no-op once set.
            conn.execute("PRAGMA journal_mode=WAL")
        with self._tx() as db:
            for statement in (*sql.SCHEMA, *BURST_SCHEMA):
                db.execute(statement)
            for table, column, declaration in sql.ADDED_COLUMNS:
                present = {row[1] for row in db.execute(f"PRAGMA table_info({table})")}
                if column not in present:
                    db.execute(f"ALTER TABLE {table} ADD COLUMN {column} {declaration}")
            for statement in sql.INDEXES:
                db.execute(statement)
            db.execute(f"PRAGMA user_version = {sql.SCHEMA_VERSION}")

    # -- claims and jobs ----------------------------------------------------------------------

    def accept(
        self,
        job: Job,
        *,
        owner: str,
        lease: timedelta,
        now: datetime,
        inbound_at: datetime | None = None,
    ) -> bool:
        at = to_ts(now)
        with self._tx() as db:
            claimed = db.execute(sql.CLAIM, (job.key, at))
            if claimed.rowcount == 0:
                return False
            if inbound_at is not None:
                ts = to_ts(inbound_at)
                db.execute(sql.NOTE_INBOUND, (job.lead.id, ts, ts))
            db.execute(
                "INSERT OR REPLACE INTO jobs (key, payload, owner, lease_until, attempts,"
                " sending) VALUES (?, ?, ?, ?, ?, ?)",
                (
                    job.key,
                    job.to_json(),
                    owner,
                    at + seconds(lease),
                    job.attempts,
                    job.sending.to_json() if job.sending else None,
                ),
            )
        return True

    def reclaim(
        self, *, owner: str, lease: timedelta, now: datetime, limit: int = 100
    ) -> list[Job]:
        at = to_ts(now)
        with self._tx() as db:
            rows = db.execute(sql.RECLAIM, (owner, at + seconds(lease), at, limit)).fetchall()
        return [
            Job.from_json(payload, attempts=attempts, sending=Sending.from_json(sending))
            for _, payload, attempts, sending in rows
        ]

    def renew(
        self, key: str, *, owner: str, attempts: int, lease: timedelta, now: datetime
    ) -> bool:
        with self._tx() as db:
            cur = db.execute(
                "UPDATE jobs SET lease_until = ? WHERE key = ? AND owner = ? AND attempts = ?",
                (to_ts(now) + seconds(lease), key, owner, attempts),
            )
        return cur.rowcount == 1

    def finish(self, record: DecisionRecord, *, pause_until: datetime | None = None) -> bool:
        with self._tx() as db:
            if pause_until is not None:
                db.execute(sql.PAUSE, (record.lead_id, to_ts(pause_until)))
            cur = db.execute(sql.INSERT_DECISION, sql.decision_row(record))
            if cur.rowcount == 0:
                return False
            db.execute("DELETE FROM jobs WHERE key = ?", (record.key,))
        return True

    def pending(self) -> int:
        with self._guard():
            (count,) = self._conn().execute("SELECT count(*) FROM jobs").fetchone()
        return int(count)

    # -- decision log -------------------------------------------------------------------------

    def decisions(
        self,
        *,
        lead_id: str | None = None,
        outcome: Outcome | None = None,
        rule: str | None = None,
        limit: int = 50,
    ) -> Sequence[DecisionRecord]:
        query = ActivityQuery(lead_id=lead_id, outcome=outcome, rule=rule, limit=limit)
        return list(self.activity(query).records)

    def activity(self, query: ActivityQuery) -> ActivityPage:
        """Pages are marked by the last decision's ``at`` and row number: a page never
        repeats or skips a decision, however many are recorded meanwhile."""
        with self._guard():
            return sqlite_log.activity(self._conn(), query)

    def unanswered(self, *, since: datetime | None = None, limit: int = 20) -> list[Unanswered]:
        with self._guard():
            return sqlite_log.unanswered(self._conn(), since=since, limit=limit)

    def decision(self, key: str) -> DecisionRecord | None:
        with self._guard():
            row = self._conn().execute(f"{sql.SELECT_DECISIONS} WHERE key = ?", (key,)).fetchone()
        return sqlite_log.decision(row) if row is not None else None

    # -- upkeep ---------------------------------------------------------------------------------

    def prune(self, *, now: datetime, retention: timedelta) -> int:
        at = to_ts(now)
        decisions_before = at - seconds(retention)
        claims_before = at - seconds(max(retention, CLAIM_TTL))
        removed = 0
        # Separate short transactions: pruning must not hold the write lock for long.
        with self._guard():
            db = self._conn()
            for sql, before in (
                ("DELETE FROM decisions WHERE at < ?", decisions_before),
                ("DELETE FROM claims WHERE claimed_at < ?", claims_before),
                ("DELETE FROM reply_budget WHERE at < ?", claims_before),
                ("DELETE FROM pauses WHERE until <= ?", at),
                ("DELETE FROM pause_changes WHERE at < ?", decisions_before),
            ):
                removed += db.execute(sql, (before,)).rowcount
        return removed

    def ping(self) -> None:
        with self._guard():
            self._conn().execute("SELECT count(*) FROM claims WHERE key = ''").fetchone()
        try:
            disk = os.statvfs(self.path.parent)
        except OSError as exc:
            reason = f"the store's folder cannot be checked ({exc.strerror})"
            raise StoreUnavailable(reason) from None
        free = disk.f_bavail * disk.f_frsize
        if free < self._min_free_bytes:
            raise StoreUnavailable(
                f"the disk holding the store is full ({free // 1024:,} KiB free): "
                "new deliveries could not be recorded"
            )

    def close(self) -> None:
        """Close every connection this store opened, in any thread. Calls after it fail."""
        with self._lock:
            self._closed = True
            conns, self._conns = self._conns, []
            for _, conn in conns:
                conn.close()
            if self._writing is not None:
                self._writing.close()
                self._writing = None
            self._local = threading.local()
