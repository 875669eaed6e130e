"""One process saying, in the shared store, that it is alive and which release it serves.

:class:`Heartbeat` writes this process's :class:`~responder.instances.Instance` record when
what it says changed (a new release served, a release that failed to load) and otherwise
once every ``every``; it is driven by the release follower's thread
(:class:`responder.server.live.LiveRelease`), never by a delivery. A store that fails is
logged once (and once more when it answers again) and changes nothing else: serving goes on.
:meth:`Heartbeat.leave` removes the record when the process stops cleanly.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime, timedelta

from responder.instances import INSTANCE_FORGOTTEN, Instance
from responder.model import utcnow
from responder.ports import InstanceStore

log = logging.getLogger("responder.instances")


class Heartbeat:
    """This process (``name``, its owner name) in ``instances``; ``clock`` says "now"."""

    def __init__(
        self,
        instances: InstanceStore,
        name: str,
        *,
        every: timedelta,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self.instances = instances
        self.name = name
        self.every = every
        self._clock = clock
        self.started_at = clock()
        self._said: tuple[int | None, int | None, str] | None = None
        self._written_at: datetime | None = None
        self._failing = False

    def beat(self, release: int | None, *, failed: int | None = None, problem: str = "") -> bool:
        """Record that this process serves ``release`` (and could not load ``failed``, for
        ``problem``) unless it said the same less than ``every`` ago. True when written."""
        now = self._clock()
        said = (release, failed, problem)
        if (
            said == self._said
            and self._written_at is not None
            and now - self._written_at < self.every
        ):
            return False
        record = Instance(self.name, release, self.started_at, now, self.every, failed, problem)
        try:
            self.instances.heartbeat(record, forget=INSTANCE_FORGOTTEN)
        # Whatever goes wrong here must not stop the thread that follows the live release.
        except Exception as exc:
            if not self._failing:
                log.warning(
                    "could not record this instance in the store (serving goes on; "
                    "the console may show it as not heard from): %s",
                    exc,
                )
                self._failing = True
            return False
        if self._failing:
            log.info("recording this instance in the store again")
            self._failing = False
        self._said, self._written_at = said, now
        return True

    def leave(self) -> None:
        """Remove this process's record (it stops cleanly); a failure is logged only."""
        try:
            self.instances.leave(self.name)
        except Exception as exc:  # stopping goes on whatever happens
            log.warning("could not remove this instance's record from the store: %s", exc)
