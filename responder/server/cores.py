"""Each gunicorn worker runs on a core of its own.

A worker's Python runs one thread at a time (the GIL) however many threads it has: its
request threads, its senders, its event loop. Left to move between cores, those threads
wake one another on one core while the thread holding the GIL runs on the other, and each
hand-over of the GIL becomes a cross-core wake-up: on a 2-core machine at 200 deliveries/s
that cost a third more CPU per delivery and queued replies for seconds (docs/performance.md,
"One core per worker"). On one core the hand-over is a plain switch, and the worker loses
nothing, since it could not use a second core at once anyway.

So each new worker takes the core, among those the master may use, with the fewest workers
already on it: two workers on two cores get one each, and a worker started in place of one
that died takes the core it left. ``RESPONDER_PIN_WORKERS=false`` leaves the placement to
the kernel (for a machine shared with other busy processes, say).
"""

from __future__ import annotations

import logging
import os
from collections import Counter
from collections.abc import Iterable

log = logging.getLogger("responder.cores")


def choose_core(taken: Iterable[int | None]) -> int | None:
    """The core, among those this process may use, with the fewest of ``taken`` (the cores of
    the workers alive); None where there is one core, or no way to set one."""
    if not hasattr(os, "sched_setaffinity"):  # Linux only
        return None
    allowed = sorted(os.sched_getaffinity(0))
    if len(allowed) < 2:
        return None
    counts = Counter(core for core in taken if core is not None)
    return min(allowed, key=lambda core: (counts[core], core))


def pin(core: int) -> None:
    """Run this process (and the threads it starts from now on) on ``core`` only."""
    try:
        os.sched_setaffinity(0, {core})
    except OSError as exc:  # a container may forbid it: the kernel places the worker
        log.warning("worker %d runs on any core: %s", os.getpid(), exc)
