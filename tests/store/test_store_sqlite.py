"""What only the SQLite store does: store URLs, the file itself, processes, connections."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
import threading
from collections.abc import Callable
from contextlib import closing
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from responder.errors import ConfigError, StoreUnavailable
from responder.model import DecisionRecord, Job, Lead, Message, Outcome, Pause
from responder.ports import CLAIM_TTL
from responder.store import open_store
from responder.store._convert import from_ts
from responder.store.sqlite import CHECKPOINT_PAGES, SQLiteStore

T0 = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)
LEASE = timedelta(seconds=30)
ROOT = Path(__file__).resolve().parents[2]

OpenSQLite = Callable[[Path], SQLiteStore]


def make_job(key: str) -> Job:
    return Job(key=key, lead=Lead(id="lead-1"), message=Message(text="hi"), accepted_at=T0)


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("sqlite://{tmp}/a/b/state.db", "{tmp}/a/b/state.db"),
        ("sqlite:///{tmp}/four-slashes.db", "{tmp}/four-slashes.db"),
        ("sqlite:rel/state.db", "rel/state.db"),
        ("{tmp}/plain/state.db", "{tmp}/plain/state.db"),
        ("plain.db", "plain.db"),
    ],
)
def test_open_store_understands_sqlite_urls_and_creates_the_folder(
    url: str, expected: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    store = open_store(url.format(tmp=tmp_path))
    try:
        assert isinstance(store, SQLiteStore)
        assert store.path == Path(expected.format(tmp=tmp_path))
        assert store.accept(make_job("m1"), owner="a", lease=LEASE, now=T0) is True
        assert (tmp_path / expected.format(tmp=tmp_path)).is_file()
    finally:
        store.close()


@pytest.mark.parametrize(
    ("url", "says"),
    [
        ("", "empty"),
        ("postgres://db/responder", "no supported store"),
        ("sqlite://host/state.db", "no usable path"),
        ("sqlite::memory:", "names no file"),
        ("sqlite:", "names no file"),
    ],
)
def test_open_store_explains_urls_it_cannot_use(url: str, says: str) -> None:
    with pytest.raises(ConfigError, match=says):
        open_store(url)


def test_a_prefix_is_refused_for_sqlite(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="only applies to a Redis store"):
        open_store(str(tmp_path / "state.db"), prefix="x")


def test_a_folder_that_cannot_be_created_is_unavailable(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    with pytest.raises(StoreUnavailable, match=r"folder .* cannot be created"):
        SQLiteStore(blocker / "state.db")


def test_a_file_that_is_not_a_database_is_unavailable(tmp_path: Path) -> None:
    path = tmp_path / "state.db"
    path.write_bytes(b"this is not an SQLite database, just some text" * 100)
    with pytest.raises(StoreUnavailable, match="cannot be used right now"):
        SQLiteStore(path)


def test_the_file_uses_wal_and_keeps_data_across_reopening(
    tmp_path: Path, sqlite_store_factory: OpenSQLite
) -> None:
    path = tmp_path / "state.db"
    first = sqlite_store_factory(path)
    first.accept(make_job("m1"), owner="a", lease=LEASE, now=T0)
    first.close()

    second = sqlite_store_factory(path)
    assert second.accept(make_job("m1"), owner="a", lease=LEASE, now=T0) is False
    assert second.pending() == 1
    with closing(sqlite3.connect(path)) as raw:
        (mode,) = raw.execute("PRAGMA journal_mode").fetchone()
    assert mode == "wal"


def test_calls_after_close_are_refused(tmp_path: Path) -> None:
    store = SQLiteStore(tmp_path / "state.db")
    store.close()
    with pytest.raises(StoreUnavailable, match="has been closed"):
        store.pending()


def test_close_closes_the_connections_of_every_thread(tmp_path: Path) -> None:
    store = SQLiteStore(tmp_path / "state.db")
    ready = threading.Barrier(4)
    finish = threading.Event()

    def use() -> None:
        store.pending()
        ready.wait()
        finish.wait()

    threads = [threading.Thread(target=use) for _ in range(3)]
    for thread in threads:
        thread.start()
    ready.wait()
    connections = [conn for _, conn in store._conns]
    assert len(connections) == 4  # the opening thread's and one per worker thread
    assert store._writing is not None  # the writers' one, opened to create the schema
    connections.append(store._writing)
    store.close()
    finish.set()
    for thread in threads:
        thread.join()
    for conn in connections:
        with pytest.raises(sqlite3.ProgrammingError, match="closed"):
            conn.execute("SELECT 1")


def test_connections_of_finished_threads_are_closed(tmp_path: Path) -> None:
    store = SQLiteStore(tmp_path / "state.db")
    try:
        worker = threading.Thread(target=store.pending)
        worker.start()
        worker.join()
        (finished,) = [conn for thread, conn in store._conns if thread is worker]
        newcomer = threading.Thread(target=store.pending)  # opening its connection sweeps
        newcomer.start()
        newcomer.join()
        with pytest.raises(sqlite3.ProgrammingError, match="closed"):
            finished.execute("SELECT 1")
        assert worker not in [thread for thread, _ in store._conns]
    finally:
        store.close()


def test_the_writes_of_every_thread_go_through_one_connection(tmp_path: Path) -> None:
    """A connection forgets its cached pages whenever another one has written: writers that
    take turns on one connection find the pages of the process's own last write cached."""
    store = SQLiteStore(tmp_path / "state.db")
    try:
        accepted: list[bool] = []

        def write(i: int) -> None:
            store.pending()  # a read first: this thread's own connection exists
            accepted.append(store.accept(make_job(f"m{i}"), owner="a", lease=LEASE, now=T0))

        threads = [threading.Thread(target=write, args=(i,)) for i in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert accepted == [True] * 8
        assert store.pending() == 8
        assert store._writing is not None
        # Each accept changed two rows (its claim and its job), all of them on that connection.
        assert store._writing.total_changes == 16
        assert [conn.total_changes for _, conn in store._conns] == [0] * len(store._conns)
    finally:
        store.close()


def test_the_log_is_copied_back_only_once_it_holds_many_pages(tmp_path: Path) -> None:
    """Each page written many times between two copies into the file is copied once."""
    path = tmp_path / "state.db"
    store = SQLiteStore(path)
    try:
        (page,) = store._conn().execute("PRAGMA page_size").fetchone()
        frame = page + 24  # each page in the log has a header of its own
        for i in range(600):
            job = make_job(f"m{i}")
            store.accept(job, owner="a", lease=LEASE, now=T0, inbound_at=T0)
        frames = path.with_name("state.db-wal").stat().st_size // frame
        # SQLite's default would have copied the log back, and begun it again, at 1,000.
        assert 1_500 < frames < CHECKPOINT_PAGES
    finally:
        store.close()


@pytest.mark.skipif(not hasattr(os, "fork"), reason="fork() is POSIX only")
def test_a_forked_process_writes_on_a_connection_of_its_own(tmp_path: Path) -> None:
    """gunicorn forks its workers: a child never writes through its parent's connection."""
    store = SQLiteStore(tmp_path / "state.db")
    try:
        assert store.accept(make_job("parent"), owner="a", lease=LEASE, now=T0)
        inherited = store._writing
        read, write = os.pipe()
        child = os.fork()
        if child == 0:  # pragma: no cover - the child reports through the pipe
            try:
                took = store.accept(make_job("child"), owner="b", lease=LEASE, now=T0)
                own = store._writing is not None and store._writing is not inherited
                os.write(write, f"{took} {own} {store.pending()}".encode())
            finally:
                os._exit(0)
        os.close(write)
        _, status = os.waitpid(child, 0)
        with os.fdopen(read) as pipe:
            assert pipe.read() == "True True 2"
        assert os.waitstatus_to_exitcode(status) == 0
        assert store._writing is inherited  # the parent's own is untouched
        assert store.accept(make_job("child"), owner="a", lease=LEASE, now=T0) is False
    finally:
        store.close()


def test_prune_lets_a_key_be_accepted_again_once_its_claim_is_old_enough(
    tmp_path: Path, sqlite_store_factory: OpenSQLite
) -> None:
    store = sqlite_store_factory(tmp_path / "state.db")
    store.accept(make_job("m1"), owner="a", lease=LEASE, now=T0)
    store.finish(DecisionRecord(key="m1", lead_id="lead-1", outcome=Outcome.SENT, at=T0))
    later = T0 + CLAIM_TTL + timedelta(days=1)
    # A longer retention keeps the claim longer.
    assert store.prune(now=later, retention=timedelta(days=30)) == 0
    assert store.accept(make_job("m1"), owner="a", lease=LEASE, now=later) is False
    assert store.prune(now=later, retention=timedelta(days=1)) == 2  # the decision and claim
    assert store.accept(make_job("m1"), owner="a", lease=LEASE, now=later) is True


_CHILD = """
import sys
from datetime import UTC, datetime, timedelta
from responder.model import Job, Lead, Message
from responder.store.sqlite import CHECKPOINT_PAGES, SQLiteStore

path, owner = sys.argv[1], sys.argv[2]
now = datetime(2025, 3, 1, tzinfo=UTC)
jobs = [
    Job(key=f"m{i}", lead=Lead(id="lead-1"), message=Message(text=owner), accepted_at=now)
    for i in range(40)
]
store = SQLiteStore(path)
print("ready", flush=True)
sys.stdin.readline()
won = [j.key for j in jobs if store.accept(j, owner=owner, lease=timedelta(seconds=30), now=now)]
store.close()
print(" ".join(won), flush=True)
"""


def test_duplicates_from_several_processes_are_accepted_exactly_once(
    tmp_path: Path, sqlite_store_factory: OpenSQLite
) -> None:
    path = tmp_path / "shared" / "state.db"
    children = [
        subprocess.Popen(
            [sys.executable, "-c", _CHILD, str(path), f"process-{i}"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            cwd=ROOT,
        )
        for i in range(4)
    ]
    outputs = []
    try:
        for child in children:
            assert child.stdout is not None
            assert child.stdout.readline().strip() == "ready"
        for child in children:  # every process has the file open: start them together
            assert child.stdin is not None
            child.stdin.write("go\n")
            child.stdin.flush()
        for child in children:
            out, _ = child.communicate(timeout=60)
            assert child.returncode == 0
            outputs.append(out.split())
    finally:
        for child in children:
            if child.poll() is None:
                child.kill()
                child.communicate()

    won = [key for keys in outputs for key in keys]
    assert sorted(won) == sorted(f"m{i}" for i in range(40))
    assert sqlite_store_factory(path).pending() == 40


def test_ping_refuses_when_the_disk_is_too_full_to_record_a_delivery(tmp_path: Path) -> None:
    roomy = SQLiteStore(tmp_path / "state.db", min_free_bytes=0)
    cramped = SQLiteStore(tmp_path / "state.db", min_free_bytes=2**62)
    try:
        roomy.ping()
        with pytest.raises(StoreUnavailable, match="the disk holding the store is full"):
            cramped.ping()
    finally:
        roomy.close()
        cramped.close()


def test_a_file_from_before_the_release_column_is_upgraded_and_keeps_its_log(
    tmp_path: Path,
) -> None:
    path = tmp_path / "state.db"
    SQLiteStore(path).close()
    with closing(sqlite3.connect(path)) as db:  # the decisions table as version 1 made it
        db.executescript(
            "DROP TABLE decisions; CREATE TABLE decisions (seq INTEGER PRIMARY KEY, key TEXT "
            "NOT NULL UNIQUE, lead_id TEXT NOT NULL, outcome TEXT NOT NULL, rule TEXT NOT NULL,"
            " at REAL NOT NULL, reason TEXT NOT NULL, reply TEXT NOT NULL, message_id TEXT NOT "
            "NULL); INSERT INTO decisions VALUES (1, 'm0', 'L', 'sent', 'r', 0, '', 'hi', '');"
            "PRAGMA user_version = 1;"
        )
    store = SQLiteStore(path)
    try:
        store.finish(
            DecisionRecord("m1", "L", Outcome.SENT, datetime(2026, 12, 3, tzinfo=UTC), release=3)
        )
        assert [(r.key, r.release) for r in store.decisions()] == [("m1", 3), ("m0", None)]
    finally:
        store.close()


def test_a_file_from_before_the_message_text_is_upgraded_and_keeps_its_log(
    tmp_path: Path,
) -> None:
    path = tmp_path / "state.db"
    SQLiteStore(path).close()
    with closing(sqlite3.connect(path)) as db:  # the tables as version 2 made them
        db.executescript(
            "DROP TABLE decisions; DROP TABLE pauses; DROP TABLE pause_changes;"
            "CREATE TABLE decisions (seq INTEGER PRIMARY KEY, key TEXT NOT NULL UNIQUE, lead_id"
            " TEXT NOT NULL, outcome TEXT NOT NULL, rule TEXT NOT NULL, at REAL NOT NULL, reason"
            " TEXT NOT NULL, reply TEXT NOT NULL, message_id TEXT NOT NULL, release INTEGER);"
            "INSERT INTO decisions VALUES (1, 'm0', 'L', 'no_match', '', 0, '', '', '', 2);"
            "PRAGMA user_version = 2;"
        )
    store = SQLiteStore(path)
    try:
        at = datetime(2026, 12, 3, tzinfo=UTC)
        new = DecisionRecord(
            "m1", "L", Outcome.NO_MATCH, at, text="Parking?", normalized="parking", unmatched=True
        )
        store.finish(new)
        assert store.decisions() == [
            new,
            DecisionRecord("m0", "L", Outcome.NO_MATCH, from_ts(0), release=2),
        ]
        assert [(g.normalized, g.count) for g in store.unanswered()] == [("parking", 1)]
        store.put_pause(Pause("L", by="ana", at=at))
        assert store.lead_state("L").held_by(at) == Pause("L", by="ana", at=at)
    finally:
        store.close()


def test_a_file_from_before_the_language_column_is_upgraded_and_keeps_its_log(
    tmp_path: Path,
) -> None:
    path = tmp_path / "state.db"
    SQLiteStore(path).close()
    with closing(sqlite3.connect(path)) as db:  # the decisions table as version 3 made it
        db.executescript(
            "DROP TABLE decisions; CREATE TABLE decisions (seq INTEGER PRIMARY KEY, key TEXT "
            "NOT NULL UNIQUE, lead_id TEXT NOT NULL, outcome TEXT NOT NULL, rule TEXT NOT NULL,"
            " at REAL NOT NULL, reason TEXT NOT NULL, reply TEXT NOT NULL, message_id TEXT NOT "
            "NULL, release INTEGER, text TEXT NOT NULL DEFAULT '', normalized TEXT NOT NULL "
            "DEFAULT '', unmatched INTEGER NOT NULL DEFAULT 0); INSERT INTO decisions VALUES "
            "(1, 'm0', 'L', 'sent', 'r', 0, '', 'hi', '', 2, 'hello', 'hello', 0);"
            "PRAGMA user_version = 3;"
        )
    store = SQLiteStore(path)
    try:
        at = datetime(2026, 12, 3, tzinfo=UTC)
        store.finish(DecisionRecord("m1", "L", Outcome.SENT, at, reply="Hola", language="es"))
        assert [(r.key, r.text, r.language) for r in store.decisions()] == [
            ("m1", "", "es"),
            ("m0", "hello", ""),
        ]
        with closing(sqlite3.connect(path)) as db:
            assert db.execute("PRAGMA user_version").fetchone() == (4,)
    finally:
        store.close()
