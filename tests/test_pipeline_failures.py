"""The pipeline when the ABC API fails, when another process takes a job over, and when a
delivery lacks the message (the set-up is in :mod:`tests.pipeline_harness`)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

import pytest

from responder.errors import (
    OutcomeUnknown,
    PlatformUnavailable,
    RateLimited,
    RetryableError,
    WindowClosed,
)
from responder.model import Outcome
from tests.pipeline_harness import (
    EDGE,
    HOURS_QUESTION,
    HOURS_REPLY,
    NOW,
    SECOND,
    Pipeline,
)
from tests.rulebooks import book_from

# -- the ABC API failing: lost answers, unavailability, refusals ------------------------------


def test_a_lost_answer_with_the_reply_in_the_conversation_is_sent(p: Pipeline) -> None:
    p.api.fail("reply", OutcomeUnknown("read timeout"), stored=True)
    record = p.handled(HOURS_QUESTION)
    assert record.outcome is Outcome.SENT and record.reply.startswith(HOURS_REPLY)
    assert "delivered, though its answer was lost" in record.reason
    assert p.api.calls == ["reply", "conversation"] and p.api.sent() == [record.reply]


@pytest.mark.parametrize(
    ("stored_late", "reason", "requests"),
    [(True, "delivered by an earlier attempt", 1), (False, "taken over", 2)],
    ids=["the-platform-stored-it-late", "it-never-arrived"],
)
def test_a_lost_answer_without_the_reply_is_settled_by_the_takeover(
    p: Pipeline, stored_late: bool, reason: str, requests: int
) -> None:
    p.api.fail("reply", OutcomeUnknown("read timeout"))
    assert p.run(HOURS_QUESTION) is None  # maybe sent: not resent at once
    assert p.store.pending() == 1 and p.store.decisions() == []
    assert "opening-hours" in p.last_reply()  # the reservation is kept meanwhile
    [(_, content, connection)] = p.api.replies
    if stored_late:
        p.api.store_reply("1", content, connection)

    record = p.recorded(p.takeover())
    assert record.outcome is Outcome.SENT and record.reply == content
    assert reason in record.reason
    assert len(p.api.replies) == requests and p.api.sent() == [content]  # one copy
    assert p.store.pending() == 0


def test_a_lost_answer_and_an_unreadable_conversation_leave_the_job_to_the_takeover(
    p: Pipeline,
) -> None:
    p.api.fail("reply", OutcomeUnknown("read timeout"), stored=True)
    p.api.fail("conversation", PlatformUnavailable("503 Service Unavailable"))
    assert p.run(HOURS_QUESTION) is None
    record = p.recorded(p.takeover())
    assert record.outcome is Outcome.SENT and "delivered by an earlier attempt" in record.reason
    assert len(p.api.replies) == 1


def test_a_lost_answer_on_the_last_attempt_fails_but_keeps_the_cooldown(
    make: Callable[..., Pipeline],
) -> None:
    p = make(max_attempts=1)
    p.api.fail("reply", OutcomeUnknown("read timeout"))
    record = p.handled(HOURS_QUESTION)
    assert record.outcome is Outcome.FAILED and record.rule == "opening-hours"
    assert "gave up after 1 attempt(s): read timeout; not in the conversation yet" in record.reason
    assert "opening-hours" in p.last_reply()  # it may have been sent


@pytest.mark.parametrize(
    "error",
    [PlatformUnavailable("503 Service Unavailable"), RateLimited("429", retry_after=120)],
    ids=["unavailable", "rate-limited"],
)
@pytest.mark.parametrize(
    ("call", "omit", "reason"),
    [
        ("reply", (), "taken over"),
        ("connections", ("messaging_channel_connection_id",), "keyword 'opening hours'"),
        ("conversation", ("content", "created_at"), "keyword 'opening hours'"),  # hydration
    ],
)
def test_an_api_unavailable_is_answered_by_a_later_attempt(
    p: Pipeline, error: RetryableError, call: str, omit: tuple[str, ...], reason: str
) -> None:
    p.api.fail(call, error)
    assert p.run(HOURS_QUESTION, omit=omit) is None
    assert p.store.pending() == 1 and p.store.decisions() == []
    record = p.recorded(p.takeover())
    assert record.outcome is Outcome.SENT and reason in record.reason
    assert len(p.api.sent()) == 1


def test_an_api_down_through_every_attempt_is_recorded_as_failed(
    make: Callable[..., Pipeline],
) -> None:
    p = make(max_attempts=3)
    p.api.fail("reply", PlatformUnavailable("503 Service Unavailable"), times=100)
    assert p.run(HOURS_QUESTION) is None
    assert p.takeover() is None
    record = p.recorded(p.takeover())
    assert record.outcome is Outcome.FAILED and record.rule == "opening-hours"
    assert "gave up after 3 attempt(s): 503 Service Unavailable" in record.reason
    assert len(p.api.replies) == 3 and p.api.sent() == []
    assert p.last_reply() == {} and p.store.pending() == 0  # nothing went out: cooldown back


def test_a_bug_is_not_retried_forever(make: Callable[..., Pipeline]) -> None:
    p = make(max_attempts=2)
    p.api.fail("reply", RuntimeError("unexpected"), times=100)
    assert p.run(HOURS_QUESTION) is None
    record = p.recorded(p.takeover())
    assert record.outcome is Outcome.FAILED
    assert "gave up after 2 attempt(s): unexpected" in record.reason


def test_a_window_that_closes_while_retrying_is_recorded_as_closed(p: Pipeline) -> None:
    p.api.fail("reply", PlatformUnavailable("503 Service Unavailable"))
    assert p.run(HOURS_QUESTION, ago=EDGE - timedelta(seconds=30)) is None
    record = p.recorded(p.takeover())  # after the lease: the window has closed meanwhile
    assert record.outcome is Outcome.WINDOW_CLOSED and "window closed at" in record.reason
    assert len(p.api.replies) == 1 and p.last_reply() == {}


def test_a_window_rejection_from_the_platform_is_final_and_gives_the_cooldown_back(
    p: Pipeline,
) -> None:
    p.api.fail("reply", WindowClosed("131047: more than 24 hours have passed", 400))
    record = p.handled(HOURS_QUESTION)
    assert record.outcome is Outcome.WINDOW_CLOSED and record.rule == "opening-hours"
    assert "the platform refused: 131047" in record.reason
    assert len(p.api.replies) == 1 and p.store.pending() == 0 and p.last_reply() == {}
    # Nothing was sent, so the same rule may answer the next message at once.
    assert p.handled("are you open today?").outcome is Outcome.SENT


# -- takeovers --------------------------------------------------------------------------------


def test_a_copy_superseded_by_a_takeover_does_nothing(p: Pipeline) -> None:
    assert p.receive(p.say(HOURS_QUESTION)).status == 202
    [queued] = p.jobs  # ...waits in this process's queue past its lease...
    other, taken = p.reclaim()  # ...and another process takes it over meanwhile
    assert taken.attempts == 1 and taken.key == queued.key
    assert p.responder.handle(queued) is None
    assert p.api.calls == [] and p.store.pending() == 1
    record = p.recorded(other.handle(taken))
    assert record.outcome is Outcome.SENT and len(p.api.replies) == 1


def test_a_finished_job_is_never_taken_over(p: Pipeline) -> None:
    p.handled(HOURS_QUESTION)
    p.clock.advance(p.config.lease + SECOND)
    assert p.store.reclaim(owner="process-b", lease=p.config.lease, now=p.clock()) == []


# -- hydration --------------------------------------------------------------------------------

HIDDEN = ("content", "created_at", "direction", "sender_type")


@pytest.mark.parametrize(
    ("text", "fields", "outcome"),
    [
        (HOURS_QUESTION, {}, Outcome.SENT),
        ("Farid here", {"direction": "outbound", "sender_type": "user"}, Outcome.NOT_INBOUND),
    ],
    ids=["the-leads-message", "an-agents-message"],
)
def test_a_delivery_without_the_text_is_completed_from_the_conversation(
    p: Pipeline, text: str, fields: dict[str, str], outcome: Outcome
) -> None:
    record = p.handled(text, omit=HIDDEN, **fields)
    assert record.outcome is outcome and p.api.calls[0] == "conversation"
    if outcome is Outcome.SENT:
        assert record.rule == "opening-hours"
    else:
        assert p.store.lead_state("1").paused_until is not None


def test_a_message_the_conversation_does_not_list_yet_is_tried_again(p: Pipeline) -> None:
    earlier = (NOW - timedelta(minutes=1)).isoformat()
    p.api.new_message("1", content="how much?", direction="inbound", created_at=earlier)
    signed = p.say(HOURS_QUESTION, omit=HIDDEN, listed=False)
    assert p.receive(signed).status == 202
    assert p.responder.handle(p.jobs.pop()) is None  # never answer another message instead
    assert p.api.replies == [] and p.store.pending() == 1
    p.api.list_message(signed.message)
    record = p.recorded(p.takeover())
    assert record.outcome is Outcome.SENT and record.rule == "opening-hours"


def test_a_takeover_resends_the_attachment_it_reserved(
    tmp_path: Path, make: Callable[..., Pipeline]
) -> None:
    rules = (
        "rules:\n  - name: menu\n    keywords: [menu]\n    text: Our menu\n    attachment: m.pdf\n"
    )
    p = make(book=book_from(tmp_path, rules))
    p.api.fail("reply", OutcomeUnknown("read timeout"))
    assert p.run("menu?") is None  # maybe sent: the reservation, with its file, is kept
    record = p.recorded(p.takeover())
    assert record.outcome is Outcome.SENT
    assert p.api.attachments == ["m.pdf", "m.pdf"]  # the lost attempt and the takeover's
