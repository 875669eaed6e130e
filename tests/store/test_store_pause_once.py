"""The Store contract of ``pause_once`` (an escalation's claim and pause, in one step), run
against every engine (SQLite and Redis)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

from responder.ports import Store
from tests.store.test_store import HOUR, LEASE, T0, make_job, run_together


def test_pause_once_claims_the_key_and_pauses_the_lead(store: Store) -> None:
    assert store.pause_once("body:e1", "lead-1", T0 + 24 * HOUR, now=T0) is True
    assert store.lead_state("lead-1").paused_until == T0 + 24 * HOUR


def test_the_same_key_changes_nothing_while_the_lead_is_paused(store: Store) -> None:
    store.pause_once("body:e1", "lead-1", T0 + 24 * HOUR, now=T0)
    later = T0 + 23 * HOUR
    assert store.pause_once("body:e1", "lead-1", later + 24 * HOUR, now=later) is False
    assert store.lead_state("lead-1").paused_until == T0 + 24 * HOUR


def test_the_same_key_pauses_again_once_no_pause_runs(store: Store) -> None:
    store.pause_once("body:e1", "lead-1", T0 + HOUR, now=T0)
    later = T0 + HOUR
    assert store.pause_once("body:e1", "lead-1", later + HOUR, now=later) is True
    assert store.lead_state("lead-1").paused_until == later + HOUR
    # ... and claims it anew: a third time during the new pause changes nothing.
    assert store.pause_once("body:e1", "lead-1", later + 5 * HOUR, now=later) is False


def test_another_key_extends_the_pause_and_never_shortens_it(store: Store) -> None:
    store.pause_once("body:e1", "lead-1", T0 + 24 * HOUR, now=T0)
    assert store.pause_once("body:e2", "lead-1", T0 + 30 * HOUR, now=T0) is True
    assert store.pause_once("body:e3", "lead-1", T0 + HOUR, now=T0) is True
    assert store.lead_state("lead-1").paused_until == T0 + 30 * HOUR


def test_pause_once_keeps_the_rest_of_the_state(store: Store) -> None:
    store.note_inbound("lead-1", T0)
    store.pause_once("body:e1", "lead-1", T0 + HOUR, now=T0)
    state = store.lead_state("lead-1")
    assert state.first_seen == state.last_inbound == T0 and state.paused_until == T0 + HOUR


def test_pause_once_shares_the_claims_of_accept(store: Store) -> None:
    assert store.accept(make_job("body:shared"), owner="a", lease=LEASE, now=T0)
    store.pause("lead-1", T0 + HOUR)
    assert store.pause_once("body:shared", "lead-1", T0 + 24 * HOUR, now=T0) is False
    assert store.pause_once("body:other", "lead-1", T0 + 24 * HOUR, now=T0) is True
    assert not store.accept(make_job("body:other"), owner="a", lease=LEASE, now=T0)


def test_concurrent_copies_pause_exactly_once(store_factory: Callable[[], Store]) -> None:
    stores = [store_factory() for _ in range(8)]
    until = T0 + timedelta(hours=24)
    results = run_together(8, lambda i: stores[i].pause_once("body:e1", "l", until, now=T0))
    assert sorted(results) == [False] * 7 + [True]
    assert stores[0].lead_state("l").paused_until == until
