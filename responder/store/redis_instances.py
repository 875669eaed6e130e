"""The serving processes' records on the Redis server of the shared state store.

Keys, under the store's ``<prefix>:``:

``instances``        hash: process name -> its record as JSON.
``instances:seen``   sorted set: process name scored by when it was last heard from (Unix
                     seconds, the process's clock).

A heartbeat is one Lua script: the record, its score, and the records not heard from for
``forget`` dropped, together. Both keys expire ``forget`` after the last heartbeat (by the
server's clock: garbage only), so a deployment that is gone leaves nothing behind.
"""

from __future__ import annotations

import json
import math
from datetime import datetime, timedelta

from responder.instances import Instance
from responder.store._convert import seconds, to_ts, ts_text
from responder.store.redis_store import DEFAULT_PREFIX, RedisStore

# KEYS: hash, seen; ARGV: name, record JSON, seen (Unix s), drop before (Unix s), expire (s).
HEARTBEAT = """
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
redis.call('ZADD', KEYS[2], ARGV[3], ARGV[1])
local old = redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', '(' .. ARGV[4])
for _, name in ipairs(old) do
  redis.call('HDEL', KEYS[1], name)
  redis.call('ZREM', KEYS[2], name)
end
redis.call('EXPIRE', KEYS[1], ARGV[5])
redis.call('EXPIRE', KEYS[2], ARGV[5])
return #old
"""


class RedisInstances:
    """The :class:`~responder.ports.InstanceStore` contract beside a :class:`RedisStore`."""

    def __init__(self, url: str, *, prefix: str | None = None) -> None:
        self._store = RedisStore(url, prefix=prefix)
        self._redis = self._store._redis
        k = f"{self._store.prefix or DEFAULT_PREFIX}:"
        self._keys = [k + "instances", k + "instances:seen"]
        self._heartbeat = self._redis.register_script(HEARTBEAT)

    def heartbeat(self, instance: Instance, *, forget: timedelta) -> None:
        seen = to_ts(instance.seen_at)
        args = [
            instance.name,
            json.dumps(instance.to_dict()),
            ts_text(instance.seen_at),
            repr(seen - seconds(forget)),
            str(max(1, math.ceil(seconds(forget)))),
        ]
        with self._store._guard():
            self._heartbeat(keys=self._keys, args=args)

    def instances(self, *, now: datetime, forget: timedelta) -> list[Instance]:
        since = repr(to_ts(now) - seconds(forget))
        with self._store._guard():
            names = [str(n) for n in self._redis.zrangebyscore(self._keys[1], since, "+inf")]
            records = self._redis.hmget(self._keys[0], names) if names else []
        found = [Instance.from_dict(json.loads(r)) for r in records if r is not None]
        return sorted(found, key=lambda i: (i.started_at, i.name))

    def leave(self, name: str) -> None:
        with self._store._guard():
            pipe = self._redis.pipeline(transaction=True)
            pipe.hdel(self._keys[0], name)
            pipe.zrem(self._keys[1], name)
            pipe.execute()

    def close(self) -> None:
        self._store.close()
