"""Jobs set aside until a given time (a burst gathering, ``settings: gather``), on one thread.

A leader waiting for its burst to go quiet holds no sender thread: it is handed here with
the time to look again, and this one thread hands it back to the sender pool then. Nothing
here is durable and nothing needs to be: a job set aside stays leased in the store, so if
this process dies its lease runs out and another process's janitor takes it over (and if it
stops in order, the service ends those leases itself: :meth:`Later.stop` hands them back).
"""

from __future__ import annotations

import heapq
import itertools
import threading
from collections.abc import Callable
from datetime import datetime

from responder.model import Job, utcnow


class Later:
    """Call ``submit(job)`` at the time each job was handed over with. The thread starts with
    the first job (building a service starts none); :meth:`stop` hands back what still waits."""

    def __init__(
        self, submit: Callable[[Job], None], clock: Callable[[], datetime] = utcnow
    ) -> None:
        self._submit = submit
        self._clock = clock
        self._heap: list[tuple[datetime, int, Job]] = []
        self._order = itertools.count()  # ties in time: first handed over, first out
        self._changed = threading.Condition()
        self._thread: threading.Thread | None = None
        self._stopping = False

    def __call__(self, job: Job, at: datetime) -> None:
        with self._changed:
            if self._stopping:
                return  # the lease brings it back
            heapq.heappush(self._heap, (at, next(self._order), job))
            if self._thread is None:
                self._thread = threading.Thread(
                    target=self._loop, name="responder-later", daemon=True
                )
                self._thread.start()
            self._changed.notify()

    def waiting(self) -> int:
        with self._changed:
            return len(self._heap)

    def _loop(self) -> None:
        while True:
            with self._changed:
                while not self._stopping:
                    if self._heap:
                        left = (self._heap[0][0] - self._clock()).total_seconds()
                        if left <= 0:
                            break
                        self._changed.wait(left)
                    else:
                        self._changed.wait()
                if self._stopping:
                    return
                _, _, job = heapq.heappop(self._heap)
            self._submit(job)

    def stop(self) -> list[Job]:
        """Stop the thread; returns the jobs still waiting (later ones are dropped)."""
        with self._changed:
            self._stopping = True
            dropped = [job for _, _, job in sorted(self._heap)]
            self._heap.clear()
            self._changed.notify()
            thread = self._thread
        if thread is not None:
            thread.join()
        return dropped
