"""How far a release has reached the instances, in words (responder/instances.py)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from responder.instances import Instance, Standing, rollout

NOW = datetime(2026, 12, 3, 9, 0, 30, tzinfo=UTC)
EVERY = timedelta(seconds=5)


def heard(
    name: str, release: int | None, *, ago: float = 1, failed: int | None = None, problem: str = ""
) -> Instance:
    seen = NOW - timedelta(seconds=ago)
    return Instance(name, release, NOW - timedelta(hours=1), seen, EVERY, failed, problem)


def when(at: datetime) -> str:
    return f"{at:%H:%M:%S} (UTC)"


def test_every_instance_serving_the_release_is_done() -> None:
    seen = rollout([heard("web-1:40:a", 7), heard("web-2:41:b", 7)], 7, now=NOW)
    assert seen.headline == "Release 7: served by 2 of 2 instances."
    assert seen.done
    assert seen.places[0].words(when) == "Serves release 7; last report 09:00:29 (UTC)."
    assert seen.places[0].instance.label == "web-1, process 40"


def test_an_instance_still_on_an_older_release_is_named_and_not_done() -> None:
    seen = rollout([heard("web-1:40:a", 7), heard("web-2:41:b", 6)], 7, now=NOW)
    assert seen.headline == "Release 7: served by 1 of 2 instances."
    assert not seen.done
    assert seen.places[1].words(when).startswith("Still on release 6;")


def test_an_instance_that_could_not_load_the_release_says_why() -> None:
    broken = heard("web-2:41:b", 6, failed=7, problem="no time zone Mars/Olympus_Mons here")
    seen = rollout([broken], 7, now=NOW)
    assert seen.places[0].standing is Standing.FAILED and not seen.done
    assert seen.places[0].words(when) == (
        "Could not load release 7: no time zone Mars/Olympus_Mons here; still serves "
        "release 6; last report 09:00:29 (UTC)."
    )


def test_an_instance_quiet_for_three_intervals_is_not_heard_from_and_not_counted() -> None:
    quiet = heard("web-2:41:b", 6, ago=EVERY.total_seconds() * 3 + 1)
    just = heard("web-3:42:c", 7, ago=EVERY.total_seconds() * 3)
    seen = rollout([quiet, heard("web-1:40:a", 7), just], 7, now=NOW)
    assert [p.instance.name for p in seen.places] == ["web-1:40:a", "web-3:42:c", "web-2:41:b"]
    assert seen.headline == "Release 7: served by 2 of 2 instances." and seen.done
    assert seen.places[2].words(when) == "Not heard from since 09:00:14 (UTC): it may have stopped."


def test_no_instance_at_all_has_reported_yet() -> None:
    seen = rollout([], 7, now=NOW)
    assert seen.headline == "Release 7: no instance has reported yet." and not seen.done
    lately = rollout([heard("web-1:40:a", 7, ago=60)], 7, now=NOW)
    assert lately.headline == "Release 7: no instance has reported lately." and not lately.done


def test_an_instance_on_a_newer_release_or_on_its_folder() -> None:
    seen = rollout([heard("a:1:x", 8), heard("b:2:y", None)], 7, now=NOW)
    assert [p.standing for p in seen.places] == [Standing.NEWER, Standing.OLDER]
    assert seen.places[0].words(when).startswith("Already on release 8, published since;")
    assert seen.places[1].words(when).startswith("Still on its rules folder, no release yet;")
