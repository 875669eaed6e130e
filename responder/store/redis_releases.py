"""Published rule books on the Redis server of the shared state store.

Keys, under the store's ``<prefix>:``:

``release:<n>``          hash: ``meta`` (JSON) and ``files`` (JSON object name -> text).
``releases``             sorted set of the release numbers (scored by number).
``releases:last``        the last number handed out (INCR).
``releases:live``        the live number.
``releases:folder``      the content hash of the last folder release.

A publish is one Lua script: the folder check, the new number, the release, the live pointer
and the pruning happen together or not at all.
"""

from __future__ import annotations

import json
from datetime import datetime

from responder.ports import RELEASES_KEPT
from responder.release import Release, ReleaseSource, content_hash
from responder.store.redis_store import DEFAULT_PREFIX, RedisStore

# KEYS: last, live, folder, set; ARGV: release key prefix, meta JSON (number filled in here),
# files JSON, content hash, "1" for a folder release, releases kept.
PUBLISH = """
if ARGV[5] == '1' then
  if redis.call('GET', KEYS[3]) == ARGV[4] then return 0 end
  redis.call('SET', KEYS[3], ARGV[4])
end
local n = redis.call('INCR', KEYS[1])
local meta = cjson.decode(ARGV[2])
meta['number'] = n
redis.call('HSET', ARGV[1] .. n, 'meta', cjson.encode(meta), 'files', ARGV[3])
redis.call('ZADD', KEYS[4], n, n)
redis.call('SET', KEYS[2], n)
local old = redis.call('ZRANGEBYSCORE', KEYS[4], '-inf', n - tonumber(ARGV[6]))
for _, number in ipairs(old) do
  redis.call('DEL', ARGV[1] .. number)
  redis.call('ZREM', KEYS[4], number)
end
return n
"""


class RedisReleases:
    """The :class:`~responder.ports.ReleaseStore` contract beside a :class:`RedisStore`.

    ``url`` and ``prefix`` as for :class:`RedisStore`, whose connection handling (timeouts,
    errors as StoreUnavailable) this uses.
    """

    def __init__(self, url: str, *, prefix: str | None = None) -> None:
        self._store = RedisStore(url, prefix=prefix)
        self._redis = self._store._redis
        k = f"{self._store.prefix or DEFAULT_PREFIX}:"
        self._release = k + "release:"
        self._set = k + "releases"
        self._keys = [k + "releases:last", k + "releases:live", k + "releases:folder", self._set]
        self._publish = self._redis.register_script(PUBLISH)

    def publish(
        self,
        files: dict[str, str],
        *,
        author: str,
        source: ReleaseSource,
        note: str,
        report: str,
        now: datetime,
    ) -> Release | None:
        digest = content_hash(files)
        draft = Release(0, now, author, source, note, digest, report, dict(files))
        args = [
            self._release,
            json.dumps(draft.meta()),
            json.dumps(draft.files),
            digest,
            "1" if source is ReleaseSource.FOLDER else "0",
            str(RELEASES_KEPT),
        ]
        with self._store._guard():
            number = int(self._publish(keys=self._keys, args=args))
        if not number:
            return None
        return Release(number, now, author, source, note, digest, report, dict(files))

    def live_number(self) -> int | None:
        with self._store._guard():
            value = self._redis.get(self._keys[1])
        return int(value) if value is not None else None

    def release(self, number: int) -> Release | None:
        with self._store._guard():
            meta, files = self._redis.hmget(self._release + str(number), ["meta", "files"])
        if meta is None:
            return None
        return Release.from_meta(json.loads(meta), json.loads(files or "{}"))

    def releases(self, limit: int = RELEASES_KEPT) -> list[Release]:
        with self._store._guard():
            numbers = self._redis.zrevrange(self._set, 0, max(limit, 1) - 1)
            pipe = self._redis.pipeline(transaction=False)
            for number in numbers:
                pipe.hget(self._release + str(number), "meta")
            metas = pipe.execute()
        return [Release.from_meta(json.loads(meta)) for meta in metas if meta is not None]

    def close(self) -> None:
        self._store.close()
