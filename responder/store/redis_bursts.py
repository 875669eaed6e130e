"""Bursts on the Redis store (:class:`responder.ports.Bursts`), each step one Lua script.

A burst is named after its leader's job key. Keys, under the store's prefix:

``burst:<id>``          hash: ``lead``, ``leader``, ``opened_at``, ``last_at``, ``closed``.
``burst-members:<id>``  list: the member job keys in the order they joined, the leader first.
``burst-open:<lead>``   string: the id of the lead's open burst, while it is open.
``burst-of:<job key>``  string: the id of the burst the job is in.

All four go in :meth:`RedisBursts.finish_burst`, with the members' jobs. A join and the close
it races with are scripts, so Redis runs one before the other: the job joins before the close
(and is answered with the burst) or after it (and opens the next one).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from contextlib import AbstractContextManager
from datetime import datetime
from typing import Any

from responder.model import DecisionRecord, Job, Sending
from responder.ports import Seat, SeatRole
from responder.store._convert import from_ts, ts_text
from responder.store.redis_scripts import PAUSE_LEAD

# KEYS: job hash, burst-of, burst-open, leases.
# ARGV: job key, now, hold until, may open ('1'/'0'), key prefix.
JOIN = """
if redis.call('EXISTS', KEYS[1]) == 0 then
  return {'gone'}
end
local burst = redis.call('GET', KEYS[2])
if not burst then
  burst = redis.call('GET', KEYS[3])
  if burst then
    redis.call('HSET', ARGV[5] .. 'burst:' .. burst, 'last_at', ARGV[2])
  elseif ARGV[4] == '1' then
    burst = ARGV[1]
    redis.call('HSET', ARGV[5] .. 'burst:' .. burst, 'lead', ARGV[6], 'leader', ARGV[1],
               'opened_at', ARGV[2], 'last_at', ARGV[2], 'closed', '0')
    redis.call('SET', KEYS[3], burst)
  else
    return {'none'}
  end
  redis.call('RPUSH', ARGV[5] .. 'burst-members:' .. burst, ARGV[1])
  redis.call('SET', KEYS[2], burst)
  local lease = redis.call('ZSCORE', KEYS[4], ARGV[1])
  if lease and tonumber(lease) < tonumber(ARGV[3]) then
    redis.call('ZADD', KEYS[4], ARGV[3], ARGV[1])
  end
end
local b = redis.call('HMGET', ARGV[5] .. 'burst:' .. burst, 'leader', 'opened_at', 'last_at',
                     'closed')
if not b[1] then
  return {'none'}
end
return {'seat', burst, b[1], b[2], b[3], b[4]}
"""

# KEYS: burst-of. ARGV: key prefix.
SEAT = """
local burst = redis.call('GET', KEYS[1])
if not burst then
  return {'none'}
end
local b = redis.call('HMGET', ARGV[1] .. 'burst:' .. burst, 'leader', 'opened_at', 'last_at',
                     'closed')
if not b[1] then
  return {'none'}
end
return {'seat', burst, b[1], b[2], b[3], b[4]}
"""

# KEYS: burst hash, members list. ARGV: burst id, key prefix.
# Returns payload, attempts, sending of each member still unfinished, in order.
CLOSE = """
local lead = redis.call('HGET', KEYS[1], 'lead')
if not lead then
  return {}
end
redis.call('HSET', KEYS[1], 'closed', '1')
local open = ARGV[2] .. 'burst-open:' .. lead
if redis.call('GET', open) == ARGV[1] then
  redis.call('DEL', open)
end
local out = {}
for _, key in ipairs(redis.call('LRANGE', KEYS[2], 0, -1)) do
  local fields = redis.call('HMGET', ARGV[2] .. 'job:' .. key, 'payload', 'attempts', 'sending')
  if fields[1] then
    out[#out + 1] = fields[1]
    out[#out + 1] = fields[2]
    out[#out + 1] = fields[3] or ''
  end
end
return out
"""

# KEYS: decisions stream, jobs stream, leases, unanswered stream.
# ARGV: decision ttl, log cap, group, key prefix, unanswered cap, pause the leader's lead
# until ('' for none; applied even when the leader had an outcome already), then per
# record: key, record JSON, time, unmatched ('1'/'0'), lead id, text, normalised text (as
# FINISH does).
FINISH = (
    PAUSE_LEAD
    + """
local p = ARGV[4]
if ARGV[6] ~= '' then
  pause_lead(p .. 'lead:' .. ARGV[11], ARGV[6])
end
for i = 7, #ARGV, 7 do
  local key = ARGV[i]
  if redis.call('SET', p .. 'decision:' .. key, ARGV[i + 1], 'NX', 'EX', ARGV[1]) then
    redis.call('XADD', KEYS[1], 'MAXLEN', '~', ARGV[2], '*', 'at', ARGV[i + 2], 'key', key,
               'd', ARGV[i + 1])
    if ARGV[i + 3] == '1' then
      redis.call('XADD', KEYS[4], 'MAXLEN', '~', ARGV[5], '*', 'at', ARGV[i + 2],
                 'lead', ARGV[i + 4], 'text', ARGV[i + 5], 'n', ARGV[i + 6])
    end
  elseif i == 7 then
    return 0
  end
  local job = p .. 'job:' .. key
  local id = redis.call('HGET', job, 'entry')
  if id then
    redis.pcall('XACK', KEYS[2], ARGV[3], id)
    redis.call('XDEL', KEYS[2], id)
    redis.call('DEL', job)
  end
  redis.call('ZREM', KEYS[3], key)
end
local burst = redis.call('GET', p .. 'burst-of:' .. ARGV[7])
if burst then
  local members = p .. 'burst-members:' .. burst
  for _, key in ipairs(redis.call('LRANGE', members, 0, -1)) do
    redis.call('DEL', p .. 'burst-of:' .. key)
  end
  local lead = redis.call('HGET', p .. 'burst:' .. burst, 'lead')
  if lead and redis.call('GET', p .. 'burst-open:' .. lead) == burst then
    redis.call('DEL', p .. 'burst-open:' .. lead)
  end
  redis.call('DEL', members, p .. 'burst:' .. burst)
end
return 1
"""
)


class RedisBursts:
    """The burst half of :class:`responder.store.redis_store.RedisStore` (mixed into it)."""

    _k: str
    _jobs: str
    _leases: str
    _log: str
    _decision_ttl: str
    _decisions_cap: str
    _unanswered: str
    _unanswered_cap: str
    _join: Any
    _seat: Any
    _close: Any
    _finish_all: Any

    def _guard(self) -> AbstractContextManager[None]:
        raise NotImplementedError  # the store's own

    def _register_bursts(self, script: Any) -> None:
        self._join = script(JOIN)
        self._seat = script(SEAT)
        self._close = script(CLOSE)
        self._finish_all = script(FINISH)

    def join_burst(
        self, job_key: str, lead_id: str, *, now: datetime, hold_until: datetime, may_open: bool
    ) -> Seat:
        k = self._k
        keys = [k + "job:" + job_key, k + "burst-of:" + job_key, k + "burst-open:" + lead_id]
        args = [job_key, ts_text(now), ts_text(hold_until), "1" if may_open else "0", k, lead_id]
        with self._guard():
            found = self._join(keys=[*keys, self._leases], args=args)
        return _seat(job_key, found)

    def burst_seat(self, job_key: str) -> Seat:
        with self._guard():
            found = self._seat(keys=[self._k + "burst-of:" + job_key], args=[self._k])
        return _seat(job_key, found)

    def close_burst(self, burst: str) -> list[Job]:
        keys = [self._k + "burst:" + burst, self._k + "burst-members:" + burst]
        with self._guard():
            flat = self._close(keys=keys, args=[burst, self._k])
        return [
            Job.from_json(
                flat[i], attempts=int(flat[i + 1]), sending=Sending.from_json(flat[i + 2])
            )
            for i in range(0, len(flat), 3)
        ]

    def finish_burst(
        self, records: Sequence[DecisionRecord], *, pause_until: datetime | None = None
    ) -> bool:
        args = [self._decision_ttl, self._decisions_cap, "workers", self._k, self._unanswered_cap]
        args.append(ts_text(pause_until) if pause_until is not None else "")
        for r in records:
            data = json.dumps(r.to_dict(), separators=(",", ":"), ensure_ascii=False)
            unmatched = "1" if r.unmatched else "0"
            args += [r.key, data, ts_text(r.at), unmatched, r.lead_id, r.text, r.normalized]
        keys = [self._log, self._jobs, self._leases, self._unanswered]
        with self._guard():
            return bool(self._finish_all(keys=keys, args=args))


def _seat(job_key: str, found: list[str]) -> Seat:
    kind = found[0]
    if kind == "gone":
        return Seat(SeatRole.GONE)
    if kind == "none":
        return Seat(SeatRole.NONE)
    burst, leader, opened_at, last_at, closed = found[1:]
    return Seat(
        SeatRole.LEADER if leader == job_key else SeatRole.MEMBER,
        burst,
        leader,
        from_ts(opened_at),
        from_ts(last_at),
        closed == "1",
    )
