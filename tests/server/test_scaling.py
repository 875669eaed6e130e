"""Several service instances on one Redis behave as one responder.

Every instance is a real gunicorn with two worker processes; they share one Redis server and
one ABC simulator. What is asserted comes from the simulator's own records.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import time
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
import redis

from responder.model import Outcome
from responder.simulator import Simulator
from responder.store import open_store
from tests.harness import API_KEY, SECRET, Gunicorn, free_port, wait_for

# Every message gets an answer of its own, so "one reply per message" is exact.
RULES = """
rules:
  - name: echo
    fallback: true
    cooldown: 0s
    text: "Re: {{ message.text }}"
"""


@pytest.fixture
def sim() -> Iterator[Simulator]:
    with Simulator(api_key=API_KEY, webhook_secret=SECRET) as simulator:
        yield simulator


@pytest.fixture
def store_url(redis_url: str, redis_prefixes: Callable[[], str]) -> str:
    """The shared Redis, under a key prefix of this test's own (deleted afterwards)."""
    return f"{redis_url}?prefix={redis_prefixes()}"


@pytest.fixture
def rules(tmp_path: Path) -> Path:
    folder = tmp_path / "rules"
    folder.mkdir()
    (folder / "echo.yaml").write_text(RULES)
    return folder


def instance_env(sim: Simulator, store_url: str, rules: Path, **extra: str) -> dict[str, str]:
    return {
        "ABC_API_KEY": API_KEY,
        "ABC_API_URL": sim.base_url,
        "ABC_WEBHOOK_SECRET": SECRET,
        "RESPONDER_STORE": store_url,
        "RESPONDER_RULES": str(rules),
        "RESPONDER_TEMPLATES": str(rules.parent / "templates"),
        "RESPONDER_RELEASES_DIR": str(rules.parent / "releases"),
        "RESPONDER_REPLY_BUDGET": "1000",
        "RESPONDER_LEASE": "3s",
        "RESPONDER_JOB_DEADLINE": "2s",
        "RESPONDER_JANITOR_INTERVAL": "0.5s",
        **extra,
    }


def prepared(sim: Simulator, lead: str, text: str, **fields: Any) -> tuple[bytes, dict[str, str]]:
    made = sim.say(lead, text, deliver=False, **fields)
    assert isinstance(made, dict)
    return made["body"], made["headers"]


@pytest.fixture
def http() -> Iterator[httpx.Client]:
    # One pooled client: building a client per request costs more CPU than the request.
    with httpx.Client(timeout=30, limits=httpx.Limits(max_connections=64)) as client:
        yield client


def post(http: httpx.Client, url: str, body: bytes, headers: dict[str, str]) -> int:
    return http.post(f"{url}/webhook", content=body, headers=headers).status_code


def replies_by_text(sim: Simulator) -> Counter[str]:
    return Counter(reply["content"] for reply in sim.replies())


def test_three_instances_answer_each_message_exactly_once(
    sim: Simulator, rules: Path, store_url: str, http: httpx.Client
) -> None:
    rng = random.Random(7)
    with ExitStack() as stack:
        env = instance_env(
            sim, store_url, rules, RESPONDER_JOB_DEADLINE="20s", RESPONDER_LEASE="30s"
        )
        instances = [stack.enter_context(Gunicorn(env, workers=2)) for _ in range(3)]
        # 200 leads; 700 distinct messages, 60 of them from leads whose window closed a
        # day ago; 300 more deliveries are duplicates of those 700.
        messages: list[tuple[str, bytes, dict[str, str]]] = []
        for i in range(700):
            lead = f"lead-{i % 200}"
            late = i % 200 >= 180
            text = f"question {i}"
            at = timedelta(hours=25) if late else None
            messages.append((text, *prepared(sim, lead, text, at=at)))
        plan: list[tuple[int, int]] = []  # (message index, instance)
        for index in range(700):
            plan.append((index, index % 3))
        for index in rng.sample(range(700), 300):
            plan.append((index, (index + 1) % 3))  # the copy goes to another instance
        rng.shuffle(plan)

        def deliver(step: tuple[int, int]) -> int:
            index, instance = step
            _, body, headers = messages[index]
            return post(http, instances[instance].url, body, headers)

        with ThreadPoolExecutor(32) as pool:
            statuses = Counter(pool.map(deliver, plan))
        assert statuses == {202: 700, 200: 300}

        store = open_store(store_url)
        try:
            wait_for(lambda: store.pending() == 0, timeout=60, what="every job to finish")
            decisions = [
                d for d in store.decisions(limit=5000) if d.outcome is not Outcome.DUPLICATE
            ]
        finally:
            store.close()

    replied = replies_by_text(sim)
    late = {text for i, (text, _, _) in enumerate(messages) if i % 200 >= 180}
    for text, _, _ in messages:
        expected = 0 if text in late else 1
        assert replied[f"Re: {text}"] == expected, text
    assert sum(replied.values()) == 700 - len(late)
    assert len(decisions) == 700
    assert len({d.key for d in decisions}) == 700
    outcomes = Counter(d.outcome for d in decisions)
    assert outcomes == {Outcome.SENT: 640, Outcome.WINDOW_CLOSED: 60}


def kill_instance(server: Gunicorn) -> None:
    """SIGKILL the whole instance: workers and master, nothing gets to clean up."""
    assert server.process is not None
    for pid in server.worker_pids():
        os.kill(pid, signal.SIGKILL)
    server.process.kill()
    server.process.wait()


def test_jobs_of_a_killed_instance_are_finished_by_the_others(
    sim: Simulator, rules: Path, store_url: str, http: httpx.Client
) -> None:
    # The lease outlives the deadline by more than the simulator takes to store a reply: a
    # takeover must not look at the conversation while the dead instance's reply is still
    # on its way (docs/service.md, "Processes dying").
    env = instance_env(sim, store_url, rules, RESPONDER_LEASE="6s")
    with ExitStack() as stack:
        doomed, *survivors = [stack.enter_context(Gunicorn(env, workers=2)) for _ in range(3)]
        deliveries = [prepared(sim, f"lead-{i}", f"question {i}") for i in range(20)]
        # Half the replies are stored after their sender died, half are lost with it.
        sim.set_latency(1.5)
        for i, (body, headers) in enumerate(deliveries):
            if i % 2:
                sim.inject({"kind": "drop_before_store"})
            assert post(http, doomed.url, body, headers) == 202
        wait_for(lambda: sim.stats()["requests"] >= 20, what="the doomed instance to send")
        kill_instance(doomed)
        sim.set_latency(0)

        store = open_store(store_url)
        try:
            wait_for(lambda: store.pending() == 0, timeout=60, what="the survivors to finish")
            decisions = store.decisions(limit=100)
        finally:
            store.close()
        assert survivors  # still running

    replied = replies_by_text(sim)
    assert all(replied[f"Re: question {i}"] == 1 for i in range(20)), replied
    assert len(decisions) == 20 and {d.outcome for d in decisions} == {Outcome.SENT}


class RedisServer:
    """A private redis-server that keeps its data on disk across a stop and a start."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        self.process = subprocess.Popen(
            [
                "redis-server",
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "yes",
                "--appendfsync",
                "always",
                "--dir",
                str(self.folder),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        client = redis.Redis(port=self.port)
        try:
            wait_for(lambda: _answers(client), what="redis-server to start")
        finally:
            client.close()

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()  # SIGTERM: redis writes its append-only file and exits
            self.process.wait(timeout=30)


def _answers(client: redis.Redis) -> bool:
    try:
        return bool(client.ping())
    except redis.exceptions.ConnectionError:
        return False


@pytest.mark.usefixtures("redis_url")  # needs redis-server, as the other Redis tests do
def test_redis_down_means_503_and_nothing_accepted_is_lost(
    sim: Simulator, rules: Path, tmp_path: Path, http: httpx.Client
) -> None:
    server = RedisServer(tmp_path)
    server.start()
    try:
        env = instance_env(sim, server.url, rules)
        with Gunicorn(env, workers=2) as instance:
            before = [prepared(sim, f"lead-{i}", f"before {i}") for i in range(10)]
            during = [prepared(sim, f"lead-{i}", f"during {i}") for i in range(10)]
            sim.set_latency(0.5)  # replies still in flight when Redis goes away
            assert [post(http, instance.url, *d) for d in before] == [202] * 10
            server.stop()
            assert [post(http, instance.url, *d) for d in during] == [503] * 10
            ready = http.get(f"{instance.url}/readyz")
            assert ready.status_code == 503 and "store unavailable" in ready.json()["reason"]
            time.sleep(1)
            server.start()
            sim.set_latency(0)
            wait_for(
                lambda: http.get(f"{instance.url}/readyz").status_code == 200,
                what="the service to recover",
            )
            # The platform redelivers what was refused.
            assert [post(http, instance.url, *d) for d in during] == [202] * 10
            store = open_store(server.url)
            try:
                wait_for(lambda: store.pending() == 0, timeout=60, what="every job to finish")
                decisions = store.decisions(limit=100)
            finally:
                store.close()
    finally:
        server.stop()
    replied = replies_by_text(sim)
    for i in range(10):
        assert replied[f"Re: before {i}"] == 1 and replied[f"Re: during {i}"] == 1
    assert len(decisions) == 20 and {d.outcome for d in decisions} == {Outcome.SENT}
