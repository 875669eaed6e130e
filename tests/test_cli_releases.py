"""publish, releases, rollback and export, as a rule author runs them."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from responder.cli import main
from responder.instances import INSTANCE_FORGOTTEN, Instance
from responder.model import DecisionRecord, Outcome, utcnow
from responder.release import ReleaseSource
from responder.store import open_instances, open_releases, open_store
from tests.rulebooks import write_book

GOOD = """
rules:
  - name: pricing
    keywords: [price]
    reply: answer
    examples: ["what's the price?"]
"""
# The example now goes to no rule: check fails, so nothing may go live.
FAILING_EXAMPLE = GOOD.replace('["what\'s the price?"]', '["how much is it?"]')


def run(*argv: str) -> int:
    return main(list(argv))


@pytest.fixture
def book(tmp_path: Path) -> tuple[str, str, str]:
    rules, templates = write_book(tmp_path / "book", GOOD)
    return str(rules), str(templates), str(tmp_path / "state.db")


def folder_args(book: tuple[str, str, str]) -> list[str]:
    rules, templates, store = book
    return ["--rules", rules, "--templates", templates, "--store", store]


def test_publish_makes_the_checked_folder_the_live_release(
    book: tuple[str, str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    assert run("publish", *folder_args(book), "--note", "first prices") == 0
    out = capsys.readouterr().out
    assert "OK: 0 error(s)" in out and "Release 1 is live" in out
    releases = open_releases(book[2])
    try:
        assert releases.live_number() == 1
        release = releases.release(1)
        assert release is not None and release.note == "first prices"
        assert release.source is ReleaseSource.CLI and "OK: 0 error(s)" in release.report
        assert set(release.files) == {
            "rules/rules.yaml",
            "templates/answer.j2",
            "templates/other.j2",
        }
    finally:
        releases.close()


def test_publishing_a_book_whose_example_fails_is_refused_and_changes_nothing(
    book: tuple[str, str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    assert run("publish", *folder_args(book)) == 0
    Path(book[0], "rules.yaml").write_text(FAILING_EXAMPLE)
    capsys.readouterr()
    assert run("publish", *folder_args(book)) == 1
    out = capsys.readouterr().out
    assert 'the example "how much is it?" was answered by no rule' in out
    assert "Not published" in out and "the live release is unchanged" in out
    releases = open_releases(book[2])
    try:
        assert releases.live_number() == 1 and len(releases.releases()) == 1
    finally:
        releases.close()


def test_publishing_the_live_files_again_publishes_nothing(
    book: tuple[str, str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    assert run("publish", *folder_args(book)) == 0
    assert run("publish", *folder_args(book)) == 0
    assert "these files are the live release 1" in capsys.readouterr().out


def test_releases_rollback_and_export(
    book: tuple[str, str, str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    store = ["--store", book[2]]
    assert run("releases", *store) == 0
    assert "No release yet" in capsys.readouterr().out
    assert run("publish", *folder_args(book), "--note", "old") == 0
    Path(book[1], "answer.j2").write_text("New answer")
    assert run("publish", *folder_args(book), "--note", "new") == 0
    assert run("rollback", "1", *store) == 0
    assert "Release 3 is live (the files of release 1)" in capsys.readouterr().out

    assert run("releases", *store) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == "Times in UTC."
    assert lines[1].split()[:2] == ["live", "3"]
    assert [line.split()[0] for line in lines[2:4]] == ["2", "1"]
    assert lines[4:] == ["", "Release 3: no instance has reported yet."]
    assert "rollback" in lines[1] and "back to release 1" in lines[1] and "new" in lines[2]

    out = tmp_path / "exported"
    assert run("export", "2", str(out), *store) == 0
    assert (out / "templates" / "answer.j2").read_text() == "New answer"
    assert run("export", "2", str(out), *store) == 1  # never overwrites
    assert "is not empty" in capsys.readouterr().err


def test_rollback_to_a_release_that_does_not_exist_says_so(
    book: tuple[str, str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    assert run("rollback", "7", "--store", book[2]) == 1
    assert "There is no release 7" in capsys.readouterr().err


def test_log_names_the_release_of_each_decision(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    store_path = str(tmp_path / "responder.db")
    store = open_store(store_path)
    at = datetime(2026, 12, 2, 6, 1, 15, tzinfo=UTC)
    store.finish(DecisionRecord("k1", "42", Outcome.SENT, at, rule="hours", release=3))
    store.finish(DecisionRecord("k2", "43", Outcome.NO_MATCH, at, reason="nothing matched"))
    store.close()
    assert run("log", "--store", store_path) == 0
    lines = capsys.readouterr().out.splitlines()
    assert [line.endswith("[release 3]") for line in lines[1:]] == [False, True]


def test_releases_says_which_release_each_instance_serves(
    book: tuple[str, str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    assert run("publish", *folder_args(book)) == 0
    Path(book[1], "answer.j2").write_text("New answer")
    assert run("publish", *folder_args(book)) == 0
    instances = open_instances(book[2])
    try:
        now = utcnow()
        for name, release, ago in (
            ("web-1:40:a1", 2, 1),
            ("web-2:41:b2", 1, 1),
            ("old:9:c3", 1, 60),
        ):
            seen = now - timedelta(seconds=ago)
            record = Instance(name, release, now - timedelta(hours=1), seen)
            instances.heartbeat(record, forget=INSTANCE_FORGOTTEN)
    finally:
        instances.close()
    capsys.readouterr()
    assert run("releases", "--store", book[2]) == 0
    out = capsys.readouterr().out.splitlines()
    tail = out[out.index("") + 1 :]
    assert tail[0] == "Release 2: served by 1 of 2 instances."
    assert tail[1].startswith("  web-1, process 40: Serves release 2; last report ")
    assert tail[2].startswith("  web-2, process 41: Still on release 1; last report ")
    assert tail[3].startswith("  old, process 9: Not heard from since ")  # the quiet ones last
