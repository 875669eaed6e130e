"""The decision log's queries in the Store contract, on SQLite and on Redis: the message
text kept, newest first in pages, the filters, and the unanswered messages grouped."""

from __future__ import annotations

from datetime import timedelta

import pytest

from responder.model import DecisionRecord, Outcome
from responder.ports import Store
from responder.queries import ActivityQuery
from tests.store.test_store import T0

MINUTE = timedelta(minutes=1)


def said(
    store: Store,
    n: int,
    text: str,
    *,
    lead: str = "lead-1",
    outcome: Outcome = Outcome.SENT,
    rule: str = "faq",
    unmatched: bool = False,
) -> DecisionRecord:
    record = DecisionRecord(
        key=f"k{n}",
        lead_id=lead,
        outcome=outcome,
        at=T0 + n * MINUTE,
        rule=rule,
        text=text,
        normalized=text.lower().strip("?!. "),
        unmatched=unmatched,
    )
    assert store.finish(record)
    return record


def keys(records: tuple[DecisionRecord, ...]) -> list[str]:
    return [record.key for record in records]


def test_a_decision_keeps_the_message_text_and_its_flags(store: Store) -> None:
    record = said(store, 1, "<img src=x onerror=alert(1)>\n\x1b[31m", unmatched=True)
    assert store.decision("k1") == record
    assert store.activity(ActivityQuery()).records == (record,)


def test_pages_go_newest_first_without_repeating_or_skipping(store: Store) -> None:
    for n in range(7):
        said(store, n, f"message {n}")
    seen: list[str] = []
    page = store.activity(ActivityQuery(limit=3))
    while True:
        seen += keys(page.records)
        if page.next is None:
            break
        said(store, 100 + len(seen), "recorded meanwhile")  # newer: not in later pages
        page = store.activity(ActivityQuery(limit=3, before=page.next))
    assert seen == [f"k{n}" for n in reversed(range(7))]


def test_filters_by_lead_outcome_rule_text_and_since(store: Store) -> None:
    said(store, 1, "Do you deliver?", lead="a")
    said(store, 2, "Opening hours?", lead="b", rule="hours")
    said(store, 3, "Deliver to Shah Alam?", lead="b", outcome=Outcome.NO_MATCH, rule="")
    said(store, 4, "deliver on Sunday", lead="a", outcome=Outcome.PAUSED)

    def found(**filters: object) -> list[str]:
        return keys(store.activity(ActivityQuery(**filters)).records)  # type: ignore[arg-type]

    assert found(lead_id="b") == ["k3", "k2"]
    assert found(outcome=Outcome.PAUSED) == ["k4"]
    assert found(rule="hours") == ["k2"]
    assert found(contains="deliver") == ["k4", "k3", "k1"]
    assert found(contains="deliver", lead_id="a", outcome=Outcome.SENT) == ["k1"]
    assert found(since=T0 + 3 * MINUTE) == ["k4", "k3"]
    assert found(contains="pizza") == []


def test_a_mark_from_elsewhere_is_refused(store: Store) -> None:
    said(store, 1, "hi")
    with pytest.raises(ValueError, match="not a page mark"):
        store.activity(ActivityQuery(before="yesterday"))


def test_unanswered_groups_the_most_frequent_unmatched_messages(store: Store) -> None:
    said(store, 1, "Do you sell grinders?", lead="a", rule="fallback", unmatched=True)
    said(store, 2, "do you sell grinders", lead="b", outcome=Outcome.NO_MATCH, unmatched=True)
    said(store, 3, "Parking?", lead="c", outcome=Outcome.NO_MATCH, unmatched=True)
    said(store, 4, "Opening hours?", lead="d")  # answered by a rule: not listed
    said(store, 5, "DO YOU SELL GRINDERS?!", lead="e", rule="fallback", unmatched=True)

    top, second = store.unanswered()
    assert (top.normalized, top.count, top.last_seen) == (
        "do you sell grinders",
        3,
        T0 + 5 * MINUTE,
    )
    assert (top.lead_id, top.text) == ("e", "DO YOU SELL GRINDERS?!")
    assert (second.normalized, second.count, second.lead_id) == ("parking", 1, "c")
    recent = store.unanswered(since=T0 + 3 * MINUTE)
    assert [(g.normalized, g.count) for g in recent] == [
        ("do you sell grinders", 1),
        ("parking", 1),
    ]
    assert len(store.unanswered(limit=1)) == 1


def test_unanswered_messages_go_with_the_decisions_prune_removes(store: Store) -> None:
    said(store, 1, "Parking?", outcome=Outcome.NO_MATCH, unmatched=True)
    said(store, 60, "Parking!", outcome=Outcome.NO_MATCH, unmatched=True)
    store.prune(now=T0 + 30 * MINUTE, retention=timedelta(minutes=20))
    [group] = store.unanswered()
    assert (group.count, group.text) == (1, "Parking!")
