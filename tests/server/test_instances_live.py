"""Under real gunicorn, every worker says in the store which release it serves, and the
console over HTTP says when every one serves a new release.

Real worker processes on real SQLite and Redis, the simulator as the ABC API, the CLI
publishing as a person does; what is asserted is what the store and the console say.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest

from responder.accounts import Role
from responder.console.accounts import add_account
from responder.instances import INSTANCE_FORGOTTEN
from responder.model import utcnow
from responder.simulator import Simulator
from responder.store import open_accounts, open_instances
from tests.harness import API_KEY, SECRET, Gunicorn, wait_for
from tests.server.test_live_release import NEW_REPLY, OLD_REPLY, RULES, env, publish, write_folder

PASSWORD = "correct horse battery"


@pytest.fixture
def sim() -> Iterator[Simulator]:
    with Simulator(api_key=API_KEY, webhook_secret=SECRET) as simulator:
        yield simulator


@pytest.fixture(params=["sqlite", "redis"])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return str(tmp_path / "state.db")
    prefixes: Callable[[], str] = request.getfixturevalue("redis_prefixes")
    return f"{request.getfixturevalue('redis_url')}?prefix={prefixes()}"


def reported(store_url: str) -> dict[int, int | None]:
    """Each process's pid -> the release it last said it serves."""
    store = open_instances(store_url)
    try:
        found = store.instances(now=utcnow(), forget=INSTANCE_FORGOTTEN)
    finally:
        store.close()
    return {int(i.name.split(":")[1]): i.release for i in found}


def log_in(client: httpx.Client) -> None:
    page = client.get("/console/login").text
    token = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert token, page
    form = {"name": "sam", "password": PASSWORD, "csrf_token": token.group(1)}
    assert client.post("/console/login", data=form).status_code == 302


def test_every_worker_reports_and_both_report_a_publish(
    sim: Simulator, tmp_path: Path, store_url: str
) -> None:
    accounts = open_accounts(store_url)
    try:
        add_account(accounts, "sam", Role.EDITOR, PASSWORD, by="test")
    finally:
        accounts.close()
    folder = write_folder(tmp_path / "image", RULES, OLD_REPLY)
    settings = env(sim, store_url, folder, RESPONDER_CONSOLE_SECRET="s" * 32)
    with Gunicorn(settings, workers=2) as server, httpx.Client(base_url=server.url) as console:
        log_in(console)
        workers = set(server.worker_pids())
        assert len(workers) == 2
        wait_for(
            lambda: reported(store_url) == dict.fromkeys(workers, 1),
            what="both workers to report release 1",
        )
        assert "Release 1: served by 2 of 2 instances." in console.get("/console/releases").text

        new = write_folder(tmp_path / "desk", RULES, NEW_REPLY)
        templates = str(new.parent / "templates")
        published = publish(
            store_url, new, "publish", "--rules", str(new), "--templates", templates
        )
        assert published.returncode == 0, published.stdout + published.stderr
        wait_for(
            lambda: reported(store_url) == dict.fromkeys(workers, 2),
            what="both workers to report release 2",
        )
        # Whichever worker answers, the console says what both said.
        for _ in range(4):
            said = console.get("/console/instances", params={"release": 2}).text
            assert "Release 2: served by 2 of 2 instances." in said
            assert "hx-trigger" not in said  # done: the page stops asking
    # Stopped cleanly: each worker removed its record.
    assert reported(store_url) == {}
