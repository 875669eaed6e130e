"""The release store's contract, on SQLite and on Redis alike."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from responder.ports import RELEASES_KEPT, ReleaseStore
from responder.release import ReleaseSource, content_hash
from responder.store import open_releases

NOW = datetime(2026, 12, 3, 9, 0, tzinfo=UTC)
BOOK = {"rules/faq.yaml": "rules: []\n", "templates/hi.j2": "Hola, ¿qué tal? 🥐\n"}

ReleasesFactory = Callable[[], ReleaseStore]


@pytest.fixture(params=["sqlite", "redis"])
def releases_factory(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[ReleasesFactory]:
    """Handles on ONE fresh release store of each engine (each call: another process)."""
    if request.param == "sqlite":
        url = str(tmp_path / "state.db")
    else:
        url = (
            f"{request.getfixturevalue('redis_url')}?prefix="
            + request.getfixturevalue("redis_prefixes")()
        )
    opened: list[ReleaseStore] = []

    def open_one() -> ReleaseStore:
        opened.append(open_releases(url))
        return opened[-1]

    yield open_one
    for handle in opened:
        handle.close()


@pytest.fixture
def releases(releases_factory: ReleasesFactory) -> ReleaseStore:
    return releases_factory()


def publish(
    store: ReleaseStore,
    files: dict[str, str] = BOOK,
    source: ReleaseSource = ReleaseSource.CLI,
    at: datetime = NOW,
) -> int | None:
    release = store.publish(
        files, author="ana", source=source, note="new prices", report="OK", now=at
    )
    return None if release is None else release.number


def test_nothing_is_live_before_the_first_release(releases: ReleaseStore) -> None:
    assert releases.live_number() is None and releases.releases() == []
    assert releases.release(1) is None


def test_a_published_release_is_live_and_kept_whole(releases_factory: ReleasesFactory) -> None:
    first = releases_factory()
    assert publish(first) == 1
    other = releases_factory()  # another process sees it
    assert other.live_number() == 1
    release = other.release(1)
    assert release is not None
    assert release.files == BOOK
    assert (release.author, release.source, release.note, release.report) == (
        "ana",
        ReleaseSource.CLI,
        "new prices",
        "OK",
    )
    assert release.created_at == NOW and release.content_hash == content_hash(BOOK)


def test_releases_are_listed_newest_first_without_their_files(releases: ReleaseStore) -> None:
    for hour in range(3):
        publish(releases, {"rules/a.yaml": f"# {hour}\n"}, at=NOW + timedelta(hours=hour))
    listed = releases.releases()
    assert [r.number for r in listed] == [3, 2, 1]
    assert [r.created_at for r in listed] == [NOW + timedelta(hours=h) for h in (2, 1, 0)]
    assert all(r.files == {} for r in listed)
    assert [r.number for r in releases.releases(limit=2)] == [3, 2]


def test_a_rollback_is_a_new_live_release_with_the_old_files(releases: ReleaseStore) -> None:
    publish(releases, {"rules/a.yaml": "old\n"})
    publish(releases, {"rules/a.yaml": "new\n"})
    old = releases.release(1)
    assert old is not None
    back = releases.publish(
        dict(old.files),
        author="ana",
        source=ReleaseSource.ROLLBACK,
        note="back to release 1",
        report="OK",
        now=NOW,
    )
    assert back is not None and back.number == 3
    assert releases.live_number() == 3
    live = releases.release(3)
    assert live is not None and live.files == {"rules/a.yaml": "old\n"}
    assert live.source is ReleaseSource.ROLLBACK


def test_the_same_folder_is_imported_once(releases_factory: ReleasesFactory) -> None:
    a, b = releases_factory(), releases_factory()
    assert publish(a, source=ReleaseSource.FOLDER) == 1
    assert publish(b, source=ReleaseSource.FOLDER) is None  # a second instance, same image
    assert publish(b, {"rules/a.yaml": "changed\n"}, source=ReleaseSource.FOLDER) == 2
    # The same content from elsewhere is a release of its own.
    assert publish(a, source=ReleaseSource.CLI) == 3
    assert a.live_number() == 3


def test_concurrent_publishes_get_distinct_numbers(releases_factory: ReleasesFactory) -> None:
    handles = [releases_factory() for _ in range(4)]

    def one(i: int) -> int | None:
        return publish(handles[i % 4], {"rules/a.yaml": f"# {i}\n"})

    with ThreadPoolExecutor(4) as pool:
        numbers = list(pool.map(one, range(20)))
    assert sorted(n for n in numbers if n is not None) == list(range(1, 21))
    assert handles[0].live_number() == 20


def test_the_newest_releases_are_kept(releases: ReleaseStore) -> None:
    for i in range(RELEASES_KEPT + 3):
        publish(releases, {"rules/a.yaml": f"# {i}\n"})
    listed = releases.releases(limit=RELEASES_KEPT + 10)
    assert len(listed) == RELEASES_KEPT
    assert listed[0].number == RELEASES_KEPT + 3 and listed[-1].number == 4
    assert releases.release(3) is None and releases.release(4) is not None
