"""First contact from the platform's history: a customer who wrote before the service started
is not welcomed as new (the set-up is in :mod:`tests.pipeline_harness`)."""

from __future__ import annotations

from datetime import timedelta

from responder.errors import PlatformUnavailable
from responder.model import Outcome
from tests.pipeline_harness import Pipeline


def wrote_before(p: Pipeline, lead: str = "1", days: int = 30) -> None:
    """A message of the lead from before the service was deployed, in the platform only."""
    p.api.new_message(
        lead,
        content="do you bake sourdough?",
        direction="inbound",
        sender_type="lead",
        created_at=(p.clock() - timedelta(days=days)).isoformat(),
    )


def test_a_customer_who_wrote_before_is_not_welcomed(p: Pipeline) -> None:
    wrote_before(p)
    record = p.handled("hello")
    assert record.rule != "welcome"
    assert p.store.lead_state("1").first_seen == p.clock() - timedelta(days=30)
    assert p.api.calls.count("conversation") == 1
    p.clock.advance(timedelta(minutes=1))
    assert p.handled("hello again").rule != "welcome"
    assert p.api.calls.count("conversation") == 1  # read once per lead


def test_a_new_customer_is_welcomed_after_one_read_of_the_history(p: Pipeline) -> None:
    record = p.handled("hello")
    assert record.outcome is Outcome.SENT and record.rule == "welcome"
    assert p.api.calls.count("conversation") == 1
    p.clock.advance(timedelta(minutes=1))
    assert p.handled("hello").rule != "welcome"
    assert p.api.calls.count("conversation") == 1  # not first any more: nothing to settle


def test_a_message_whose_answer_does_not_hang_on_it_reads_no_history(p: Pipeline) -> None:
    wrote_before(p)
    record = p.handled("What are your opening hours?")
    assert record.outcome is Outcome.SENT and record.rule == "opening-hours"
    assert "conversation" not in p.api.calls


def test_when_the_history_cannot_be_read_the_services_view_stands_and_says_so(
    p: Pipeline,
) -> None:
    wrote_before(p)
    p.api.fail("conversation", PlatformUnavailable("503 from the platform"))
    record = p.handled("hello")
    assert record.outcome is Outcome.SENT and record.rule == "welcome"
    assert "first message as far as this service knows" in record.reason
    assert "the conversation history could not be read (503 from the platform)" in record.reason
