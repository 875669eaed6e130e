"""What only the Redis store does: version check, key prefixes, the job stream, recovery."""

from __future__ import annotations

import socket
import threading
from collections.abc import Callable
from contextlib import suppress
from datetime import UTC, datetime, timedelta
from urllib.parse import urlsplit

import pytest
import redis

from responder.errors import ConfigError, StoreUnavailable
from responder.model import DecisionRecord, Job, Lead, Message, Outcome, Sending
from responder.ports import CLAIM_TTL
from responder.store import open_store
from responder.store.redis_connect import check_version, parse_version
from responder.store.redis_store import GROUP, RedisStore

T0 = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)
LEASE = timedelta(seconds=30)

OpenRedis = Callable[..., RedisStore]


def make_job(key: str) -> Job:
    return Job(key=key, lead=Lead(id="lead-1"), message=Message(text="hi"), accepted_at=T0)


def make_record(key: str, at: datetime = T0) -> DecisionRecord:
    return DecisionRecord(key=key, lead_id="lead-1", outcome=Outcome.SENT, at=at)


def with_query(url: str, query: str) -> str:
    return f"{url}{'&' if '?' in url else '?'}{query}"


# -- version -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "parsed"),
    [("7.0.15", (7, 0, 15)), ("6.2", (6, 2)), ("10.1.0", (10, 1, 0)), ("6.2.1-rc2", (6, 2, 1))],
)
def test_parse_version(text: str, parsed: tuple[int, ...]) -> None:
    assert parse_version(text) == parsed


@pytest.mark.parametrize("text", ["6.2.0", "6.2.14", "7.0.15", "7.2.4", "10.0.0"])
def test_versions_from_6_2_on_are_accepted(text: str) -> None:
    check_version(text)


@pytest.mark.parametrize("text", ["6.0.20", "6.1.9", "5.0.7", "3.2.12"])
def test_older_versions_are_refused(text: str) -> None:
    with pytest.raises(ConfigError, match=rf"^Redis {text} is too old: 6\.2 or newer is required"):
        check_version(text)


@pytest.mark.parametrize("text", ["", "unknown"])
def test_unreadable_versions_are_refused(text: str) -> None:
    with pytest.raises(ConfigError, match=r"reports no version .* 6\.2 or newer is required"):
        check_version(text)


class OldRedis:
    """A pretend Redis server: answers INFO with an old version, anything else with OK."""

    def __init__(self, version: str) -> None:
        self.version = version
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.listener.settimeout(0.05)
        self.port = int(self.listener.getsockname()[1])
        self.stopping = threading.Event()
        self.thread = threading.Thread(target=self._serve)
        self.thread.start()

    def _serve(self) -> None:
        while not self.stopping.is_set():
            try:
                conn, _ = self.listener.accept()
            except TimeoutError:
                continue
            conn.settimeout(5)
            with conn, conn.makefile("rb") as reader:
                while line := reader.readline():
                    words = []
                    for _ in range(int(line[1:])):
                        size = int(reader.readline()[1:])
                        words.append(reader.read(size + 2)[:-2].decode())
                    if words[0].upper() == "INFO":
                        body = f"# Server\r\nredis_version:{self.version}\r\n".encode()
                        conn.sendall(b"$%d\r\n%s\r\n" % (len(body), body))
                    else:
                        conn.sendall(b"+OK\r\n")

    def stop(self) -> None:
        self.stopping.set()
        self.thread.join()
        self.listener.close()


def test_opening_an_old_redis_is_refused_with_a_sentence() -> None:
    server = OldRedis("6.0.9")
    try:
        with pytest.raises(ConfigError, match=r"Redis 6\.0\.9 is too old: 6\.2 or newer"):
            open_store(f"redis://127.0.0.1:{server.port}/0")
    finally:
        server.stop()


# -- URLs and prefixes -------------------------------------------------------------------------


def test_the_prefix_comes_from_the_url_unless_given(
    redis_url: str, redis_prefixes: Callable[[], str]
) -> None:
    in_url, given = redis_prefixes(), redis_prefixes()
    store = open_store(with_query(redis_url, f"prefix={in_url}"))
    other = open_store(with_query(redis_url, f"prefix={in_url}"), prefix=given)
    try:
        assert isinstance(store, RedisStore) and isinstance(other, RedisStore)
        assert (store.prefix, other.prefix) == (in_url, given)
    finally:
        store.close()
        other.close()


def test_the_default_prefix_is_responder(redis_url: str, redis_client: redis.Redis) -> None:
    existed = redis_client.exists("responder:jobs")
    store = RedisStore(redis_url)
    try:
        assert store.prefix == "responder"
        assert redis_client.exists("responder:jobs")
    finally:
        store.close()
        if not existed and redis_client.xlen("responder:jobs") == 0:
            redis_client.delete("responder:jobs")


@pytest.mark.parametrize("prefix", ["has space", "star*", "{tag}"])
def test_unusable_prefixes_are_refused(redis_url: str, prefix: str) -> None:
    with pytest.raises(ConfigError, match=r"prefix .* cannot be used"):
        RedisStore(redis_url, prefix=prefix)


def test_an_unusable_url_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="Redis URL cannot be used"):
        open_store("redis://127.0.0.1:notaport/0")


def test_a_refused_login_is_a_config_error_that_does_not_show_the_password(
    redis_url: str,
) -> None:
    parts = urlsplit(redis_url)
    url = f"redis://:s3cret-value@{parts.hostname}:{parts.port or 6379}/0"
    with pytest.raises(ConfigError, match="refused the login") as raised:
        open_store(url)
    assert "s3cret-value" not in str(raised.value)


def test_prefixes_keep_deployments_apart(
    redis_store_factory: OpenRedis, redis_client: redis.Redis
) -> None:
    one, two = redis_store_factory(), redis_store_factory()
    assert one.accept(make_job("m1"), owner="a", lease=LEASE, now=T0) is True
    assert two.accept(make_job("m1"), owner="a", lease=LEASE, now=T0) is True
    one.note_inbound("lead-1", T0)
    one.reserve_reply(
        "m1",
        "lead-1",
        Sending("faq", "Hi", 123, T0),
        cooldown=LEASE,
        budget=1,
        budget_period=timedelta(hours=1),
    )
    one.finish(make_record("m1"))

    assert two.lead_state("lead-1").first_seen is None
    assert two.decisions() == [] and two.decision("m1") is None
    assert (one.pending(), two.pending()) == (0, 1)
    keys = list(redis_client.scan_iter(match=f"{one.prefix}*"))
    assert keys and all(key.startswith(f"{one.prefix}:") for key in keys)


# -- the job stream and expiries ---------------------------------------------------------------


def test_a_job_is_a_stream_entry_pending_with_its_owner(
    redis_store_factory: OpenRedis, redis_client: redis.Redis
) -> None:
    store = redis_store_factory()
    jobs = f"{store.prefix}:jobs"

    def holders() -> list[str]:
        pending = redis_client.xpending_range(jobs, GROUP, min="-", max="+", count=10)
        return [entry["consumer"] for entry in pending]

    store.accept(make_job("m1"), owner="worker-a", lease=LEASE, now=T0)
    assert redis_client.xlen(jobs) == 1
    assert holders() == ["worker-a"]

    store.reclaim(owner="worker-b", lease=LEASE, now=T0 + 2 * LEASE)
    assert holders() == ["worker-b"]

    store.finish(make_record("m1"))
    assert redis_client.xlen(jobs) == 0
    assert holders() == []


def test_a_job_whose_pending_entry_was_lost_cannot_be_renewed(
    redis_store_factory: OpenRedis, redis_client: redis.Redis
) -> None:
    store = redis_store_factory()
    store.accept(make_job("m1"), owner="worker-a", lease=LEASE, now=T0)
    entry = redis_client.hget(f"{store.prefix}:job:m1", "entry")
    redis_client.xack(f"{store.prefix}:jobs", GROUP, entry)
    assert store.renew("m1", owner="worker-a", attempts=0, lease=LEASE, now=T0) is False
    # The lease still runs out and the job is taken over, not lost.
    (job,) = store.reclaim(owner="worker-b", lease=LEASE, now=T0 + 2 * LEASE)
    assert job.key == "m1"
    assert store.renew("m1", owner="worker-b", attempts=1, lease=LEASE, now=T0 + 2 * LEASE) is True


def test_claims_are_kept_at_least_claim_ttl(
    redis_store_factory: OpenRedis, redis_client: redis.Redis
) -> None:
    store = redis_store_factory()
    store.accept(make_job("m1"), owner="a", lease=LEASE, now=T0)
    assert redis_client.ttl(f"{store.prefix}:claim:m1") >= CLAIM_TTL.total_seconds() - 60


def test_a_claim_ttl_below_claim_ttl_is_refused(redis_url: str) -> None:
    with pytest.raises(ConfigError, match="at least 7 days"):
        RedisStore(redis_url, claim_ttl=timedelta(days=1))


def test_the_decision_log_is_capped_but_each_decision_stays_findable(
    redis_store_factory: OpenRedis, redis_client: redis.Redis
) -> None:
    store = redis_store_factory(decisions_cap=10)
    for i in range(400):
        store.finish(make_record(f"m{i}", at=T0 + timedelta(seconds=i)))
    assert redis_client.xlen(f"{store.prefix}:decisions") < 400
    assert [d.key for d in store.decisions(limit=3)] == ["m399", "m398", "m397"]
    assert store.decision("m0") == make_record("m0")
    assert redis_client.ttl(f"{store.prefix}:decision:m0") > 0


def test_prune_forgets_consumers_that_hold_nothing(
    redis_store_factory: OpenRedis, redis_client: redis.Redis, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = redis_store_factory()
    store.accept(make_job("m1"), owner="gone", lease=LEASE, now=T0)
    store.accept(make_job("m2"), owner="busy", lease=LEASE, now=T0)
    store.finish(make_record("m1"))
    monkeypatch.setattr("responder.store.redis_store._IDLE_CONSUMER_MS", -1)
    store.prune(now=T0, retention=timedelta(days=1))
    consumers = redis_client.xinfo_consumers(f"{store.prefix}:jobs", GROUP)
    assert [c["name"] for c in consumers] == ["busy"]


# -- outages -----------------------------------------------------------------------------------


class Proxy:
    """A TCP relay to the real Redis that can be cut and restored on the same port."""

    def __init__(self, target: tuple[str, int]) -> None:
        self.target = target
        self.port = 0
        self.sockets: list[socket.socket] = []
        self.threads: list[threading.Thread] = []

    def start(self) -> Proxy:
        self.listener = socket.create_server(("127.0.0.1", self.port))
        self.listener.settimeout(0.05)
        self.port = int(self.listener.getsockname()[1])
        self.stopping = threading.Event()
        self._spawn(self._accept)
        return self

    def _spawn(self, target: Callable[..., None], *args: socket.socket) -> None:
        thread = threading.Thread(target=target, args=args)
        self.threads.append(thread)
        thread.start()

    def _accept(self) -> None:
        while not self.stopping.is_set():
            try:
                client, _ = self.listener.accept()
            except TimeoutError:
                continue
            upstream = socket.create_connection(self.target)
            self.sockets += [client, upstream]
            self._spawn(self._pump, client, upstream)
            self._spawn(self._pump, upstream, client)

    @staticmethod
    def _pump(source: socket.socket, sink: socket.socket) -> None:
        with suppress(OSError):
            while data := source.recv(65536):
                sink.sendall(data)

    def stop(self) -> None:
        self.stopping.set()
        for sock in self.sockets:
            with suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
        for thread in self.threads:
            thread.join()
        for sock in self.sockets:
            sock.close()
        self.listener.close()
        self.sockets, self.threads = [], []


def test_a_store_opened_while_redis_is_down_works_once_it_is_up(
    redis_url: str, redis_prefixes: Callable[[], str]
) -> None:
    parts = urlsplit(redis_url)
    proxy = Proxy((parts.hostname or "127.0.0.1", parts.port or 6379))
    with socket.socket() as probe:  # a port with nothing listening yet
        probe.bind(("127.0.0.1", 0))
        proxy.port = int(probe.getsockname()[1])
    relayed = f"redis://127.0.0.1:{proxy.port}{parts.path or '/0'}"
    store = RedisStore(relayed, prefix=redis_prefixes(), timeout=1.0)
    with pytest.raises(StoreUnavailable, match="cannot be reached"):
        store.accept(make_job("m1"), owner="a", lease=LEASE, now=T0)
    proxy.start()
    try:
        assert store.accept(make_job("m1"), owner="a", lease=LEASE, now=T0) is True
        (job,) = store.reclaim(owner="b", lease=LEASE, now=T0 + 2 * LEASE)  # the group exists
        assert job.key == "m1"
    finally:
        store.close()
        proxy.stop()


def test_an_outage_raises_store_unavailable_and_the_store_recovers_by_itself(
    redis_url: str, redis_prefixes: Callable[[], str]
) -> None:
    parts = urlsplit(redis_url)
    proxy = Proxy((parts.hostname or "127.0.0.1", parts.port or 6379)).start()
    relayed = f"redis://127.0.0.1:{proxy.port}{parts.path or '/0'}"
    store = RedisStore(relayed, prefix=redis_prefixes(), timeout=1.0)
    try:
        assert store.accept(make_job("m1"), owner="a", lease=LEASE, now=T0) is True
        proxy.stop()
        with pytest.raises(StoreUnavailable, match="cannot be reached"):
            store.accept(make_job("m2"), owner="a", lease=LEASE, now=T0)
        with pytest.raises(StoreUnavailable, match="cannot be reached"):
            store.ping()

        proxy.start()
        store.ping()
        assert store.accept(make_job("m2"), owner="a", lease=LEASE, now=T0) is True
        assert store.pending() == 2
    finally:
        store.close()
        proxy.stop()
