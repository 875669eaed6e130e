"""One process recording itself in the store (responder/server/heartbeat.py), on a fixed
clock, and the release follower driving it (responder/server/live.py)."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from responder.config import Config
from responder.instances import INSTANCE_FORGOTTEN
from responder.ports import InstanceStore
from responder.release import ReleaseSource
from responder.server.heartbeat import Heartbeat
from responder.server.live import LiveRelease, first_book
from responder.store import open_instances, open_releases
from responder.store.redis_instances import RedisInstances
from tests.rulebooks import write_book

RULES = "rules:\n  - name: a\n    keywords: [price]\n    reply: answer\n"
START = datetime(2026, 12, 3, 9, 0, tzinfo=UTC)
EVERY = timedelta(seconds=5)


class Clock:
    def __init__(self) -> None:
        self.now = START

    def __call__(self) -> datetime:
        return self.now


def listed(store: InstanceStore, now: datetime) -> list[tuple[str, int | None, datetime]]:
    return [
        (i.name, i.release, i.seen_at) for i in store.instances(now=now, forget=INSTANCE_FORGOTTEN)
    ]


def test_it_writes_what_changed_at_once_and_the_same_once_per_interval(tmp_path: Path) -> None:
    store, clock = open_instances(str(tmp_path / "s.db")), Clock()
    try:
        beat = Heartbeat(store, "web-1:40:a1b2", every=EVERY, clock=clock)
        assert beat.beat(6)
        clock.now += timedelta(seconds=2)
        assert not beat.beat(6)  # nothing new, too soon: no write
        assert listed(store, clock.now) == [("web-1:40:a1b2", 6, START)]
        assert beat.beat(7)  # a new release served: written at once
        assert listed(store, clock.now) == [("web-1:40:a1b2", 7, clock.now)]
        clock.now += EVERY
        assert beat.beat(7)  # an interval on: written again, to say it is alive
        (record,) = store.instances(now=clock.now, forget=INSTANCE_FORGOTTEN)
        assert (record.started_at, record.seen_at, record.every) == (START, clock.now, EVERY)
        assert beat.beat(7, failed=8, problem="cannot load")
        (record,) = store.instances(now=clock.now, forget=INSTANCE_FORGOTTEN)
        assert (record.failed, record.problem) == (8, "cannot load")
        beat.leave()
        assert listed(store, clock.now) == []
    finally:
        store.close()


def test_a_store_that_fails_is_logged_once_and_raises_nothing(
    caplog: pytest.LogCaptureFixture,
) -> None:
    store, clock = RedisInstances("redis://127.0.0.1:1/0"), Clock()  # nothing listens there
    try:
        beat = Heartbeat(store, "web-1:40:a1b2", every=EVERY, clock=clock)
        with caplog.at_level(logging.WARNING, logger="responder.instances"):
            for _ in range(3):
                clock.now += EVERY
                assert not beat.beat(6)
            beat.leave()
        warnings = [r.getMessage() for r in caplog.records]
        assert len([w for w in warnings if "could not record this instance" in w]) == 1
        assert any("could not remove this instance's record" in w for w in warnings)
    finally:
        store.close()


def test_the_release_follower_reports_each_release_and_a_failed_one(tmp_path: Path) -> None:
    rules_dir, templates_dir = write_book(tmp_path / "folder", RULES)
    config = Config(
        rules_dir=rules_dir, templates_dir=templates_dir, store_url=str(tmp_path / "s.db")
    )
    releases, store, clock = (
        open_releases(config.store_url),
        open_instances(config.store_url),
        Clock(),
    )
    try:
        first = first_book(config, releases, tmp_path / "releases")
        beat = Heartbeat(store, "web-1:40:a1b2", every=EVERY, clock=clock)
        live = LiveRelease(
            config, releases, first, lambda b, n: None, tmp_path / "releases", heartbeat=beat
        )
        live.beat()
        assert listed(store, clock.now) == [("web-1:40:a1b2", 1, START)]
        foreign = {
            "rules/rules.yaml": "settings:\n  timezone: Mars/Olympus_Mons\n" + RULES,
            "templates/answer.j2": "Hi",
        }
        releases.publish(
            foreign, author="x", source=ReleaseSource.CLI, note="", report="", now=START
        )
        live.follow()
        live.beat()
        (record,) = store.instances(now=clock.now, forget=INSTANCE_FORGOTTEN)
        assert (record.release, record.failed) == (1, 2)
        assert "Mars/Olympus_Mons" in record.problem
        good = {"rules/rules.yaml": RULES, "templates/answer.j2": "Hello"}
        releases.publish(good, author="x", source=ReleaseSource.CLI, note="", report="", now=START)
        live.follow()
        live.beat()
        (record,) = store.instances(now=clock.now, forget=INSTANCE_FORGOTTEN)
        assert (record.release, record.failed, record.problem) == (3, None, "")
        live.stop()  # never started: stopping still removes the record
        assert listed(store, clock.now) == []
    finally:
        store.close()
        releases.close()
