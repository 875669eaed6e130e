"""Releases on running services: a broken folder never stops one, a publish reaches them all.

Real gunicorn processes on real stores, the simulator as the ABC API; what is asserted is
the reply the simulator received.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from pathlib import Path

import httpx
import pytest

from responder.model import Outcome
from responder.simulator import Simulator
from responder.store import open_store
from tests.harness import API_KEY, SECRET, Gunicorn, wait_for

OLD_REPLY = "We open at nine."
NEW_REPLY = "New hours: we open at eight."
RULES = """
rules:
  - name: hours
    keywords: [opening hours]
    cooldown: 0s
    reply: hours
    examples: ["what are your opening hours?"]
"""
BROKEN = RULES.replace("keywords:", "keyword:")  # one misspelled key


@pytest.fixture
def sim() -> Iterator[Simulator]:
    with Simulator(api_key=API_KEY, webhook_secret=SECRET) as simulator:
        yield simulator


def write_folder(root: Path, rules: str, reply: str) -> Path:
    """A rules folder and its templates folder beside it; returns the rules folder."""
    for part in ("rules", "templates"):
        shutil.rmtree(root / part, ignore_errors=True)
        (root / part).mkdir(parents=True)
    (root / "rules" / "book.yaml").write_text(rules)
    (root / "templates" / "hours.j2").write_text(reply)
    return root / "rules"


def env(sim: Simulator, store: str, folder: Path, **extra: str) -> dict[str, str]:
    return {
        "ABC_API_KEY": API_KEY,
        "ABC_API_URL": sim.base_url,
        "ABC_WEBHOOK_SECRET": SECRET,
        "RESPONDER_STORE": store,
        "RESPONDER_RULES": str(folder),
        "RESPONDER_TEMPLATES": str(folder.parent / "templates"),
        "RESPONDER_RELEASES_DIR": str(folder.parent / "releases"),
        "RESPONDER_REPLY_BUDGET": "1000",
        **extra,
    }


def answer(sim: Simulator, server: Gunicorn, lead: str) -> str:
    """Ask the server as a new lead; the reply the simulator got."""
    response = httpx.post(
        f"{server.url}/webhook", **_delivery(sim, lead, "What are your opening hours?"), timeout=10
    )
    assert response.status_code == 202, response.text
    replies = wait_for(lambda: sim.replies(lead), what=f"the reply to lead {lead}")
    return str(replies[0]["content"])


def _delivery(sim: Simulator, lead: str, text: str) -> dict[str, object]:
    made = sim.say(lead, text, deliver=False)
    assert isinstance(made, dict)
    return {"content": made["body"], "headers": made["headers"]}


def rules_status(server: Gunicorn) -> dict[str, object]:
    ready = httpx.get(f"{server.url}/readyz", timeout=15)  # a worker just forked may be slow
    assert ready.status_code == 200, ready.text
    rules: dict[str, object] = ready.json()["rules"]
    return rules


def test_a_broken_folder_and_hup_leave_the_last_good_release_serving(
    sim: Simulator, tmp_path: Path
) -> None:
    folder = write_folder(tmp_path, RULES, OLD_REPLY)
    with Gunicorn(env(sim, str(tmp_path / "state.db"), folder), workers=2) as server:
        assert answer(sim, server, "1") == OLD_REPLY
        write_folder(tmp_path, BROKEN, NEW_REPLY)
        workers = set(server.worker_pids())
        assert server.process is not None
        server.process.send_signal(signal.SIGHUP)  # gunicorn starts new workers
        # Only the two new workers: the old ones finish their requests and exit meanwhile.
        wait_for(
            lambda: (now := set(server.worker_pids())).isdisjoint(workers) and len(now) == 2,
            what="the old workers replaced by two new ones after HUP",
            timeout=30,
        )
        wait_for(lambda: rules_status(server)["folder"] == "1 error(s), not published")
        assert server.process.poll() is None
        assert rules_status(server)["live"] == 1
        assert answer(sim, server, "2") == OLD_REPLY
        os.kill(server.worker_pids()[0], signal.SIGKILL)  # a worker dies and is replaced
        wait_for(lambda: len(server.worker_pids()) == 2, what="the worker to be replaced")
        for lead in ("3", "4", "5"):
            assert answer(sim, server, lead) == OLD_REPLY
        assert "Worker failed to boot" not in server.output()


def publish(store: str, folder: Path, *command: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "responder.cli", *command, "--store", store],
        cwd=folder.parent,
        capture_output=True,
        text=True,
        check=False,
    )


def serving(servers: list[Gunicorn], number: int) -> None:
    """Every server serves release ``number`` within 2 s (the promise to the publisher)."""
    wait_for(
        lambda: all(rules_status(s)["live"] == number for s in servers),
        timeout=2,
        what=f"every instance to serve release {number}",
    )


def test_a_publish_and_a_rollback_reach_every_instance_within_two_seconds(
    sim: Simulator, tmp_path: Path, redis_url: str, redis_prefixes: Callable[[], str]
) -> None:
    store = f"{redis_url}?prefix={redis_prefixes()}"
    folder = write_folder(tmp_path / "image", RULES, OLD_REPLY)
    with ExitStack() as stack:
        servers = [
            stack.enter_context(Gunicorn(env(sim, store, folder), workers=1)) for _ in range(2)
        ]
        assert [answer(sim, s, f"a{i}") for i, s in enumerate(servers)] == [OLD_REPLY] * 2
        # Both started from the same folder: it was imported once.
        assert [rules_status(s)["live"] for s in servers] == [1, 1]

        new = write_folder(tmp_path / "desk", RULES, NEW_REPLY)
        published = publish(
            store, new, "publish", "--rules", str(new), "--templates", str(new.parent / "templates")
        )
        assert published.returncode == 0, published.stdout + published.stderr
        serving(servers, 2)
        assert [answer(sim, s, f"b{i}") for i, s in enumerate(servers)] == [NEW_REPLY] * 2

        rolled = publish(store, new, "rollback", "1")
        assert rolled.returncode == 0, rolled.stdout + rolled.stderr
        serving(servers, 3)
        assert [answer(sim, s, f"c{i}") for i, s in enumerate(servers)] == [OLD_REPLY] * 2


def test_a_publish_while_deliveries_arrive_gives_each_one_outcome_naming_its_release(
    sim: Simulator, tmp_path: Path
) -> None:
    db = str(tmp_path / "state.db")
    folder = write_folder(tmp_path / "image", RULES, OLD_REPLY)
    new = write_folder(tmp_path / "desk", RULES, NEW_REPLY)
    leads = [f"L{i}" for i in range(300)]
    deliveries = [_delivery(sim, lead, "What are your opening hours?") for lead in leads]
    with Gunicorn(env(sim, db, folder), workers=2) as server, httpx.Client(timeout=10) as client:
        statuses: list[int] = []
        start = time.monotonic()
        for i, delivery in enumerate(deliveries):  # 100 per second for 3 s
            time.sleep(max(0.0, start + i / 100 - time.monotonic()))
            statuses.append(client.post(f"{server.url}/webhook", **delivery).status_code)
            if i == 100:
                published = publish(
                    db,
                    new,
                    "publish",
                    "--rules",
                    str(new),
                    "--templates",
                    str(new.parent / "templates"),
                )
                assert published.returncode == 0, published.stdout + published.stderr
        assert statuses == [202] * len(leads)
        store = open_store(db)
        try:
            records = wait_for(
                lambda: (
                    (found := store.decisions(limit=1000)) and len(found) == len(leads) and found
                ),
                what="an outcome for every delivery",
            )
        finally:
            store.close()
    assert sorted(r.lead_id for r in records) == sorted(leads)
    replies = {r["lead_id"]: r["content"] for r in sim.replies()}
    assert len(sim.replies()) == len(leads)
    for record in records:
        assert record.outcome is Outcome.SENT and record.release in (1, 2)
        assert replies[record.lead_id] == (OLD_REPLY if record.release == 1 else NEW_REPLY)
    assert {r.release for r in records} == {1, 2}
