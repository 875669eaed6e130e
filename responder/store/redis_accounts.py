"""The console's accounts, changes and failed logins on the Redis server of the state store.

Keys, under the store's ``<prefix>:``:

``accounts``            hash: account name -> the account as JSON.
``changes``             list, newest first, capped at ``CHANGES_KEPT``: each change as JSON.
``login-failures:<k>``  sorted set of failed login times (Unix seconds) for one address or
                        account name; expires a day after the last failure.
"""

from __future__ import annotations

import json
import uuid
from datetime import datetime, timedelta

from responder.accounts import Account, Change
from responder.ports import CHANGES_KEPT
from responder.store.redis_store import DEFAULT_PREFIX, RedisStore

FORGET_FAILURES = timedelta(days=1)


class RedisAccounts:
    """The :class:`~responder.ports.AccountStore` contract beside a :class:`RedisStore`."""

    def __init__(self, url: str, *, prefix: str | None = None) -> None:
        self._store = RedisStore(url, prefix=prefix)
        self._redis = self._store._redis
        k = f"{self._store.prefix or DEFAULT_PREFIX}:"
        self._accounts = k + "accounts"
        self._changes = k + "changes"
        self._failures = k + "login-failures:"

    def add_account(self, account: Account) -> bool:
        with self._store._guard():
            added = self._redis.hsetnx(self._accounts, account.name, json.dumps(account.to_dict()))
        return bool(added)

    def account(self, name: str) -> Account | None:
        with self._store._guard():
            data = self._redis.hget(self._accounts, name)
        return Account.from_dict(json.loads(data)) if data is not None else None

    def accounts(self) -> list[Account]:
        with self._store._guard():
            values = self._redis.hvals(self._accounts)
        return sorted((Account.from_dict(json.loads(v)) for v in values), key=lambda a: a.name)

    def remove_account(self, name: str) -> bool:
        with self._store._guard():
            return bool(self._redis.hdel(self._accounts, name))

    def record_change(self, change: Change) -> None:
        with self._store._guard():
            pipe = self._redis.pipeline(transaction=True)
            pipe.lpush(self._changes, json.dumps(change.to_dict()))
            pipe.ltrim(self._changes, 0, CHANGES_KEPT - 1)
            pipe.execute()

    def changes(self, limit: int = 50) -> list[Change]:
        with self._store._guard():
            values = self._redis.lrange(self._changes, 0, max(limit, 1) - 1)
        return [Change.from_dict(json.loads(v)) for v in values]

    def failed_login(self, key: str, *, now: datetime, window: timedelta) -> int:
        at = now.timestamp()
        name = self._failures + key
        with self._store._guard():
            pipe = self._redis.pipeline(transaction=True)
            pipe.zremrangebyscore(name, "-inf", at - max(window, FORGET_FAILURES).total_seconds())
            pipe.zadd(name, {f"{at}:{uuid.uuid4().hex[:8]}": at})
            pipe.expire(name, int(FORGET_FAILURES.total_seconds()))
            pipe.zcount(name, f"({at - window.total_seconds()}", at)
            count = pipe.execute()[-1]
        return int(count)

    def failed_logins(self, key: str, *, now: datetime, window: timedelta) -> int:
        at = now.timestamp()
        with self._store._guard():
            count = self._redis.zcount(self._failures + key, f"({at - window.total_seconds()}", at)
        return int(count)

    def close(self) -> None:
        self._store.close()
