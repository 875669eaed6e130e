"""One process following the live release (responder/server/live.py), driven by hand."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from responder.config import Config
from responder.engine.rulebook import RuleBook
from responder.errors import RuleBookError
from responder.release import ReleaseSource
from responder.server.live import LiveRelease, first_book
from responder.store import open_releases
from tests.rulebooks import write_book

RULES = "rules:\n  - name: a\n    keywords: [price]\n    reply: answer\n"
NOW = datetime(2026, 12, 3, tzinfo=UTC)


def setup(tmp_path: Path, rules: str = RULES) -> Config:
    rules_dir, templates_dir = write_book(tmp_path / "folder", rules)
    return Config(
        rules_dir=rules_dir, templates_dir=templates_dir, store_url=str(tmp_path / "s.db")
    )


def test_the_first_start_publishes_the_folder_as_release_1(tmp_path: Path) -> None:
    config = setup(tmp_path)
    with_store = open_releases(config.store_url)
    try:
        first = first_book(config, with_store, tmp_path / "releases")
        assert (first.release, first.folder) == (1, "published as release 1")
        assert [r.name for r in first.book.all_rules] == ["a"]
        again = first_book(config, with_store, tmp_path / "releases")
        assert (again.release, again.folder) == (1, "unchanged")
    finally:
        with_store.close()


def test_a_broken_folder_without_any_release_refuses_to_start(tmp_path: Path) -> None:
    config = setup(tmp_path, RULES.replace("keywords", "keyword"))
    releases = open_releases(config.store_url)
    try:
        with pytest.raises(RuleBookError, match="'keyword' is not a rule key"):
            first_book(config, releases, tmp_path / "releases")
        assert releases.live_number() is None
    finally:
        releases.close()


def test_a_release_this_host_cannot_load_leaves_the_book_serving_and_says_so(
    tmp_path: Path,
) -> None:
    config = setup(tmp_path)
    releases = open_releases(config.store_url)
    served: list[tuple[RuleBook, int | None]] = []
    try:
        first = first_book(config, releases, tmp_path / "releases")
        live = LiveRelease(
            config, releases, first, lambda b, n: served.append((b, n)), tmp_path / "releases"
        )
        # Published elsewhere, where this time zone exists; this machine has no such zone.
        foreign = {
            "rules/rules.yaml": "settings:\n  timezone: Mars/Olympus_Mons\n" + RULES,
            "templates/answer.j2": "Hi",
        }
        releases.publish(foreign, author="x", source=ReleaseSource.CLI, note="", report="", now=NOW)
        live.follow()
        assert served == [] and live.number == 1
        assert live.status() == {
            "live": 1,
            "folder": "published as release 1",
            "problem": "release 2 cannot be loaded here; serving 1",
        }
        releases.publish(
            {"rules/rules.yaml": RULES, "templates/answer.j2": "Hello"},
            author="x",
            source=ReleaseSource.CLI,
            note="",
            report="",
            now=NOW,
        )
        live.follow()
        assert [n for _, n in served] == [3] and "problem" not in live.status()
    finally:
        releases.close()
