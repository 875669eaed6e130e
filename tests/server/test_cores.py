"""Each gunicorn worker on a core of its own (responder/server/cores.py), under real gunicorn."""

from __future__ import annotations

import os
import signal
from collections.abc import Iterator
from pathlib import Path

import pytest

from responder.simulator import Simulator
from tests.harness import API_KEY, ROOT, SECRET, Gunicorn, wait_for

CORES = sorted(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else []

pytestmark = pytest.mark.skipif(len(CORES) < 2, reason="needs a machine with 2 cores or more")


@pytest.fixture
def env(tmp_path: Path) -> Iterator[dict[str, str]]:
    with Simulator(api_key=API_KEY, webhook_secret=SECRET) as sim:
        yield {
            "ABC_API_KEY": API_KEY,
            "ABC_API_URL": sim.base_url,
            "ABC_WEBHOOK_SECRET": SECRET,
            "RESPONDER_STORE": str(tmp_path / "state.db"),
            "RESPONDER_RULES": str(ROOT / "rules"),
            "RESPONDER_TEMPLATES": str(ROOT / "templates"),
        }


def cores_of(pids: list[int]) -> list[set[int]]:
    """The cores each process, and every thread of it, may run on."""
    placed = []
    for pid in pids:
        cores: set[int] = set()
        for task in Path(f"/proc/{pid}/task").iterdir():
            try:
                cores |= os.sched_getaffinity(int(task.name))
            except OSError:  # a thread that ended meanwhile
                continue
        placed.append(cores)
    return placed


def two_workers(server: Gunicorn) -> list[int]:
    wait_for(lambda: len(server.worker_pids()) == 2, what="gunicorn's two workers")
    return server.worker_pids()


def test_two_workers_run_on_a_core_each_and_a_replacement_takes_the_free_one(
    env: dict[str, str],
) -> None:
    with Gunicorn(env, workers=2) as server:
        first, second = two_workers(server)
        placed = cores_of([first, second])
        assert all(len(cores) == 1 for cores in placed)
        assert placed[0] != placed[1]

        os.kill(first, signal.SIGKILL)
        wait_for(
            lambda: len(server.worker_pids()) == 2 and first not in server.worker_pids(),
            what="gunicorn to start a worker in place of the killed one",
        )
        [new] = [pid for pid in server.worker_pids() if pid != second]
        assert cores_of([new, second]) == [placed[0], placed[1]]


def test_workers_are_left_to_the_kernel_when_pinning_is_off(env: dict[str, str]) -> None:
    with Gunicorn({**env, "RESPONDER_PIN_WORKERS": "false"}, workers=2) as server:
        assert cores_of(two_workers(server)) == [set(CORES), set(CORES)]
