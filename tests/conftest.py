"""Fixtures of the state store tests: fresh stores on SQLite (in tmp_path) and on Redis.

Redis is the real server at 127.0.0.1:6379 (or ``$RESPONDER_TEST_REDIS_URL``); each test gets
its own random key prefix and its keys are deleted afterwards. Without a reachable server the
Redis cases are skipped, unless ``RESPONDER_REQUIRE_REDIS=1`` (as in CI): then they fail.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import redis
from redis.backoff import NoBackoff
from redis.retry import Retry

from responder.ports import Store
from responder.store.redis_store import RedisStore
from responder.store.sqlite import SQLiteStore
from tests.pipeline_harness import Pipeline, pipelines

REDIS_URL = os.environ.get("RESPONDER_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")

StoreFactory = Callable[[], Store]


@pytest.fixture(scope="session")
def redis_url() -> str:
    """The test Redis URL, once a server answered there (else skip or fail, see above)."""
    client = redis.Redis.from_url(
        REDIS_URL, socket_connect_timeout=2, socket_timeout=2, retry=Retry(NoBackoff(), 0)
    )
    try:
        client.ping()
    except redis.exceptions.RedisError as exc:
        parts = urlsplit(REDIS_URL)
        reason = f"no Redis server reachable at {parts.hostname}:{parts.port or 6379} ({exc})"
        if os.environ.get("RESPONDER_REQUIRE_REDIS") == "1":
            pytest.fail(f"{reason}, and RESPONDER_REQUIRE_REDIS=1 requires one")
        pytest.skip(reason)
    finally:
        client.close()
    return REDIS_URL


@pytest.fixture
def redis_client(redis_url: str) -> Iterator[redis.Redis]:
    """A raw client on the test Redis, to look at keys the store wrote."""
    client = redis.Redis.from_url(redis_url, decode_responses=True)
    yield client
    client.close()


@pytest.fixture
def redis_prefixes(redis_client: redis.Redis) -> Iterator[Callable[[], str]]:
    """Hands out fresh random key prefixes; deletes every key under them afterwards."""
    handed_out: list[str] = []

    def fresh() -> str:
        prefix = f"test-{uuid.uuid4().hex}"
        handed_out.append(prefix)
        return prefix

    yield fresh
    for prefix in handed_out:
        keys = list(redis_client.scan_iter(match=f"{prefix}:*", count=1000))
        if keys:
            redis_client.delete(*keys)


@pytest.fixture
def redis_store_factory(
    redis_url: str, redis_prefixes: Callable[[], str]
) -> Iterator[Callable[..., RedisStore]]:
    """Opens RedisStores (on a fresh prefix unless one is given); closes them afterwards."""
    opened: list[RedisStore] = []

    def open_one(prefix: str | None = None, **options: object) -> RedisStore:
        store = RedisStore(redis_url, prefix=prefix or redis_prefixes(), **options)  # type: ignore[arg-type]
        opened.append(store)
        return store

    yield open_one
    for store in opened:
        store.close()


@pytest.fixture
def sqlite_store_factory(tmp_path: Path) -> Iterator[Callable[[Path], SQLiteStore]]:
    """Opens SQLiteStores on the given files; closes them afterwards."""
    opened: list[SQLiteStore] = []

    def open_one(path: Path) -> SQLiteStore:
        store = SQLiteStore(path)
        opened.append(store)
        return store

    yield open_one
    for store in opened:
        store.close()


@pytest.fixture(params=["sqlite", "redis"])
def store_factory(request: pytest.FixtureRequest, tmp_path: Path) -> StoreFactory:
    """Opens handles on ONE fresh store of each engine: every call is a new connection to the
    same data (another process or machine would see the same)."""
    if request.param == "sqlite":
        open_sqlite: Callable[[Path], SQLiteStore] = request.getfixturevalue("sqlite_store_factory")
        path = tmp_path / "state.db"
        return lambda: open_sqlite(path)
    open_redis: Callable[..., RedisStore] = request.getfixturevalue("redis_store_factory")
    prefix = request.getfixturevalue("redis_prefixes")()
    return lambda: open_redis(prefix)


@pytest.fixture
def store(store_factory: StoreFactory) -> Store:
    """A fresh, empty store, on SQLite and on Redis."""
    return store_factory()


@pytest.fixture
def make(tmp_path: Path) -> Iterator[Callable[..., Pipeline]]:
    """Builds responders on one fresh SQLite store, driven through their seams (see
    tests/pipeline_harness.py); each call is another process on the same store."""
    with pipelines(tmp_path) as build:
        yield build


@pytest.fixture
def p(make: Callable[..., Pipeline]) -> Pipeline:
    """One responder, driven through its seams."""
    return make()
