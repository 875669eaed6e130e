"""While developing, a saved rules folder is published when it passes check, never when not."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from responder.config import Config
from responder.server.watch import FolderWatcher
from responder.store import open_releases
from tests.harness import wait_for
from tests.rulebooks import write_book

RULES = "rules:\n  - name: a\n    keywords: [price]\n    reply: answer\n"


@pytest.fixture
def watched(tmp_path: Path) -> Iterator[tuple[Config, list[str]]]:
    rules, templates = write_book(tmp_path, RULES)
    config = Config(rules_dir=rules, templates_dir=templates, store_url=str(tmp_path / "s.db"))
    said: list[str] = []
    watcher = FolderWatcher(config, said.append)
    watcher.start()
    try:
        yield config, said
    finally:
        watcher.stop()


def live(config: Config) -> int | None:
    releases = open_releases(config.store_url)
    try:
        return releases.live_number()
    finally:
        releases.close()


def test_a_valid_save_goes_live_and_an_invalid_one_is_reported_not_published(
    watched: tuple[Config, list[str]],
) -> None:
    config, said = watched
    (config.templates_dir / "answer.j2").write_text("New price list")
    wait_for(lambda: live(config) == 1, timeout=10, what="the save to be published")
    wait_for(lambda: said == ["rules saved: release 1 is live"], timeout=10, what="the report")

    (config.rules_dir / "rules.yaml").write_text(RULES.replace("keywords", "keyword"))
    wait_for(lambda: len(said) == 2, timeout=10, what="the problems to be reported")
    assert said[1].startswith("rules saved, NOT published (1 error(s)):")
    assert "'keyword' is not a rule key; did you mean 'keywords'?" in said[1]
    assert live(config) == 1
