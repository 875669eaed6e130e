"""How long one attempt at a job may run, so that it is over before anyone may take it over.

A job is leased to the process handling it (``Config.lease``); an attempt has at most
``Config.job_deadline`` for its calls to the platform, and ends a margin before its lease
does: half the slack between the two, room for the clocks of the processes sharing the
store to disagree and for the store writes after the last call.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from responder.config import Config
from responder.model import Job
from responder.ports import Store


def margin(config: Config) -> timedelta:
    return (config.lease - config.job_deadline) / 2


def hold(store: Store, config: Config, job: Job, *, owner: str, now: datetime) -> datetime | None:
    """Make sure this attempt can run to its deadline with the job leased to ``owner``.

    Returns when the lease ends, or None when a takeover has superseded this copy. The
    lease has been running since the job was accepted (or taken over), however long it
    then waited for a sender. A fresh job whose acceptance lease outlasts this whole
    attempt and its margin needs nothing (saving a write per message); any other is
    renewed, which fails if a takeover has superseded this copy.
    """
    held_until = job.accepted_at + config.lease
    if job.attempts == 0 and now + config.job_deadline + margin(config) <= held_until:
        return held_until
    renewed = store.renew(job.key, owner=owner, attempts=job.attempts, lease=config.lease, now=now)
    return now + config.lease if renewed else None


def deadline(config: Config, held_until: datetime, *, now: datetime, monotonic: float) -> float:
    """The attempt's deadline on the monotonic clock that reads ``monotonic`` at ``now``:
    ``job_deadline`` from now, and a margin before the lease ends however long holding it
    took, so that every call to the platform is over before another process may take the
    job over."""
    left = (held_until - margin(config) - now).total_seconds()
    return monotonic + min(config.job_deadline.total_seconds(), left)


def attempts_left(config: Config, job: Job) -> bool:
    return job.attempts + 1 < config.max_attempts


def gave_up(job: Job, exc: Exception) -> str:
    return f"gave up after {job.attempts + 1} attempt(s): {exc}"
