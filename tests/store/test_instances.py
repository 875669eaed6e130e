"""The instance store's contract (who serves which release), on SQLite and on Redis alike."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from responder.instances import Instance
from responder.ports import InstanceStore
from responder.release import ReleaseSource
from responder.store import open_instances, open_releases

NOW = datetime(2026, 12, 3, 9, 0, tzinfo=UTC)
FORGET = timedelta(minutes=10)
InstancesFactory = Callable[[], InstanceStore]


@pytest.fixture(params=["sqlite", "redis"])
def url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return str(tmp_path / "state.db")
    prefix = request.getfixturevalue("redis_prefixes")()
    return f"{request.getfixturevalue('redis_url')}?prefix={prefix}"


@pytest.fixture
def factory(url: str) -> Iterator[InstancesFactory]:
    """Handles on ONE fresh instance store (each call: another process)."""
    opened: list[InstanceStore] = []

    def open_one() -> InstanceStore:
        opened.append(open_instances(url))
        return opened[-1]

    yield open_one
    for handle in opened:
        handle.close()


def instance(
    name: str,
    release: int | None = 1,
    *,
    at: datetime = NOW,
    started_at: datetime = NOW - timedelta(hours=1),
    every: timedelta = timedelta(seconds=5),
    failed: int | None = None,
    problem: str = "",
) -> Instance:
    return Instance(name, release, started_at, at, every, failed, problem)


def test_no_instance_before_any_heartbeat(factory: InstancesFactory) -> None:
    assert factory().instances(now=NOW, forget=FORGET) == []


def test_every_process_sees_every_heartbeat_whole(factory: InstancesFactory) -> None:
    one, two = factory(), factory()
    failing = instance(
        "web-2:41:b2c3",
        6,
        started_at=NOW - timedelta(minutes=5),
        every=timedelta(seconds=7),
        failed=7,
        problem="the time zone Mars/Olympus_Mons is not known on this machine",
    )
    one.heartbeat(instance("web-1:40:a1b2"), forget=FORGET)
    two.heartbeat(failing, forget=FORGET)
    seen = factory().instances(now=NOW, forget=FORGET)
    assert seen == [instance("web-1:40:a1b2"), failing]  # the longest running first


def test_a_heartbeat_replaces_the_instances_earlier_record(factory: InstancesFactory) -> None:
    store = factory()
    store.heartbeat(instance("web-1:40:a1b2", 6), forget=FORGET)
    later = instance("web-1:40:a1b2", 7, at=NOW + timedelta(seconds=5))
    store.heartbeat(later, forget=FORGET)
    assert store.instances(now=later.seen_at, forget=FORGET) == [later]


def test_an_instance_started_on_its_folder_has_no_release(factory: InstancesFactory) -> None:
    store = factory()
    store.heartbeat(instance("web-1:40:a1b2", None), forget=FORGET)
    assert [i.release for i in store.instances(now=NOW, forget=FORGET)] == [None]


def test_a_stopping_instance_leaves_the_list(factory: InstancesFactory) -> None:
    store = factory()
    store.heartbeat(instance("web-1:40:a1b2"), forget=FORGET)
    store.heartbeat(instance("web-1:41:c3d4"), forget=FORGET)
    factory().leave("web-1:40:a1b2")
    factory().leave("never-was:1:0000")  # nothing to remove: no error
    assert [i.name for i in store.instances(now=NOW, forget=FORGET)] == ["web-1:41:c3d4"]


def test_an_instance_not_heard_from_for_the_forget_period_is_not_listed(
    factory: InstancesFactory,
) -> None:
    store = factory()
    store.heartbeat(instance("gone:40:a1b2", at=NOW), forget=FORGET)
    store.heartbeat(instance("here:41:c3d4", at=NOW + FORGET - timedelta(seconds=1)), forget=FORGET)
    assert [i.name for i in store.instances(now=NOW + FORGET, forget=FORGET)] == [
        "gone:40:a1b2",
        "here:41:c3d4",
    ]
    later = NOW + FORGET + timedelta(seconds=1)
    assert [i.name for i in store.instances(now=later, forget=FORGET)] == ["here:41:c3d4"]
    # and a later heartbeat drops the old record for good, whatever "now" a reader asks at
    store.heartbeat(instance("here:41:c3d4", at=later), forget=FORGET)
    assert [i.name for i in store.instances(now=NOW, forget=FORGET)] == ["here:41:c3d4"]


def test_a_long_problem_is_kept_short(factory: InstancesFactory) -> None:
    store = factory()
    store.heartbeat(instance("web-1:40:a1b2", failed=2, problem="x" * 5000), forget=FORGET)
    (found,) = store.instances(now=NOW, forget=FORGET)
    assert found.failed == 2 and 0 < len(found.problem) <= 300


def test_the_records_live_beside_the_releases(url: str, factory: InstancesFactory) -> None:
    """One store URL opens both; neither disturbs the other."""
    releases = open_releases(url)
    try:
        factory().heartbeat(instance("web-1:40:a1b2"), forget=FORGET)
        assert releases.live_number() is None
        releases.publish(
            {"rules/a.yaml": "rules: []\n"},
            author="a",
            source=ReleaseSource.CLI,
            note="",
            report="",
            now=NOW,
        )
        assert releases.live_number() == 1
        assert len(factory().instances(now=NOW, forget=FORGET)) == 1
    finally:
        releases.close()
