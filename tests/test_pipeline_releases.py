"""The pipeline serving a release: outcomes name it, and a swap never splits a decision."""

from __future__ import annotations

from pathlib import Path

from responder.engine.loader import load_rulebook
from responder.engine.rulebook import RuleBook
from responder.errors import OutcomeUnknown
from responder.model import Outcome
from tests.pipeline_harness import HOURS_QUESTION, HOURS_REPLY, Pipeline
from tests.rulebooks import write_book

NEW_REPLY = "We have new opening hours: 8 to 8."


def new_book(tmp_path: Path) -> RuleBook:
    rules = "rules:\n  - name: hours\n    keywords: [opening hours]\n    reply: hours\n"
    return load_rulebook(*write_book(tmp_path / "new", rules, {"hours.j2": NEW_REPLY}))


def test_each_outcome_names_the_release_it_was_decided_with(p: Pipeline, tmp_path: Path) -> None:
    p.responder.serve(p.book, 3)
    assert p.handled(HOURS_QUESTION).release == 3
    p.responder.serve(new_book(tmp_path), 4)
    record = p.handled(HOURS_QUESTION)
    assert (record.release, record.reply) == (4, NEW_REPLY)


def test_a_job_finishes_on_the_book_it_started_with(p: Pipeline, tmp_path: Path) -> None:
    p.responder.serve(p.book, 1)
    published = new_book(tmp_path)
    send = p.api.reply

    def reply_while_a_release_goes_live(*args: object, **kwargs: object) -> None:
        p.responder.serve(published, 2)  # published while this job is sending
        send(*args, **kwargs)  # type: ignore[arg-type]

    p.api.reply = reply_while_a_release_goes_live  # type: ignore[method-assign]
    record = p.handled(HOURS_QUESTION)
    assert record.outcome is Outcome.SENT and record.release == 1
    assert record.reply.startswith(HOURS_REPLY)
    p.api.reply = send  # type: ignore[method-assign]
    assert p.handled(HOURS_QUESTION, lead="2").release == 2


def test_a_takeover_records_the_release_its_reply_was_decided_with(
    p: Pipeline, tmp_path: Path
) -> None:
    p.responder.serve(p.book, 5)
    p.api.fail("reply", OutcomeUnknown("read timeout"))
    assert p.run(HOURS_QUESTION) is None  # nothing definite: the reservation stays
    other, job = p.reclaim()
    other.serve(new_book(tmp_path), 6)
    record = p.recorded(other.handle(job))
    assert record.outcome is Outcome.SENT and record.release == 5
    assert record.reply.startswith(HOURS_REPLY)
