"""Per-lead state on the Redis store: first and last inbound, the people's pauses, and the
reservation of each reply against the cooldown and the budget.

Mixed into :class:`responder.store.redis_store.RedisStore`, whose module docstring lists the
keys (``lead:<id>``, ``pauses``, ``pause_changes``, ``budget:<id>``). Every check-and-set is
one Lua script.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from contextlib import AbstractContextManager
from datetime import datetime, timedelta
from typing import Any

import redis

from responder.model import EVERYONE, LeadState, Outcome, Pause, Sending
from responder.queries import PauseChange
from responder.store import redis_scripts as scripts
from responder.store._convert import from_ts, seconds, to_ts, ts_text

# How many pausings and resumings (about) the ``pause_changes`` stream keeps, newest.
PAUSE_CHANGES_CAP = 10_000


class RedisLeads:
    """The per-lead half of :class:`responder.store.redis_store.RedisStore` (mixed into it)."""

    _k: str
    _pauses: str
    _pause_changes: str
    _redis: redis.Redis
    _note_inbound: Any
    _pause: Any
    _pause_once: Any
    _put_pause: Any
    _end_pause: Any
    _reserve: Any
    _release: Any
    _claim_ttl: str

    def _guard(self) -> AbstractContextManager[None]:
        raise NotImplementedError  # the store's own

    def _register_leads(self, script: Any) -> None:
        self._note_inbound = script(scripts.NOTE_INBOUND)
        self._pause = script(scripts.PAUSE)
        self._pause_once = script(scripts.PAUSE_ONCE)
        self._put_pause = script(scripts.PUT_PAUSE)
        self._end_pause = script(scripts.END_PAUSE)
        self._reserve = script(scripts.RESERVE)
        self._release = script(scripts.RELEASE)

    def lead_state(self, lead_id: str) -> LeadState:
        with self._guard():
            both = self._redis.pipeline(transaction=False)
            both.hgetall(self._k + "lead:" + lead_id)
            both.hmget(self._pauses, "p:" + lead_id, "p:" + EVERYONE)
            fields, held = both.execute()
        return _lead_state(fields, held)

    def note_inbound(self, lead_id: str, at: datetime) -> LeadState:
        keys = [self._k + "lead:" + lead_id, self._pauses]
        with self._guard():
            flat, held = self._note_inbound(keys=keys, args=[ts_text(at), lead_id])
        return _lead_state(dict(zip(flat[::2], flat[1::2], strict=True)), held)

    def put_pause(self, pause: Pause) -> None:
        until = ts_text(pause.until) if pause.until is not None else ""
        args: list[str | int] = [pause.lead_id, pause.to_json(), until, PAUSE_CHANGES_CAP]
        args.append(ts_text(pause.at))
        with self._guard():
            self._put_pause(keys=[self._pauses, self._pause_changes], args=[*args, pause.by])

    def end_pause(self, lead_id: str, *, by: str, now: datetime) -> Pause | None:
        keys = [self._pauses, self._k + "lead:" + lead_id, self._pause_changes]
        with self._guard():
            ended = self._end_pause(keys=keys, args=[lead_id, PAUSE_CHANGES_CAP, ts_text(now), by])
        return Pause.from_json(ended) if ended else None

    def pause_changes(self, *, limit: int = 50) -> list[PauseChange]:
        with self._guard():
            entries: list[tuple[str, dict[str, str]]] = self._redis.xrevrange(  # type: ignore[assignment]
                self._pause_changes, count=limit
            )
        changes = []
        for _, fields in entries:
            pause = Pause.from_json(fields["d"]) if "d" in fields else None
            changes.append(
                PauseChange(
                    lead_id=fields["lead"],
                    action="resume" if fields["action"] == "resume" else "pause",
                    by=fields["by"],
                    at=from_ts(fields["at"]),
                    until=pause.until if pause is not None else None,
                    note=pause.note if pause is not None else "",
                )
            )
        return changes

    def pauses(self, *, now: datetime) -> list[Pause]:
        with self._guard():
            fields: dict[str, str] = self._redis.hgetall(self._pauses)  # type: ignore[assignment]
        running = [
            pause
            for name, value in fields.items()
            if name.startswith("p:") and (pause := Pause.from_json(value)).active(now)
        ]
        return sorted(running, key=lambda pause: (not pause.everyone, pause.lead_id))

    def pause(self, lead_id: str, until: datetime) -> None:
        with self._guard():
            self._pause(keys=[self._k + "lead:" + lead_id], args=[ts_text(until)])

    def pause_once(self, key: str, lead_id: str, until: datetime, *, now: datetime) -> bool:
        """A retried script whose first run went through answers False: the pause is applied."""
        keys = [self._k + "claim:" + key, self._k + "lead:" + lead_id]
        args = [ts_text(until), self._claim_ttl, ts_text(now)]
        with self._guard():
            return bool(self._pause_once(keys=keys, args=args))

    def reserve_reply(
        self,
        job_key: str,
        lead_id: str,
        sending: Sending,
        *,
        cooldown: timedelta,
        budget: int,
        budget_period: timedelta,
    ) -> Outcome | None:
        at = to_ts(sending.reserved_at)
        keys = [
            self._k + "lead:" + lead_id,
            self._k + "budget:" + lead_id,
            self._k + "job:" + job_key,
            self._pauses,
        ]
        args: list[str | int] = [
            repr(at),
            "r:" + sending.rule,
            repr(at - seconds(cooldown)),
            repr(at - seconds(budget_period)),
            budget,
            f"{job_key}|{sending.rule}",
            max(1000, math.ceil(seconds(budget_period) * 1000)),
            sending.to_json(),
            job_key,
            repr(seconds(cooldown)),  # zero never blocks, even against a clock that ran ahead
            lead_id,
        ]
        with self._guard():
            refused = self._reserve(keys=keys, args=args)
        return Outcome(refused) if refused else None

    def release_reply(self, job_key: str, lead_id: str, rule: str) -> None:
        keys = [self._k + "lead:" + lead_id, self._k + "budget:" + lead_id]
        with self._guard():
            self._release(keys=keys, args=[rule, job_key])


def _lead_state(fields: dict[str, str], held: Sequence[str | None] = ()) -> LeadState:
    def time(name: str) -> datetime | None:
        value = fields.get(name)
        return from_ts(value) if value is not None else None

    return LeadState(
        first_seen=time("first_seen"),
        last_inbound=time("last_inbound"),
        paused_until=time("paused_until"),
        last_reply={
            name[2:]: from_ts(value) for name, value in fields.items() if name.startswith("r:")
        },
        held=tuple(Pause.from_json(pause) for pause in held if pause),
    )
