"""One answer to a burst of messages (``settings: gather``), through the pipeline's seams: a
fixed clock, the fake ABC API, one or two responder processes on one store (SQLite and, where
a burst spans processes, Redis too)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from responder.engine.rulebook import RuleBook
from responder.errors import OutcomeUnknown, PlatformRejected, PlatformUnavailable
from responder.intake import Answer
from responder.model import DecisionRecord, Job, Outcome
from responder.pipeline import Responder
from responder.store.sqlite import SQLiteStore
from tests.pipeline_harness import EDGE, SECOND, Pipeline
from tests.rulebooks import book_from

RULES = """
settings:
  gather: 4s
  cooldown: 0s
rules:
  - name: deliver-shah-alam
    all: [deliver, shah alam]
    text: "Yes, we deliver to Shah Alam, RM5."
  - name: deliver
    keywords: [deliver]
    text: "We deliver around KL."
  - name: agent
    keywords: [agent]
    gather: 0s
    text: "A person will answer you shortly."
  - name: hello
    fallback: true
    text: "Hello! How can we help?"
"""
BURST = ("hi", "do you deliver", "to Shah Alam?")


@pytest.fixture
def book(tmp_path: Path) -> RuleBook:
    return book_from(tmp_path / "book", RULES)


def accept(p: Pipeline, text: str, **fields: Any) -> Job:
    """Deliver a new message of lead 1; the job it dispatched."""
    assert p.receive(p.say(text, **fields)) == Answer(202, {"status": "accepted"})
    [job] = p.jobs
    p.jobs.clear()
    return job


def come_back(p: Pipeline, by: Responder | None = None) -> DecisionRecord | None:
    """Move the clock to when the one job set aside asked to be looked at again; handle it."""
    [(job, at)] = p.waiting
    p.waiting.clear()
    p.clock.advance(at - p.clock())
    return (by or p.responder).handle(job)


def answered(p: Pipeline) -> DecisionRecord | None:
    """Come back to the leader until the burst is quiet (a few times at most)."""
    for _ in range(4):
        record = come_back(p)
        if not p.waiting:
            return record
    raise AssertionError("the burst never went quiet")


def burst_of_three(p: Pipeline, handlers: tuple[Responder, ...]) -> list[Job]:
    """The three messages one second apart, each job handled at once by the next handler."""
    jobs = []
    for i, text in enumerate(BURST):
        if i:
            p.clock.advance(SECOND)
        job = accept(p, text)
        assert handlers[i % len(handlers)].handle(job) is None  # gathered, no outcome yet
        jobs.append(job)
    return jobs


def outcomes(p: Pipeline, jobs: list[Job]) -> list[DecisionRecord]:
    found = [p.store.decision(job.key) for job in jobs]
    assert all(record is not None for record in found)
    return [record for record in found if record is not None]


def test_a_burst_of_three_over_two_seconds_gets_one_reply_decided_on_all_three(
    make: Callable[..., Pipeline], book: RuleBook
) -> None:
    p = make(book=book)
    jobs = burst_of_three(p, (p.responder,))
    # Looked at 4 s after it opened, the burst is not quiet yet: the last message came at 2 s.
    assert come_back(p) is None
    [(_, at)] = p.waiting
    assert at - jobs[0].accepted_at == 6 * SECOND
    record = come_back(p)
    assert record is not None and record.outcome is Outcome.SENT
    assert record.rule == "deliver-shah-alam"  # only the three texts together say both
    assert p.api.sent() == ["Yes, we deliver to Shah Alam, RM5."]
    assert len(p.api.replies) == 1
    recorded = outcomes(p, jobs)
    assert [r.outcome for r in recorded] == [Outcome.SENT] * 3
    assert {r.rule for r in recorded} == {"deliver-shah-alam"}
    assert "answered together with 2 more messages" in recorded[0].reason
    assert all(f"recorded on {jobs[0].key}" in r.reason for r in recorded[1:])
    assert p.store.pending() == 0


def test_a_leader_looked_at_too_early_waits_again(
    make: Callable[..., Pipeline], book: RuleBook
) -> None:
    p = make(book=book)
    job = accept(p, "hi")
    assert p.responder.handle(job) is None
    [(aside, at)] = p.waiting
    p.waiting.clear()
    assert at == job.accepted_at + 4 * SECOND
    p.clock.advance(2 * SECOND)
    assert p.responder.handle(aside) is None  # too early: set aside again, same time
    assert [when for _, when in p.waiting] == [at]
    record = come_back(p)
    assert record is not None and record.reply == "Hello! How can we help?"
    assert "answered together" not in record.reason  # a burst of one


def test_a_burst_split_across_two_processes_gets_one_reply(
    make: Callable[..., Pipeline], book: RuleBook, store_factory: Callable[[], object]
) -> None:
    p = make(book=book, open_store=store_factory)
    other = p.process("process-b")
    jobs = burst_of_three(p, (p.responder, other))  # a, b, a
    assert come_back(p) is None  # at 4 s: not quiet yet
    record = come_back(p)
    assert record is not None and record.outcome is Outcome.SENT
    assert p.api.sent() == ["Yes, we deliver to Shah Alam, RM5."]
    assert [r.outcome for r in outcomes(p, jobs)] == [Outcome.SENT] * 3
    assert p.store.pending() == 0


def test_a_leader_dying_mid_gather_is_taken_over_and_the_burst_answered_once(
    make: Callable[..., Pipeline], book: RuleBook, store_factory: Callable[[], object]
) -> None:
    p = make(book=book, open_store=store_factory)
    jobs = burst_of_three(p, (p.responder,))
    p.waiting.clear()  # the process dies: nobody comes back to the leader
    # Every member's lease covers the whole wait and a lease: nothing is taken over early.
    other = p.process("process-b")
    p.clock.advance(p.config.lease)
    assert other.store.reclaim(owner="process-b", lease=p.config.lease, now=p.clock()) == []
    p.clock.advance(12 * SECOND + SECOND)
    taken = other.store.reclaim(owner="process-b", lease=p.config.lease, now=p.clock())
    assert sorted(job.key for job in taken) == sorted(job.key for job in jobs)
    results = [other.handle(job) for job in taken]
    assert [r.outcome for r in results if r is not None] == [Outcome.SENT]
    assert p.api.sent() == ["Yes, we deliver to Shah Alam, RM5."]
    assert [r.outcome for r in outcomes(p, jobs)] == [Outcome.SENT] * 3
    assert p.store.pending() == 0


def test_the_window_is_judged_on_the_last_message_of_the_burst(
    make: Callable[..., Pipeline], book: RuleBook
) -> None:
    p = make(book=book)
    # The first fragment alone is past WhatsApp's window (say it was delivered late).
    first = accept(p, "hi", ago=EDGE + SECOND)
    assert p.responder.handle(first) is None
    p.clock.advance(SECOND)
    second = accept(p, "do you deliver")
    assert p.responder.handle(second) is None
    record = answered(p)
    assert record is not None and record.outcome is Outcome.SENT
    assert p.api.sent() == ["We deliver around KL."]
    assert [r.outcome for r in outcomes(p, [first, second])] == [Outcome.SENT] * 2


class JoinsAtClosing(SQLiteStore):
    """A real store on which one more message joins a burst as its leader comes to close it."""

    joining: Callable[[], None] | None = None

    def close_burst(self, burst: str) -> list[Job]:
        joining, self.joining = self.joining, None
        if joining is not None:
            joining()
        return super().close_burst(burst)


def test_a_message_joining_as_the_leader_closes_the_burst_counts_for_the_window(
    make: Callable[..., Pipeline], book: RuleBook, tmp_path: Path
) -> None:
    p = make(book=book, open_store=lambda: JoinsAtClosing(tmp_path / "joins.db"))
    first = accept(p, "hi", ago=EDGE + SECOND)  # past the window alone
    assert p.responder.handle(first) is None
    [(aside, at)] = p.waiting
    p.clock.advance(at - p.clock())
    other = p.process("process-b")

    def join() -> None:  # after the leader read its lead's state
        second = accept(p, "do you deliver")
        assert other.handle(second) is None  # a member: the leader answers it

    assert isinstance(p.store, JoinsAtClosing)
    p.store.joining = join
    record = p.responder.handle(aside)
    assert record is not None and record.outcome is Outcome.SENT, record
    assert p.api.sent() == ["We deliver around KL."]


def test_a_burst_past_the_window_of_its_last_message_is_not_sent(
    make: Callable[..., Pipeline], book: RuleBook
) -> None:
    p = make(book=book)
    first = accept(p, "hi", ago=EDGE - 2 * SECOND)
    assert p.responder.handle(first) is None
    second = accept(p, "do you deliver", ago=EDGE - SECOND)
    assert p.responder.handle(second) is None
    record = answered(p)  # 4 s later: both messages are now past the window
    assert record is not None and record.outcome is Outcome.WINDOW_CLOSED
    assert p.api.replies == []
    assert [r.outcome for r in outcomes(p, [first, second])] == [Outcome.WINDOW_CLOSED] * 2


def test_a_first_message_for_a_rule_with_gather_zero_is_answered_at_once(
    make: Callable[..., Pipeline], book: RuleBook
) -> None:
    p = make(book=book)
    record = p.handled("I want an agent")
    assert record.outcome is Outcome.SENT and record.rule == "agent"
    assert p.waiting == []


def test_a_message_joins_an_open_burst_even_if_alone_it_would_not_wait(
    make: Callable[..., Pipeline], book: RuleBook
) -> None:
    p = make(book=book)
    first = accept(p, "do you deliver")
    assert p.responder.handle(first) is None
    second = accept(p, "or can I talk to an agent")
    assert p.responder.handle(second) is None
    record = answered(p)
    assert record is not None and record.rule == "deliver"  # the first rule to match both
    assert len(p.api.replies) == 1


def test_a_message_after_the_burst_closed_starts_a_new_burst(
    make: Callable[..., Pipeline], book: RuleBook
) -> None:
    p = make(book=book)
    first = accept(p, "hi")
    assert p.responder.handle(first) is None
    assert come_back(p) is not None
    later = accept(p, "do you deliver")
    assert p.responder.handle(later) is None
    record = come_back(p)
    assert record is not None and record.reply == "We deliver around KL."
    assert p.api.sent() == ["Hello! How can we help?", "We deliver around KL."]


def test_without_gather_each_message_is_answered_at_once(
    make: Callable[..., Pipeline], tmp_path: Path
) -> None:
    book = book_from(tmp_path / "plain", RULES.replace("  gather: 4s\n", "", 1))
    p = make(book=book)
    assert p.handled("hi").reply == "Hello! How can we help?"
    assert p.handled("do you deliver").reply == "We deliver around KL."
    assert p.waiting == []


def test_a_burst_whose_reply_is_refused_records_every_member_as_failed(
    make: Callable[..., Pipeline], book: RuleBook
) -> None:
    p = make(book=book)
    p.api.fail("reply", PlatformRejected("400: bad request", 400))
    jobs = burst_of_three(p, (p.responder,))
    record = answered(p)
    assert record is not None and record.outcome is Outcome.FAILED
    assert [r.outcome for r in outcomes(p, jobs)] == [Outcome.FAILED] * 3
    assert p.store.pending() == 0


def test_a_burst_whose_reply_was_lost_is_finished_by_the_takeover_without_a_second_reply(
    make: Callable[..., Pipeline], book: RuleBook
) -> None:
    p = make(book=book)
    p.api.fail("reply", OutcomeUnknown("read timeout"), stored=True)
    p.api.fail("conversation", PlatformUnavailable("503"))  # the check fails too: unknown
    jobs = burst_of_three(p, (p.responder,))
    assert answered(p) is None  # nothing definite: the reservation stays on the leader's job
    other = p.process("process-b")
    p.clock.advance(p.config.lease + 20 * SECOND)
    taken = other.store.reclaim(owner="process-b", lease=p.config.lease, now=p.clock())
    results = [other.handle(job) for job in taken]
    [record] = [r for r in results if r is not None]
    assert record.outcome is Outcome.SENT and "earlier attempt" in record.reason
    assert len(p.api.replies) == 1  # found in the conversation, not sent again
    assert [r.outcome for r in outcomes(p, jobs)] == [Outcome.SENT] * 3
    assert p.store.pending() == 0


def test_each_message_of_a_burst_keeps_its_own_text_in_the_log(
    make: Callable[..., Pipeline], book: RuleBook, store_factory: Callable[[], object]
) -> None:
    p = make(book=book, open_store=store_factory)
    jobs = []
    for text in ("hello", "anyone there?"):
        job = accept(p, text)
        assert p.responder.handle(job) is None
        jobs.append(job)
    record = answered(p)
    assert record is not None and record.rule == "hello"  # the fallback: nothing matched
    recorded = outcomes(p, jobs)
    assert [r.text for r in recorded] == ["hello", "anyone there?"]
    assert all(r.unmatched for r in recorded)
    # Both are among the messages the rules miss, each under its own words.
    assert sorted(u.text for u in p.store.unanswered(since=p.clock() - SECOND * 60)) == [
        "anyone there?",
        "hello",
    ]
