"""The people's pauses in the Store contract, on SQLite and on Redis: recorded with who and
when, read with the lead's state, honoured by the reservation of a reply, ended by resume or
by their time."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

from responder.model import EVERYONE, Outcome, Pause
from responder.ports import Store
from responder.queries import PauseChange
from tests.store.test_store import HOUR, T0, reserve

LATER = T0 + timedelta(minutes=5)


def ana(lead: str = "lead-1", *, until: timedelta | None = HOUR, note: str = "") -> Pause:
    return Pause(lead, by="ana", at=T0, until=T0 + until if until else None, note=note)


def test_a_pause_comes_back_whole_with_the_leads_state(store: Store) -> None:
    pause = ana(note="talking to them on the phone — ünïcode")
    store.put_pause(pause)
    assert store.lead_state("lead-1").held == (pause,)
    assert store.note_inbound("lead-1", T0).held == (pause,)
    assert store.lead_state("lead-2").held == ()
    assert store.pauses(now=LATER) == [pause]


def test_the_pause_for_everyone_is_read_with_every_lead(store: Store) -> None:
    everyone = ana(EVERYONE, until=None)
    own = ana("lead-1")
    store.put_pause(everyone)
    store.put_pause(own)
    assert set(store.lead_state("lead-1").held) == {everyone, own}
    assert store.note_inbound("lead-9", T0).held == (everyone,)
    assert store.lead_state("lead-9").held_by(T0 + timedelta(days=400)) == everyone
    assert store.pauses(now=LATER) == [everyone, own]


def test_a_pause_blocks_the_reservation_until_its_time(store: Store) -> None:
    store.put_pause(ana())
    assert reserve(store, "faq", T0 + HOUR - timedelta(microseconds=1)) is Outcome.PAUSED
    assert reserve(store, "faq", T0 + HOUR) is None


def test_a_pause_for_everyone_until_resumed_blocks_every_lead(store: Store) -> None:
    store.put_pause(ana(EVERYONE, until=None))
    for lead in ("lead-1", "lead-2"):
        assert reserve(store, "faq", T0 + timedelta(days=30), lead=lead) is Outcome.PAUSED
    assert store.end_pause(EVERYONE, by="bo", now=LATER) == ana(EVERYONE, until=None)
    assert reserve(store, "faq", T0 + timedelta(days=30), lead="lead-1") is None


def test_a_new_pause_replaces_the_one_before_even_a_longer_one(store: Store) -> None:
    store.put_pause(ana(until=timedelta(days=1)))
    shorter = ana(until=timedelta(minutes=10))
    store.put_pause(shorter)
    assert store.lead_state("lead-1").held == (shorter,)
    assert reserve(store, "faq", T0 + timedelta(minutes=10)) is None


def test_resume_ends_the_persons_and_the_automatic_pause_of_that_lead_only(store: Store) -> None:
    store.put_pause(ana("lead-1"))
    store.put_pause(ana("lead-2"))
    store.pause("lead-1", T0 + timedelta(days=1))  # an escalation, say
    assert store.end_pause("lead-1", by="bo", now=LATER) == ana("lead-1")
    state = store.lead_state("lead-1")
    assert state.held == () and state.paused_until is None
    assert reserve(store, "faq", LATER) is None
    assert store.lead_state("lead-2").held == (ana("lead-2"),)
    assert store.end_pause("lead-1", by="bo", now=LATER) is None


def test_resuming_everyone_leaves_the_leads_own_pauses(store: Store) -> None:
    store.put_pause(ana(EVERYONE))
    store.put_pause(ana("lead-1"))
    store.end_pause(EVERYONE, by="bo", now=LATER)
    assert store.pauses(now=LATER) == [ana("lead-1")]


def test_expired_pauses_are_not_listed_and_prune_removes_them(store: Store) -> None:
    store.put_pause(ana("lead-1", until=timedelta(minutes=1)))
    store.put_pause(ana("lead-2", until=None))
    assert store.pauses(now=LATER) == [ana("lead-2", until=None)]
    assert store.lead_state("lead-1").held_by(LATER) is None
    assert store.prune(now=LATER, retention=timedelta(days=30)) >= 1
    assert store.lead_state("lead-1").held == ()
    assert store.lead_state("lead-2").held == (ana("lead-2", until=None),)


def test_a_pause_set_through_one_handle_is_seen_through_another(
    store_factory: Callable[[], Store],
) -> None:
    one, other = store_factory(), store_factory()
    one.put_pause(ana())
    assert reserve(other, "faq", LATER) is Outcome.PAUSED
    other.end_pause("lead-1", by="bo", now=LATER)
    assert reserve(one, "faq", LATER) is None


def test_every_pausing_and_resuming_is_recorded_with_who_and_when(store: Store) -> None:
    store.put_pause(ana(note="on the phone"))
    store.put_pause(ana(EVERYONE, until=None))
    store.end_pause("lead-1", by="bo", now=LATER)
    assert store.pause_changes() == [
        PauseChange("lead-1", "resume", "bo", LATER),
        PauseChange(EVERYONE, "pause", "ana", T0),
        PauseChange("lead-1", "pause", "ana", T0, until=T0 + HOUR, note="on the phone"),
    ]
    assert len(store.pause_changes(limit=1)) == 1
    # Kept as long as decisions.
    store.prune(now=T0 + timedelta(days=30) + timedelta(minutes=1), retention=timedelta(days=30))
    assert store.pause_changes() == [PauseChange("lead-1", "resume", "bo", LATER)]
