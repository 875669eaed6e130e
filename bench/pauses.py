"""What honouring people's pauses costs each delivery, beside the same reads without them.

Run ``python bench/pauses.py`` (under a minute; ``--rounds`` changes the count). The
pipeline reads the pauses of a lead and of everyone together with the lead's state, in
the calls it made before pauses existed: ``note_inbound`` (once per inbound message) and
``reserve_reply`` (once per reply). For each engine (SQLite in a temporary folder; Redis at
``--redis`` when one answers) it times, in the same run and alternating call by call:

* ``note_inbound``: the store's, against a reference that runs the statements (SQLite) or
  the script (Redis) of the same call without the pause lookup, and builds the same state;
* the guards of ``reserve_reply``: the check-and-set's reads (SQLite: the guards query; Redis:
  the script, for a lead whose rule is in cooldown so nothing is written), against the same
  without the pause check.

Each with no pauses stored, and with 1,000 other leads paused and a pause for everyone that
has ended. It prints median and p99 per call in microseconds, and the difference of medians.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # run as a script from anywhere
    sys.path.insert(0, str(ROOT))

import redis  # noqa: E402

from responder.model import EVERYONE, LeadState, Pause, Sending  # noqa: E402
from responder.ports import Store  # noqa: E402
from responder.store import redis_scripts, sqlite_sql  # noqa: E402
from responder.store._convert import from_ts, to_ts, ts_text  # noqa: E402
from responder.store.redis_leads import _lead_state  # noqa: E402
from responder.store.redis_store import RedisStore  # noqa: E402
from responder.store.sqlite import SQLiteStore  # noqa: E402

NOW = datetime(2026, 12, 3, 12, 0, tzinfo=UTC)
LEAD = "lead-measured"

# The statements and scripts as they were before pauses were read with them.
REFERENCE_GUARDS = """
    SELECT
        (SELECT paused_until FROM leads WHERE lead_id = :lead),
        (SELECT at FROM last_replies WHERE lead_id = :lead AND rule = :rule),
        (SELECT job_key FROM last_replies WHERE lead_id = :lead AND rule = :rule),
        (SELECT count(*) FROM reply_budget WHERE lead_id = :lead AND at > :window_start)
"""
REFERENCE_NOTE_INBOUND = redis_scripts.NOTE_INBOUND.replace(
    "return {redis.call('HGETALL', KEYS[1]), redis.call('HMGET', KEYS[2], 'p:' .. ARGV[2], 'p:*')}",
    "return redis.call('HGETALL', KEYS[1])",
)
_HELD_CHECK = """for _, held in ipairs(redis.call('HMGET', KEYS[4], 'u:' .. ARGV[11], 'u:*')) do
  if held and (held == '' or tonumber(ARGV[1]) < tonumber(held)) then
    return 'paused'
  end
end
"""
REFERENCE_RESERVE = redis_scripts.RESERVE.replace(_HELD_CHECK, "")


def timed(
    pair: tuple[Callable[[], object], Callable[[], object]], rounds: int
) -> list[list[float]]:
    """Alternate the two calls ``rounds`` times; the seconds each call took."""
    times: list[list[float]] = [[], []]
    for _ in range(rounds):
        for i, call in enumerate(pair):
            start = time.perf_counter()
            call()
            times[i].append(time.perf_counter() - start)
    return times


def report(name: str, times: list[list[float]]) -> None:
    def stats(values: list[float]) -> tuple[float, float]:
        ordered = sorted(values)
        return statistics.median(ordered) * 1e6, ordered[int(len(ordered) * 0.99)] * 1e6

    (ref_med, ref_p99), (new_med, new_p99) = stats(times[0]), stats(times[1])
    print(
        f"  {name:<34} reference {ref_med:7.1f} / {ref_p99:7.1f}   with pauses "
        f"{new_med:7.1f} / {new_p99:7.1f}   difference {new_med - ref_med:+6.1f} µs"
    )


def fill(store: Store) -> None:
    for n in range(1000):
        store.put_pause(Pause(f"lead-{n}", by="bench", at=NOW, until=NOW + timedelta(days=1)))
    store.put_pause(Pause(EVERYONE, by="bench", at=NOW - timedelta(days=2), until=NOW))


def prepare(store: Store) -> None:
    """The measured lead has been answered by 'faq' just now: its guards stop at cooldown."""
    store.note_inbound(LEAD, NOW)
    sending = Sending("faq", "hello", 1, NOW)
    store.reserve_reply(
        "job-0",
        LEAD,
        sending,
        cooldown=timedelta(hours=1),
        budget=100,
        budget_period=timedelta(hours=1),
    )


def sqlite_pairs(
    store: SQLiteStore,
) -> dict[str, tuple[Callable[[], object], Callable[[], object]]]:
    ts = to_ts(NOW)

    def reference_note() -> LeadState:
        with store._tx() as db:
            db.execute(sqlite_sql.NOTE_INBOUND, (LEAD, ts, ts))
            first, last, paused = db.execute(
                "SELECT first_seen, last_inbound, paused_until FROM leads WHERE lead_id = ?",
                (LEAD,),
            ).fetchone()
            replies = db.execute(
                "SELECT rule, at FROM last_replies WHERE lead_id = ?", (LEAD,)
            ).fetchall()
        return LeadState(
            first_seen=from_ts(first),
            last_inbound=from_ts(last),
            paused_until=from_ts(paused) if paused is not None else None,
            last_reply={rule: from_ts(at) for rule, at in replies},
        )

    params = {"lead": LEAD, "rule": "faq", "window_start": ts - 3600, "at": ts}

    def guards(statement: str) -> Callable[[], object]:
        def run() -> None:
            with store._tx() as db:
                db.execute(statement, params).fetchone()

        return run

    return {
        "note_inbound": (reference_note, lambda: store.note_inbound(LEAD, NOW)),
        "reserve_reply guards": (guards(REFERENCE_GUARDS), guards(sqlite_sql.GUARDS)),
    }


def redis_pairs(store: RedisStore) -> dict[str, tuple[Callable[[], object], Callable[[], object]]]:
    client = store._redis
    old_note = client.register_script(REFERENCE_NOTE_INBOUND)
    old_reserve = client.register_script(REFERENCE_RESERVE)
    new_reserve = client.register_script(redis_scripts.RESERVE)
    lead_key, pauses = f"{store.prefix}:lead:{LEAD}", f"{store.prefix}:pauses"
    at = to_ts(NOW)
    keys = [lead_key, f"{store.prefix}:budget:{LEAD}", f"{store.prefix}:job:job-1", pauses]
    args = [
        repr(at),
        "r:faq",
        repr(at - 3600),
        repr(at - 3600),
        100,
        "job-1|faq",
        3_600_000,
        "{}",
        "job-1",
        "3600",
        LEAD,
    ]

    def reference_note() -> LeadState:
        flat: list[str] = old_note(keys=[lead_key], args=[ts_text(NOW)])  # type: ignore[assignment]
        return _lead_state(dict(zip(flat[::2], flat[1::2], strict=True)))

    def check(script: Callable[..., object]) -> Callable[[], object]:
        def run() -> None:
            assert script(keys=keys, args=args) == "cooldown"

        return run

    return {
        "note_inbound": (reference_note, lambda: store.note_inbound(LEAD, NOW)),
        "reserve_reply guards": (check(old_reserve), check(new_reserve)),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5000)
    parser.add_argument("--redis", default="redis://127.0.0.1:6379/0")
    args = parser.parse_args()
    print("median / p99 per call, µs")
    with tempfile.TemporaryDirectory() as folder:
        for filled in (False, True):
            store = SQLiteStore(Path(folder) / f"state-{filled}.db")
            prepare(store)
            if filled:
                fill(store)
            print(f"SQLite, {'1,000 leads paused' if filled else 'no pauses'}")
            for name, pair in sqlite_pairs(store).items():
                report(name, timed(pair, args.rounds))
            store.close()
    try:
        redis.Redis.from_url(args.redis, socket_connect_timeout=1).ping()
    except redis.exceptions.RedisError as exc:
        print(f"Redis: skipped, none answers at {args.redis} ({exc})")
        return 0
    for filled in (False, True):
        prefix = f"bench-{uuid.uuid4().hex}"
        store = RedisStore(args.redis, prefix=prefix)
        try:
            prepare(store)
            if filled:
                fill(store)
            print(f"Redis, {'1,000 leads paused' if filled else 'no pauses'}")
            for name, pair in redis_pairs(store).items():
                report(name, timed(pair, args.rounds))
        finally:
            leftovers = list(store._redis.scan_iter(match=f"{prefix}:*"))
            if leftovers:
                store._redis.delete(*leftovers)
            store.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
