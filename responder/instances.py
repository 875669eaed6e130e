"""The serving processes as values: what each one last said it serves, and how far a release
has reached them, in words. Plain values and functions with no I/O.

Every serving process (each gunicorn worker holds its own rule book) records an
:class:`Instance` in the shared store every ``every`` (see
:class:`responder.ports.InstanceStore` and :mod:`responder.server.heartbeat`).
:func:`rollout` reads those records against one release number: who serves it, who is still
on another, who could not load it, and who has gone quiet.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from responder.model import _from_iso, _iso

# How often a process records itself at least (each process writes ``every`` in its record:
# the larger of this and its release poll).
HEARTBEAT_EVERY = timedelta(seconds=5)
# A process not heard from for this many of its intervals is shown as "not heard from".
SILENT_AFTER = 3
# A process not heard from for this long is no longer listed (the stores drop its record).
INSTANCE_FORGOTTEN = timedelta(minutes=10)
# A problem is kept to this many characters in the store.
PROBLEM_CHARS = 300


@dataclass(frozen=True)
class Instance:
    """One serving process as it last recorded itself.

    ``name`` is the process's owner name, ``host:pid:random``; ``release`` the release it
    serves (None: it started while the store was unavailable and serves its rules folder);
    ``failed`` the release it could not load, if any, and ``problem`` why, in words.
    """

    name: str
    release: int | None
    started_at: datetime
    seen_at: datetime
    every: timedelta = HEARTBEAT_EVERY
    failed: int | None = None
    problem: str = ""

    @property
    def host(self) -> str:
        return self.name.split(":", 1)[0]

    @property
    def label(self) -> str:
        """The name as a person reads it: ``web-1, process 4242``."""
        parts = self.name.split(":")
        if len(parts) >= 2 and parts[1].isdigit():
            return f"{parts[0]}, process {parts[1]}"
        return self.name

    def silent(self, now: datetime) -> bool:
        """Not heard from for ``SILENT_AFTER`` intervals at ``now``."""
        return now - self.seen_at > self.every * SILENT_AFTER

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "release": self.release,
            "started_at": _iso(self.started_at),
            "seen_at": _iso(self.seen_at),
            "every": self.every.total_seconds(),
            "failed": self.failed,
            "problem": self.problem[:PROBLEM_CHARS],
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Instance:
        started, seen = _from_iso(data["started_at"]), _from_iso(data["seen_at"])
        assert started is not None and seen is not None
        release, failed = data.get("release"), data.get("failed")
        return cls(
            name=str(data["name"]),
            release=int(release) if release is not None else None,
            started_at=started,
            seen_at=seen,
            every=timedelta(seconds=float(data.get("every", HEARTBEAT_EVERY.total_seconds()))),
            failed=int(failed) if failed is not None else None,
            problem=str(data.get("problem", "")),
        )


class Standing(StrEnum):
    """Where one instance stands with the release looked at."""

    SERVES = "serves"
    OLDER = "older"  # still on an earlier release (or on its rules folder)
    NEWER = "newer"  # on a release published since
    FAILED = "failed"  # could not load it
    SILENT = "silent"  # not heard from lately: whatever it serves is not known


@dataclass(frozen=True)
class Place:
    instance: Instance
    standing: Standing

    def words(self, when: Callable[[datetime], str]) -> str:
        """Where the instance stands, as a sentence for a person; ``when`` says a moment."""
        i = self.instance
        heard = f"last report {when(i.seen_at)}"
        if self.standing is Standing.SILENT:
            return f"Not heard from since {when(i.seen_at)}: it may have stopped."
        if self.standing is Standing.SERVES:
            said = f"Serves release {i.release}"
        elif self.standing is Standing.NEWER:
            said = f"Already on release {i.release}, published since"
        elif self.standing is Standing.FAILED:
            said = f"Could not load release {i.failed}: {i.problem or 'no reason given'}"
            said += f"; {_serving(i.release)}"
        else:
            said = f"Still on {_on(i.release)}"
        if self.standing is not Standing.FAILED and i.failed is not None and i.problem:
            said += f" (could not load release {i.failed}: {i.problem})"
        return f"{said}; {heard}."


def _on(release: int | None) -> str:
    return f"release {release}" if release is not None else "its rules folder, no release yet"


def _serving(release: int | None) -> str:
    return f"still serves release {release}" if release is not None else "serves its rules folder"


@dataclass(frozen=True)
class Rollout:
    """How far ``release`` has reached the instances listed at ``now``."""

    release: int
    places: tuple[Place, ...]

    @property
    def heard(self) -> int:
        """The instances heard from lately: the ones counted."""
        return sum(p.standing is not Standing.SILENT for p in self.places)

    @property
    def serving(self) -> int:
        return sum(p.standing is Standing.SERVES for p in self.places)

    @property
    def done(self) -> bool:
        """Every instance heard from lately serves the release (and at least one is)."""
        return self.heard > 0 and self.serving == self.heard

    @property
    def headline(self) -> str:
        """``Release 7: served by 2 of 2 instances.``"""
        if not self.places:
            return f"Release {self.release}: no instance has reported yet."
        if not self.heard:
            return f"Release {self.release}: no instance has reported lately."
        noun = "instance" if self.heard == 1 else "instances"
        return f"Release {self.release}: served by {self.serving} of {self.heard} {noun}."


def rollout(instances: Sequence[Instance], release: int, *, now: datetime) -> Rollout:
    """Where each of ``instances`` stands with ``release`` at ``now``: those heard from
    lately first, in the order given (the stores list them by start), then the silent ones."""
    places = [Place(i, _standing(i, release, now)) for i in instances]
    places.sort(key=lambda p: p.standing is Standing.SILENT)
    return Rollout(release, tuple(places))


def _standing(instance: Instance, release: int, now: datetime) -> Standing:
    if instance.silent(now):
        return Standing.SILENT
    if instance.release == release:
        return Standing.SERVES
    if instance.failed == release:
        return Standing.FAILED
    if instance.release is not None and instance.release > release:
        return Standing.NEWER
    return Standing.OLDER
