"""A person pausing the bot, honoured by the pipeline: for one lead or for everyone, set
through one process and honoured by another at once (on one SQLite file and on one Redis),
ending by itself at its time or when resumed, and recorded as ``paused`` naming who did it."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from responder.errors import PlatformUnavailable
from responder.intake import Answer
from responder.model import EVERYONE, Connection, DecisionRecord, Outcome, Pause
from responder.pipeline import Responder
from tests.pipeline_harness import HOURS_QUESTION, HOURS_REPLY, NOW, SECOND, Pipeline
from tests.rulebooks import book_from


@pytest.fixture(params=["sqlite", "redis"])
def shared(request: pytest.FixtureRequest, make: Callable[..., Pipeline]) -> Pipeline:
    """A pipeline whose processes share one store: an SQLite file, or a Redis prefix."""
    if request.param == "sqlite":
        return make()
    open_redis = request.getfixturevalue("redis_store_factory")
    prefix = request.getfixturevalue("redis_prefixes")()
    return make(open_store=lambda: open_redis(prefix))


def farid(lead: str = "1", *, until: timedelta | None = None, note: str = "") -> Pause:
    return Pause(lead, by="farid", at=NOW, until=NOW + until if until else None, note=note)


def through(p: Pipeline, process: Responder, text: str, **fields: Any) -> DecisionRecord:
    """Deliver a new message to ``process`` and have it handled there."""
    signed = p.say(text, **fields)
    assert process.receive(signed.body, signed.headers) == Answer(202, {"status": "accepted"})
    [job] = p.jobs
    p.jobs.clear()
    return p.recorded(process.handle(job))


def test_a_pause_set_through_one_process_silences_the_lead_on_another(shared: Pipeline) -> None:
    other = shared.process("process-b")
    shared.store.put_pause(farid(note="sorting out a complaint"))

    paused = through(shared, other, HOURS_QUESTION)
    assert paused.outcome is Outcome.PAUSED and paused.rule == "opening-hours"
    assert paused.reason.startswith(
        "farid paused auto-replies for this lead until resumed (sorting out a complaint); "
        "otherwise: "
    )
    assert shared.api.replies == []
    assert through(shared, other, HOURS_QUESTION, lead="2").outcome is Outcome.SENT

    assert other.store.end_pause("1", by="farid", now=NOW) == farid(note="sorting out a complaint")
    assert through(shared, shared.responder, HOURS_QUESTION).outcome is Outcome.SENT
    assert shared.api.sent("1") == [shared.api.sent("2")[0]]


def test_a_pause_for_everyone_silences_every_lead_until_resumed(shared: Pipeline) -> None:
    other = shared.process("process-b")
    other.store.put_pause(farid(EVERYONE))
    for lead in ("1", "2"):
        paused = through(shared, shared.responder, HOURS_QUESTION, lead=lead)
        assert paused.outcome is Outcome.PAUSED
        assert paused.reason.startswith("farid paused auto-replies for everyone until resumed")
    # Whatever rule would answer: the fallback as well.
    shared.clock.advance(SECOND)  # not the lead's first message any more
    unmatched = through(shared, other, "qwerty")
    assert unmatched.outcome is Outcome.PAUSED and unmatched.rule == "fallback"
    assert unmatched.reason.endswith("; otherwise: fallback: no other rule matched")
    assert unmatched.unmatched  # still among the messages the rules miss

    shared.store.end_pause(EVERYONE, by="farid", now=NOW)
    assert through(shared, other, HOURS_QUESTION, lead="2").outcome is Outcome.SENT
    assert len(shared.api.replies) == 1


def test_a_pause_for_a_while_ends_by_itself_at_its_time(p: Pipeline) -> None:
    p.store.put_pause(farid(until=timedelta(hours=2)))
    p.clock.advance(timedelta(hours=2) - SECOND)
    paused = p.handled(HOURS_QUESTION)
    assert paused.outcome is Outcome.PAUSED
    assert "until Wed 15 May 2024 13:00 (Asia/Kuala_Lumpur)" in paused.reason
    p.clock.advance(SECOND)
    assert p.handled(HOURS_QUESTION).outcome is Outcome.SENT


def test_a_pause_set_while_the_reply_is_being_prepared_is_honoured(p: Pipeline) -> None:
    # The lead's state is read, then the channels are fetched (for a message that does not
    # name its connection): the pause comes in between.
    fetch = p.api.connections

    def pause_meanwhile(*, deadline: float) -> list[Connection]:
        p.store.put_pause(farid())
        return fetch(deadline=deadline)

    p.api.connections = pause_meanwhile  # type: ignore[method-assign]
    paused = p.handled(HOURS_QUESTION, omit=("messaging_channel_connection_id",))
    assert paused.outcome is Outcome.PAUSED
    assert paused.reason.startswith("farid paused auto-replies for this lead until resumed")
    assert p.api.replies == [] and p.last_reply() == {}


def test_a_reply_taken_over_after_a_pause_is_not_sent(p: Pipeline) -> None:
    p.api.fail("reply", PlatformUnavailable("the platform is down"), times=1)
    assert p.run(HOURS_QUESTION) is None  # reserved, not sent; tried again after the lease
    p.store.put_pause(farid())
    paused = p.recorded(p.takeover())
    assert paused.outcome is Outcome.PAUSED and paused.rule == "opening-hours"
    assert p.api.sent() == [] and p.last_reply() == {}


def test_a_message_no_rule_matches_is_unmatched_even_while_paused(
    tmp_path: Path, make: Callable[..., Pipeline]
) -> None:
    rules = "rules:\n  - name: hours\n    keywords: [hours]\n    text: Open 9-5\n"
    p = make(book=book_from(tmp_path, rules))
    missed = p.handled("do you deliver?")
    assert (missed.outcome, missed.unmatched) == (Outcome.NO_MATCH, True)
    p.store.put_pause(farid())
    paused = p.handled("do you deliver?")
    assert (paused.outcome, paused.rule, paused.unmatched) == (Outcome.PAUSED, "", True)
    answered = p.handled("opening hours?")
    assert (answered.outcome, answered.unmatched) == (Outcome.PAUSED, False)
    assert [g.count for g in p.store.unanswered()] == [2]


def test_the_log_keeps_what_the_lead_wrote(p: Pipeline) -> None:
    sent = p.handled(HOURS_QUESTION)
    assert sent.reply.startswith(HOURS_REPLY)
    assert (sent.text, sent.normalized) == (HOURS_QUESTION, "what are your opening hours")
    long = p.handled("x" * 5000)
    assert long.text == "x" * 1000 and long.normalized == "x" * 1000
