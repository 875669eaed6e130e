"""The Store contract, run against every engine (SQLite and Redis) through one suite."""

from __future__ import annotations

import socket
import threading
import uuid
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TypeVar

import pytest

from responder.errors import StoreUnavailable
from responder.model import DecisionRecord, Job, Lead, LeadState, Message, Outcome, Sending
from responder.ports import CLAIM_TTL, Store
from responder.store import open_store

T0 = datetime(2025, 3, 1, 12, 0, 0, 123456, tzinfo=UTC)
LEASE = timedelta(seconds=30)
HOUR = timedelta(hours=1)
R = TypeVar("R")


def make_job(key: str, *, lead: str = "lead-1", text: str = "hello") -> Job:
    return Job(
        key=key,
        lead=Lead(id=lead, name="Ana Souza", tags=("vip",), custom_fields={"plan": "gold"}),
        message=Message(text=text, channel="whatsapp", received_at=T0, id=key),
        accepted_at=T0,
        delivery_id=f"d-{key}",
    )


def record(
    key: str,
    *,
    at: datetime = T0,
    lead: str = "lead-1",
    outcome: Outcome = Outcome.SENT,
    **fields: str,
) -> DecisionRecord:
    return DecisionRecord(key=key, lead_id=lead, outcome=outcome, at=at, **fields)


def run_together(count: int, work: Callable[[int], R]) -> list[R]:
    """Run ``work(i)`` for i in range(count) in threads that all start at the same moment."""
    barrier = threading.Barrier(count)
    results: list[R | None] = [None] * count
    errors: list[BaseException] = []

    def body(i: int) -> None:
        try:
            barrier.wait()
            results[i] = work(i)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=body, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if errors:
        raise errors[0]
    return results  # type: ignore[return-value]


def reserve(
    store: Store,
    rule: str,
    now: datetime,
    *,
    lead: str = "lead-1",
    cooldown: timedelta = HOUR,
    budget: int = 10,
    period: timedelta = timedelta(days=1),
    job: str | None = None,
) -> Outcome | None:
    """Reserve for a job named after the rule and time unless ``job`` is given."""
    return store.reserve_reply(
        job or f"{rule}@{now.isoformat()}#{uuid.uuid4().hex[:6]}",
        lead,
        Sending(rule, f"reply of {rule}", 123, now),
        cooldown=cooldown,
        budget=budget,
        budget_period=period,
    )


# -- claims and jobs ---------------------------------------------------------------------------


def test_accept_claims_once_and_refuses_the_duplicate_without_persisting_it(store: Store) -> None:
    assert store.accept(make_job("m1", text="first"), owner="a", lease=LEASE, now=T0) is True
    duplicate = make_job("m1", text="second")
    assert store.accept(duplicate, owner="b", lease=LEASE, now=T0 + LEASE) is False
    assert store.pending() == 1

    (job,) = store.reclaim(owner="c", lease=LEASE, now=T0 + 3 * LEASE)
    assert job.message.text == "first"
    assert job.attempts == 1


def test_accepted_job_comes_back_whole(store: Store) -> None:
    original = make_job("m1")
    store.accept(original, owner="a", lease=LEASE, now=T0)
    (job,) = store.reclaim(owner="b", lease=LEASE, now=T0 + 2 * LEASE)
    assert job == replace(original, attempts=1)


def test_duplicate_deliveries_from_20_threads_are_accepted_exactly_once(
    store_factory: Callable[[], Store],
) -> None:
    handles = [store_factory() for _ in range(2)]

    def deliver(i: int) -> bool:
        job = make_job("dup", text=f"copy {i}")
        return handles[i % 2].accept(job, owner=f"worker-{i}", lease=LEASE, now=T0)

    assert sorted(run_together(20, deliver)) == [False] * 19 + [True]
    assert handles[0].pending() == 1


def test_reclaim_leaves_leased_jobs_alone(store: Store) -> None:
    store.accept(make_job("m1"), owner="a", lease=LEASE, now=T0)
    assert store.reclaim(owner="b", lease=LEASE, now=T0) == []
    assert store.reclaim(owner="b", lease=LEASE, now=T0 + LEASE - timedelta(seconds=1)) == []
    assert store.reclaim(owner="b", lease=LEASE, now=T0 + LEASE) == []


def test_reclaim_takes_over_an_expired_job_with_its_reserved_reply(store: Store) -> None:
    store.accept(make_job("m1"), owner="a", lease=LEASE, now=T0)
    assert reserve(store, "faq", T0, job="m1") is None
    later = T0 + LEASE + timedelta(seconds=1)

    (job,) = store.reclaim(owner="b", lease=LEASE, now=later)
    sending = Sending("faq", "reply of faq", 123, T0)
    assert (job.key, job.attempts, job.sending) == ("m1", 1, sending)
    # Now leased to b: nobody else gets it until that lease runs out too.
    assert store.reclaim(owner="c", lease=LEASE, now=later + LEASE - timedelta(seconds=1)) == []
    assert store.renew("m1", owner="a", attempts=0, lease=LEASE, now=later) is False
    assert store.renew("m1", owner="b", attempts=1, lease=LEASE, now=later) is True

    (again,) = store.reclaim(owner="c", lease=LEASE, now=later + 2 * LEASE)
    assert (again.attempts, again.sending) == (2, sending)


def test_reclaim_respects_its_limit(store: Store) -> None:
    for i in range(5):
        store.accept(make_job(f"m{i}"), owner="a", lease=LEASE, now=T0)
    later = T0 + 2 * LEASE
    first = store.reclaim(owner="b", lease=LEASE, now=later, limit=3)
    rest = store.reclaim(owner="b", lease=LEASE, now=later, limit=3)
    assert (len(first), len(rest)) == (3, 2)
    assert {j.key for j in first + rest} == {f"m{i}" for i in range(5)}


def test_concurrent_reclaimers_never_get_the_same_job(store_factory: Callable[[], Store]) -> None:
    handles = [store_factory() for _ in range(2)]
    keys = {f"m{i}" for i in range(60)}
    for key in keys:
        handles[0].accept(make_job(key), owner="dead", lease=LEASE, now=T0)
    later = T0 + 2 * LEASE

    def drain(i: int) -> list[str]:
        taken: list[str] = []
        for _ in range(len(keys)):  # bounded: a broken lease check must not loop forever
            batch = handles[i % 2].reclaim(owner=f"r{i}", lease=LEASE, now=later, limit=4)
            if not batch:
                break
            taken.extend(job.key for job in batch)
        return taken

    taken = [key for batch in run_together(6, drain) for key in batch]
    assert sorted(taken) == sorted(keys)


def test_renew_extends_only_the_owners_lease(store: Store) -> None:
    store.accept(make_job("m1"), owner="a", lease=LEASE, now=T0)
    later = T0 + timedelta(seconds=20)
    assert store.renew("m1", owner="a", attempts=0, lease=LEASE, now=later) is True
    assert store.renew("m1", owner="b", attempts=0, lease=LEASE, now=later) is False
    assert store.renew("unknown", owner="a", attempts=0, lease=LEASE, now=T0) is False

    assert store.reclaim(owner="b", lease=LEASE, now=T0 + timedelta(seconds=45)) == []
    (job,) = store.reclaim(owner="b", lease=LEASE, now=T0 + timedelta(seconds=51))
    assert job.key == "m1"


def test_a_copy_superseded_by_a_reclaim_of_the_same_owner_cannot_renew(store: Store) -> None:
    store.accept(make_job("m1"), owner="a", lease=LEASE, now=T0)
    (job,) = store.reclaim(owner="a", lease=LEASE, now=T0 + 2 * LEASE)
    assert job.attempts == 1
    now = T0 + 2 * LEASE
    assert store.renew("m1", owner="a", attempts=0, lease=LEASE, now=now) is False  # stale copy
    assert store.renew("m1", owner="a", attempts=1, lease=LEASE, now=now) is True


def test_finish_records_the_outcome_removes_the_job_and_is_idempotent(store: Store) -> None:
    store.accept(make_job("m1"), owner="a", lease=LEASE, now=T0)
    first = record("m1", rule="greeting", reply="Hi Ana", message_id="m1")
    assert store.finish(first) is True
    assert store.pending() == 0
    assert store.decision("m1") == first
    assert store.reclaim(owner="b", lease=LEASE, now=T0 + timedelta(days=1)) == []
    assert store.renew("m1", owner="a", attempts=0, lease=LEASE, now=T0) is False

    assert store.finish(record("m1", outcome=Outcome.FAILED, reason="again")) is False
    assert store.decision("m1") == first
    assert list(store.decisions()) == [first]


def test_finish_pauses_the_lead_in_the_same_step_even_when_recorded_already(
    store: Store,
) -> None:
    store.accept(make_job("m1"), owner="a", lease=LEASE, now=T0)
    store.pause("lead-1", T0 + 2 * HOUR)
    sent = record("m1", rule="handoff", reply="A person will answer")
    assert store.finish(sent, pause_until=T0 + HOUR) is True
    assert store.decision("m1") == sent and store.pending() == 0
    assert store.lead_state("lead-1").paused_until == T0 + 2 * HOUR  # never shortened
    # A copy whose reply also went out: its record is dropped, its pause still counts.
    assert store.finish(sent, pause_until=T0 + 3 * HOUR) is False
    assert store.lead_state("lead-1").paused_until == T0 + 3 * HOUR
    assert store.finish(record("m2", lead="lead-2")) is True
    assert store.lead_state("lead-2").paused_until is None


def test_finish_after_a_takeover_counts_once(store: Store) -> None:
    store.accept(make_job("m1"), owner="a", lease=LEASE, now=T0)
    store.reclaim(owner="b", lease=LEASE, now=T0 + 2 * LEASE)
    results = [store.finish(record("m1", outcome=o)) for o in (Outcome.SENT, Outcome.FAILED)]
    assert results == [True, False]
    assert store.decision("m1") is not None
    assert store.decision("m1").outcome is Outcome.SENT  # type: ignore[union-attr]


def test_reserving_again_for_the_same_job_takes_nothing_more(store: Store) -> None:
    assert reserve(store, "faq", T0, budget=1, job="m1") is None
    assert reserve(store, "faq", T0 + timedelta(seconds=1), budget=1, job="m1") is None
    assert store.lead_state("lead-1").last_reply == {"faq": T0}
    assert reserve(store, "other", T0 + timedelta(seconds=2), budget=1, job="m2") is Outcome.BUDGET


def test_reserving_for_an_unknown_job_creates_no_job(store: Store) -> None:
    assert reserve(store, "faq", T0, job="ghost") is None
    assert store.pending() == 0
    assert store.reclaim(owner="b", lease=LEASE, now=T0 + timedelta(days=1)) == []


def test_pending_counts_jobs_without_an_outcome(store: Store) -> None:
    assert store.pending() == 0
    for i in range(3):
        store.accept(make_job(f"m{i}"), owner="a", lease=LEASE, now=T0)
    store.accept(make_job("m0"), owner="a", lease=LEASE, now=T0)
    assert store.pending() == 3
    store.finish(record("m1"))
    assert store.pending() == 2


def test_decision_of_an_unknown_key_is_none(store: Store) -> None:
    assert store.decision("nothing") is None


def test_a_decision_keeps_the_release_it_was_made_with(store: Store) -> None:
    store.finish(replace(record("m1"), release=7))
    store.finish(record("m2"))
    assert [(r.key, r.release) for r in store.decisions()] == [("m2", None), ("m1", 7)]
    assert store.decision("m1") == replace(record("m1"), release=7)


def test_a_decision_keeps_the_language_of_its_reply(store: Store) -> None:
    store.finish(record("m1", reply="¡Hola!", language="es"))
    store.finish(record("m2"))
    assert [(r.key, r.language) for r in store.decisions()] == [("m2", ""), ("m1", "es")]
    assert store.decision("m1") == record("m1", reply="¡Hola!", language="es")


def test_a_reservation_keeps_the_language_of_its_reply(store: Store) -> None:
    sending = Sending("hours", "Abrimos a las 9.", 123, reserved_at=T0, language="es")
    store.accept(make_job("m1"), owner="a", lease=LEASE, now=T0)
    reserved = store.reserve_reply(
        "m1", "lead-1", sending, cooldown=timedelta(0), budget=5, budget_period=timedelta(hours=1)
    )
    assert reserved is None
    [job] = store.reclaim(owner="b", lease=LEASE, now=T0 + LEASE * 2)
    assert job.sending is not None and job.sending.language == "es"


def test_a_reservation_keeps_the_release_it_was_decided_with(store: Store) -> None:
    sending = Sending("hours", "We open at 9.", 123, reserved_at=T0, release=4)
    store.accept(make_job("m1"), owner="a", lease=LEASE, now=T0)
    assert (
        store.reserve_reply(
            "m1",
            "lead-1",
            sending,
            cooldown=timedelta(0),
            budget=5,
            budget_period=timedelta(hours=1),
        )
        is None
    )
    [job] = store.reclaim(owner="b", lease=LEASE, now=T0 + LEASE * 2)
    assert job.sending == sending


# -- per-lead state ----------------------------------------------------------------------------


def test_unknown_lead_has_an_empty_state(store: Store) -> None:
    assert store.lead_state("nobody") == LeadState()


def test_note_inbound_keeps_the_earliest_and_the_latest_time(store: Store) -> None:
    assert store.note_inbound("lead-1", T0) == LeadState(first_seen=T0, last_inbound=T0)
    store.note_inbound("lead-1", T0 + HOUR)
    state = store.note_inbound("lead-1", T0 - HOUR)
    assert (state.first_seen, state.last_inbound) == (T0 - HOUR, T0 + HOUR)
    store.note_inbound("lead-1", T0 + timedelta(minutes=5))
    assert store.lead_state("lead-1") == LeadState(first_seen=T0 - HOUR, last_inbound=T0 + HOUR)
    assert store.lead_state("lead-2") == LeadState()


def test_accept_folds_the_inbound_time_it_is_given_into_the_lead(store: Store) -> None:
    later = T0 + HOUR
    assert store.accept(make_job("m1"), owner="a", lease=LEASE, now=later, inbound_at=T0)
    assert store.lead_state("lead-1") == LeadState(first_seen=T0, last_inbound=T0)
    store.accept(make_job("m2"), owner="a", lease=LEASE, now=later, inbound_at=later)
    store.accept(make_job("m3"), owner="a", lease=LEASE, now=later, inbound_at=T0 - HOUR)
    assert store.lead_state("lead-1") == LeadState(first_seen=T0 - HOUR, last_inbound=later)
    # The same fold as note_inbound's: the two agree whichever wrote first.
    assert store.note_inbound("lead-1", T0) == LeadState(first_seen=T0 - HOUR, last_inbound=later)
    assert store.pending() == 3


def test_accept_without_an_inbound_time_leaves_the_lead_alone(store: Store) -> None:
    assert store.accept(make_job("m1"), owner="a", lease=LEASE, now=T0)
    assert store.lead_state("lead-1") == LeadState()


def test_a_duplicate_accept_folds_nothing_into_the_lead(store: Store) -> None:
    assert store.accept(make_job("m1"), owner="a", lease=LEASE, now=T0, inbound_at=T0)
    again = T0 + HOUR
    assert not store.accept(make_job("m1"), owner="b", lease=LEASE, now=again, inbound_at=again)
    earlier = T0 - HOUR
    assert not store.accept(make_job("m1"), owner="b", lease=LEASE, now=T0, inbound_at=earlier)
    assert store.lead_state("lead-1") == LeadState(first_seen=T0, last_inbound=T0)


def test_pause_never_shortens_an_existing_pause(store: Store) -> None:
    store.pause("lead-1", T0 + 2 * HOUR)
    store.pause("lead-1", T0 + HOUR)
    assert store.lead_state("lead-1").paused_until == T0 + 2 * HOUR
    store.pause("lead-1", T0 + 3 * HOUR)
    assert store.lead_state("lead-1").paused_until == T0 + 3 * HOUR


def test_pause_keeps_the_rest_of_the_state(store: Store) -> None:
    store.note_inbound("lead-1", T0)
    reserve(store, "faq", T0)
    store.pause("lead-1", T0 + HOUR)
    assert store.lead_state("lead-1") == LeadState(
        first_seen=T0, last_inbound=T0, paused_until=T0 + HOUR, last_reply={"faq": T0}
    )


def test_reserve_reply_takes_the_slot_and_records_the_reply_time(store: Store) -> None:
    assert reserve(store, "faq", T0) is None
    assert store.lead_state("lead-1").last_reply == {"faq": T0}
    assert reserve(store, "price", T0 + timedelta(minutes=1)) is None
    assert store.lead_state("lead-1").last_reply == {
        "faq": T0,
        "price": T0 + timedelta(minutes=1),
    }


def test_reserve_reply_checks_pause_then_cooldown_then_budget(store: Store) -> None:
    assert reserve(store, "faq", T0, budget=1) is None
    store.pause("lead-1", T0 + timedelta(minutes=10))
    # All three guards fail: the pause is reported.
    assert reserve(store, "faq", T0 + timedelta(minutes=5), budget=1) is Outcome.PAUSED
    # Pause over, cooldown and budget fail: the cooldown is reported.
    assert reserve(store, "faq", T0 + timedelta(minutes=20), budget=1) is Outcome.COOLDOWN
    # Another rule has no cooldown; only the budget is left.
    assert reserve(store, "price", T0 + timedelta(minutes=20), budget=1) is Outcome.BUDGET
    assert store.lead_state("lead-1").last_reply == {"faq": T0}
    # A day later the budget has room again.
    assert reserve(store, "price", T0 + timedelta(days=1, minutes=1), budget=1) is None


def test_pause_ends_at_its_time(store: Store) -> None:
    store.pause("lead-1", T0 + HOUR)
    assert reserve(store, "faq", T0 + HOUR - timedelta(microseconds=1)) is Outcome.PAUSED
    assert reserve(store, "faq", T0 + HOUR) is None


def test_cooldown_is_per_rule_and_ends_after_its_length(store: Store) -> None:
    assert reserve(store, "faq", T0) is None
    assert reserve(store, "faq", T0 + HOUR - timedelta(seconds=1)) is Outcome.COOLDOWN
    assert reserve(store, "faq", T0 + HOUR, lead="lead-2") is None
    assert reserve(store, "faq", T0 + HOUR) is None


def test_a_zero_cooldown_never_blocks_even_against_a_later_clock(store: Store) -> None:
    assert reserve(store, "faq", T0 + timedelta(seconds=5), cooldown=timedelta(0)) is None
    # Another process, whose clock is a little behind, reserves the same rule.
    assert reserve(store, "faq", T0, cooldown=timedelta(0)) is None


def test_budget_window_slides(store: Store) -> None:
    def at(minutes: int) -> Outcome | None:
        now = T0 + timedelta(minutes=minutes)
        return reserve(store, f"rule-{minutes}", now, cooldown=timedelta(0), budget=2, period=HOUR)

    assert at(0) is None
    assert at(30) is None
    assert at(45) is Outcome.BUDGET
    assert at(61) is None  # the reply of minute 0 left the window
    assert at(62) is Outcome.BUDGET  # minutes 30 and 61 are in it
    assert at(91) is None


def test_budget_counts_per_lead(store: Store) -> None:
    assert reserve(store, "faq", T0, budget=1) is None
    assert reserve(store, "faq", T0, budget=1, lead="lead-2") is None
    assert reserve(store, "price", T0, budget=1) is Outcome.BUDGET


def test_concurrent_reservations_for_one_lead_and_rule_let_exactly_one_through(
    store_factory: Callable[[], Store],
) -> None:
    handles = [store_factory() for _ in range(2)]
    now = T0 + timedelta(minutes=1)
    results = run_together(20, lambda i: reserve(handles[i % 2], "faq", now))
    assert results.count(None) == 1
    assert results.count(Outcome.COOLDOWN) == 19


def test_concurrent_reservations_never_overspend_the_budget(
    store_factory: Callable[[], Store],
) -> None:
    handles = [store_factory() for _ in range(2)]
    results = run_together(
        20, lambda i: reserve(handles[i % 2], f"rule-{i}", T0, cooldown=timedelta(0), budget=3)
    )
    assert results.count(None) == 3
    assert results.count(Outcome.BUDGET) == 17


def test_release_reply_undoes_the_reservation(store: Store) -> None:
    assert reserve(store, "faq", T0, budget=1, job="m1") is None
    store.release_reply("m1", "lead-1", "faq")
    assert store.lead_state("lead-1").last_reply == {}
    # Neither the cooldown nor the budget slot are held any more.
    assert reserve(store, "faq", T0 + timedelta(seconds=1), budget=1) is None


def test_release_reply_leaves_a_newer_reservation_alone_but_returns_the_slot(
    store: Store,
) -> None:
    assert reserve(store, "faq", T0, budget=2, job="m1") is None
    assert reserve(store, "faq", T0 + 2 * HOUR, budget=2, job="m2") is None
    assert reserve(store, "price", T0 + 3 * HOUR, budget=2) is Outcome.BUDGET

    store.release_reply("m1", "lead-1", "faq")
    assert store.lead_state("lead-1").last_reply == {"faq": T0 + 2 * HOUR}
    assert reserve(store, "price", T0 + 3 * HOUR, budget=2) is None


def test_release_reply_of_another_rule_changes_nothing(store: Store) -> None:
    assert reserve(store, "faq", T0, budget=1, job="m1") is None
    store.release_reply("m1", "lead-1", "price")
    assert store.lead_state("lead-1").last_reply == {"faq": T0}
    assert reserve(store, "price", T0 + timedelta(seconds=1), budget=1) is Outcome.BUDGET


# -- decision log ------------------------------------------------------------------------------


def fill_log(store: Store) -> list[DecisionRecord]:
    specs = [
        ("lead-1", Outcome.SENT, "greeting"),
        ("lead-2", Outcome.NO_MATCH, ""),
        ("lead-1", Outcome.COOLDOWN, "greeting"),
        ("lead-2", Outcome.SENT, "price"),
        ("lead-1", Outcome.SENT, "price"),
        ("lead-3", Outcome.FAILED, "price"),
    ]
    records = [
        record(f"m{i}", at=T0 + timedelta(minutes=i), lead=lead, outcome=outcome, rule=rule)
        for i, (lead, outcome, rule) in enumerate(specs)
    ]
    for rec in records:
        assert store.finish(rec) is True
    return records


def test_decisions_come_newest_first(store: Store) -> None:
    records = fill_log(store)
    assert list(store.decisions()) == records[::-1]
    assert list(store.decisions(limit=2)) == records[:3:-1]


def test_decisions_filter_by_lead_outcome_and_rule(store: Store) -> None:
    r = fill_log(store)
    assert list(store.decisions(lead_id="lead-1")) == [r[4], r[2], r[0]]
    assert list(store.decisions(outcome=Outcome.SENT)) == [r[4], r[3], r[0]]
    assert list(store.decisions(rule="price")) == [r[5], r[4], r[3]]
    assert list(store.decisions(lead_id="lead-1", outcome=Outcome.SENT, rule="price")) == [r[4]]
    assert list(store.decisions(lead_id="lead-1", limit=1)) == [r[4]]
    assert list(store.decisions(lead_id="lead-9")) == []


def test_decisions_page_through_a_long_log(store: Store) -> None:
    for i in range(450):
        lead = "rare" if i % 150 == 0 else "common"
        store.finish(record(f"m{i}", at=T0 + timedelta(seconds=i), lead=lead))
    rare = store.decisions(lead_id="rare", limit=10)
    assert [d.key for d in rare] == ["m300", "m150", "m0"]
    assert [d.key for d in store.decisions(limit=3)] == ["m449", "m448", "m447"]


# -- upkeep ------------------------------------------------------------------------------------


def test_prune_deletes_old_decisions_and_keeps_recent_ones_and_claims(store: Store) -> None:
    store.accept(make_job("m1"), owner="a", lease=LEASE, now=T0)
    store.finish(record("m1", at=T0))
    store.finish(record("m2", at=T0 + timedelta(days=1)))
    store.finish(record("m3", at=T0 + timedelta(days=3)))

    now = T0 + timedelta(days=4)
    removed = store.prune(now=now, retention=timedelta(days=2))
    assert removed >= 2
    assert [d.key for d in store.decisions()] == ["m3"]
    assert store.decision("m1") is None
    assert store.decision("m3") is not None
    assert store.prune(now=now, retention=timedelta(days=2)) == 0
    # Claims outlive the retention until CLAIM_TTL: the message still counts as seen.
    assert now - T0 < CLAIM_TTL
    assert store.accept(make_job("m1"), owner="a", lease=LEASE, now=now) is False


def test_ping_answers(store: Store) -> None:
    store.ping()


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.mark.parametrize("engine", ["sqlite", "redis"])
def test_unreachable_engine_raises_store_unavailable(engine: str, tmp_path: Path) -> None:
    if engine == "sqlite":
        with pytest.raises(StoreUnavailable, match="cannot be used"):
            open_store(f"sqlite:///{tmp_path}")  # a folder, not a file SQLite can open
        return
    # A Redis that is down when the service starts is not fatal; every call says so.
    store = open_store(f"redis://127.0.0.1:{_closed_port()}/0")
    try:
        with pytest.raises(StoreUnavailable, match="cannot be reached"):
            store.ping()
        with pytest.raises(StoreUnavailable, match="cannot be reached"):
            store.accept(make_job("m1"), owner="a", lease=LEASE, now=T0)
    finally:
        store.close()
