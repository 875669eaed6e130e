"""Pausing the bot on running services: two instances on one Redis, real HTTP from the
simulator, the pause set and ended with the ``responder`` command as a person would."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import ExitStack
from pathlib import Path

import pytest

from responder.cli import main
from responder.model import Outcome
from responder.simulator import Simulator
from tests.harness import SECRET, Running, outcomes, serve_in_thread, service_config

HOURS_QUESTION = "What are your opening hours?"


@pytest.fixture
def sim() -> Iterator[Simulator]:
    with Simulator(api_key="sim-key", webhook_secret=SECRET) as simulator:
        yield simulator


@pytest.fixture
def store_url(redis_url: str, redis_prefixes: Callable[[], str]) -> str:
    return f"{redis_url}?prefix={redis_prefixes()}"


def test_a_pause_from_the_command_line_holds_on_every_instance_at_once(
    sim: Simulator, tmp_path: Path, store_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with ExitStack() as stack:
        one, two = (
            stack.enter_context(
                serve_in_thread(service_config(sim, tmp_path / name, store_url=store_url))
            )
            for name in ("one", "two")
        )

        def say(service: Running, lead: str, count: int) -> Outcome:
            sim.webhook_url = f"{service.url}/webhook"
            sim.say(lead, HOURS_QUESTION)
            return outcomes(service.store, lead, count)[-1].outcome

        where = ("--store", store_url)
        assert main(["pause", "7", "--by", "ana", "--note", "on the phone", *where]) == 0
        assert say(one, "7", 1) is Outcome.PAUSED
        assert say(two, "7", 2) is Outcome.PAUSED
        assert say(two, "8", 1) is Outcome.SENT
        [record] = two.store.decisions(lead_id="7", limit=1)
        assert record.reason.startswith("ana paused auto-replies for this lead until resumed")
        assert record.text == HOURS_QUESTION

        assert main(["pause", "--all", "--for", "1h", "--by", "ana", *where]) == 0
        assert say(one, "9", 1) is Outcome.PAUSED
        assert main(["resume", "--all", *where]) == 0
        assert say(two, "9", 2) is Outcome.SENT
        assert say(one, "7", 3) is Outcome.PAUSED  # its own pause stays
        assert main(["resume", "7", *where]) == 0
        assert say(one, "7", 4) is Outcome.SENT

        assert [len(sim.replies(lead)) for lead in ("7", "8", "9")] == [1, 1, 1]
    capsys.readouterr()
