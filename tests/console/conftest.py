"""Fixtures of the console tests: a copy of the project's rule book, a service on it, accounts."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from responder.accounts import Role
from responder.console.accounts import add_account
from responder.simulator import Simulator
from responder.store import open_accounts
from tests.harness import API_KEY, ROOT, SECRET, Running, serve_in_thread, service_config

if TYPE_CHECKING:
    from playwright.sync_api import Browser

PASSWORD = "correct horse battery"
# Debian's chromium (browser downloads are impossible here); the browser test modules skip
# without it (tests/console/test_browser.py).
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
VIEWER_PASSWORD = "only looking here"


@pytest.fixture
def sim() -> Iterator[Simulator]:
    with Simulator(api_key=API_KEY, webhook_secret=SECRET) as simulator:
        yield simulator


@pytest.fixture
def book(tmp_path: Path) -> Path:
    """A copy of the project's rules and templates folders; returns their parent."""
    for part in ("rules", "templates"):
        shutil.copytree(ROOT / part, tmp_path / part)
    return tmp_path


def console_config(sim: Simulator, book: Path, **overrides: Any) -> dict[str, Any]:
    settings: dict[str, Any] = {
        "rules_dir": book / "rules",
        "templates_dir": book / "templates",
        "releases_dir": book / "releases",
        "console_secret": "test-secret-" + "x" * 24,
        "release_poll": timedelta(seconds=0.1),
        "reply_budget": 1000,
        **overrides,
    }
    return service_config(sim, book, **settings)


def add_people(book: Path) -> None:
    """An editor 'sam' and a viewer 'vic' in the store of ``console_config``."""
    accounts = open_accounts(str(book / "responder.db"))
    try:
        add_account(accounts, "sam", Role.EDITOR, PASSWORD, by="test")
        add_account(accounts, "vic", Role.VIEWER, VIEWER_PASSWORD, by="test")
    finally:
        accounts.close()


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    """One headless chromium for a module's tests."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield launched
        launched.close()


@pytest.fixture
def served(sim: Simulator, book: Path) -> Iterator[Running]:
    """The service with the console, its people added, over real HTTP in this process."""
    add_people(book)
    with serve_in_thread(console_config(sim, book)) as running:
        yield running
