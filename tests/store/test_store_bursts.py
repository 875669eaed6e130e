"""The Bursts half of the Store contract (``settings: gather``), on SQLite and on Redis."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

from responder.model import Outcome
from responder.ports import Seat, SeatRole, Store
from tests.store.test_store import LEASE, T0, make_job, record, run_together

SECOND = timedelta(seconds=1)
HOLD = T0 + timedelta(minutes=5)


def accepted(store: Store, *keys: str, lead: str = "lead-1") -> None:
    for key in keys:
        assert store.accept(make_job(key, lead=lead), owner="a", lease=LEASE, now=T0)


def join(
    store: Store, key: str, *, at: int = 0, may_open: bool = True, lead: str = "lead-1"
) -> Seat:
    now = T0 + at * SECOND
    return store.join_burst(key, lead, now=now, hold_until=HOLD, may_open=may_open)


def test_the_first_job_opens_a_burst_and_the_next_ones_join_it(store: Store) -> None:
    accepted(store, "m1", "m2", "m3")
    first = join(store, "m1")
    assert first.role is SeatRole.LEADER and first.opened_at == T0 and not first.closed
    second = join(store, "m2", at=1)
    third = join(store, "m3", at=2, may_open=False)
    assert (second.role, third.role) == (SeatRole.MEMBER, SeatRole.MEMBER)
    assert second.burst == third.burst == first.burst and second.leader == "m1"
    leader = store.burst_seat("m1")
    assert leader.role is SeatRole.LEADER and leader.last_at == T0 + 2 * SECOND
    assert [job.key for job in store.close_burst(first.burst)] == ["m1", "m2", "m3"]


def test_joining_again_gives_the_same_seat_and_changes_nothing(store: Store) -> None:
    accepted(store, "m1", "m2")
    opened = join(store, "m1")
    join(store, "m2", at=1)
    again = join(store, "m2", at=9)
    assert again.role is SeatRole.MEMBER and again.last_at == T0 + SECOND
    assert join(store, "m1", at=9) == store.burst_seat("m1")
    assert [job.key for job in store.close_burst(opened.burst)] == ["m1", "m2"]


def test_without_an_open_burst_a_job_that_may_not_open_one_stays_alone(store: Store) -> None:
    accepted(store, "m1")
    assert join(store, "m1", may_open=False).role is SeatRole.NONE
    assert store.burst_seat("m1").role is SeatRole.NONE


def test_a_job_not_in_the_store_is_gone(store: Store) -> None:
    assert join(store, "never-accepted").role is SeatRole.GONE


def test_a_job_after_the_close_opens_the_next_burst(store: Store) -> None:
    accepted(store, "m1", "m2")
    first = join(store, "m1")
    store.close_burst(first.burst)
    assert store.burst_seat("m1").closed
    nxt = join(store, "m2", at=1)
    assert nxt.role is SeatRole.LEADER and nxt.burst != first.burst


def test_bursts_are_per_lead(store: Store) -> None:
    accepted(store, "a1")
    accepted(store, "b1", lead="lead-2")
    assert join(store, "a1").role is SeatRole.LEADER
    assert join(store, "b1", lead="lead-2").role is SeatRole.LEADER


def test_joining_holds_the_job_for_the_whole_wait(store: Store) -> None:
    accepted(store, "m1", "m2")
    join(store, "m1")
    join(store, "m2", at=1)
    assert store.reclaim(owner="b", lease=LEASE, now=T0 + LEASE + SECOND) == []
    taken = store.reclaim(owner="b", lease=LEASE, now=HOLD + SECOND)
    assert sorted(job.key for job in taken) == ["m1", "m2"]


def test_concurrent_first_jobs_open_one_burst(store_factory: Callable[[], Store]) -> None:
    store = store_factory()
    keys = [f"m{i}" for i in range(8)]
    accepted(store, *keys)
    seats = run_together(8, lambda i: join(store_factory(), keys[i]))
    assert sorted(seat.role for seat in seats).count(SeatRole.LEADER) == 1
    assert len({seat.burst for seat in seats}) == 1


def test_finishing_a_burst_records_every_member_and_removes_it(store: Store) -> None:
    accepted(store, "m1", "m2", "m3")
    burst = join(store, "m1").burst
    join(store, "m2", at=1)
    join(store, "m3", at=2)
    store.close_burst(burst)
    records = [record(key, reason="together") for key in ("m1", "m2", "m3")]
    assert store.finish_burst(records)
    assert [store.decision(key) for key in ("m1", "m2", "m3")] == records
    assert store.pending() == 0
    assert store.burst_seat("m2").role is SeatRole.NONE
    assert not store.finish_burst(records)  # the leader's outcome is recorded: nothing changes


def test_finishing_a_burst_pauses_its_lead_in_the_same_step(store: Store) -> None:
    accepted(store, "m1", "m2", lead="lead-2")
    burst = join(store, "m1", lead="lead-2").burst
    join(store, "m2", at=1, lead="lead-2")
    store.close_burst(burst)
    records = [record(key, lead="lead-2") for key in ("m1", "m2")]
    until = T0 + timedelta(hours=24)
    assert store.finish_burst(records, pause_until=until)
    assert store.lead_state("lead-2").paused_until == until
    assert store.lead_state("lead-1").paused_until is None
    later = until + timedelta(hours=1)
    assert not store.finish_burst(records, pause_until=later)  # recorded: only the pause
    assert store.lead_state("lead-2").paused_until == later
    assert [store.decision(key) for key in ("m1", "m2")] == records


def test_finishing_a_burst_changes_nothing_once_the_leader_is_recorded(store: Store) -> None:
    accepted(store, "m1", "m2")
    join(store, "m1")
    join(store, "m2", at=1)
    assert store.finish(record("m1", outcome=Outcome.FAILED))
    assert not store.finish_burst([record("m1"), record("m2")])
    assert store.decision("m2") is None and store.pending() == 1


def test_a_member_finished_alone_is_left_out_of_the_close(store: Store) -> None:
    accepted(store, "m1", "m2")
    burst = join(store, "m1").burst
    join(store, "m2", at=1)
    assert store.finish(record("m2", outcome=Outcome.FAILED))
    assert [job.key for job in store.close_burst(burst)] == ["m1"]
    assert store.finish_burst([record("m1"), record("m2")])
    decided = store.decision("m2")
    assert decided is not None and decided.outcome is Outcome.FAILED  # left as it was
