"""Stores that cannot answer: every call gives StoreUnavailable within a bound, never hangs."""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from responder.errors import StoreUnavailable
from responder.model import Job, Lead, Message
from responder.ports import Store
from responder.store.redis_store import RedisStore
from responder.store.sqlite import SQLiteStore
from tests.harness import SilentServer

T0 = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)
LEASE = timedelta(seconds=30)
# What a webhook can afford before it answers 503: the store's whole call, retries included.
BOUND = 2.0

CALLS: dict[str, Callable[[Store], object]] = {
    "accept": lambda s: s.accept(make_job("m1"), owner="a", lease=LEASE, now=T0),
    "ping": lambda s: s.ping(),
    "pending": lambda s: s.pending(),
    "pause": lambda s: s.pause("lead-1", T0),
    "decision": lambda s: s.decision("m1"),
}


def make_job(key: str) -> Job:
    return Job(key=key, lead=Lead(id="lead-1"), message=Message(text="hi"), accepted_at=T0)


def timed(call: Callable[[], object]) -> float:
    """Seconds until ``call`` raised StoreUnavailable."""
    started = time.monotonic()
    with pytest.raises(StoreUnavailable):
        call()
    return time.monotonic() - started


@pytest.fixture
def silent() -> Iterator[SilentServer]:
    with SilentServer() as server:
        yield server


def test_opening_a_redis_that_never_answers_takes_a_moment_only(silent: SilentServer) -> None:
    started = time.monotonic()
    store = RedisStore(f"redis://127.0.0.1:{silent.port}/0")
    store.close()
    assert time.monotonic() - started < BOUND


@pytest.mark.parametrize("name", sorted(CALLS))
def test_every_call_to_a_redis_that_never_answers_gives_up_in_time(
    silent: SilentServer, name: str
) -> None:
    store = RedisStore(f"redis://127.0.0.1:{silent.port}/0")
    try:
        assert timed(lambda: CALLS[name](store)) < BOUND
        assert timed(lambda: CALLS[name](store)) < BOUND  # and again, on a new connection
    finally:
        store.close()


HOLD_LOCK = """
import sqlite3, sys, time
conn = sqlite3.connect(sys.argv[1], isolation_level=None)
conn.execute("BEGIN IMMEDIATE")
print("locked", flush=True)
sys.stdin.read()
"""


def test_a_sqlite_file_locked_by_another_process_gives_up_in_time(tmp_path: Path) -> None:
    path = tmp_path / "state.db"
    SQLiteStore(path).close()  # the schema exists
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLD_LOCK, str(path)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    store = SQLiteStore(path, busy_timeout=0.5)
    try:
        assert holder.stdout is not None and holder.stdout.readline() == "locked\n"
        # Writers of this process queue for the lock as well: none of them waits for long.
        with ThreadPoolExecutor(6) as pool:
            waits = list(pool.map(lambda _: timed(lambda: CALLS["accept"](store)), range(6)))
        assert max(waits) < BOUND
    finally:
        store.close()
        holder.communicate("")
