"""The shared state store on Redis (6.2 or newer), for several processes and machines.

Every check-and-set runs inside Redis as one Lua script (loaded once, then called by its
SHA), so nothing is ever read into Python and written back. Keys, all under ``<prefix>:`` so
one Redis can serve several deployments:

``claim:<key>``     string, expires after ``claim_ttl`` (at least ``CLAIM_TTL``): the claim.
``jobs``            stream with consumer group ``workers``: one entry per unfinished job. The
                    entry sits in the pending list of the consumer (= owner) holding the job,
                    so ``XPENDING``/``XINFO`` show who holds what; ownership moves with XCLAIM.
``job:<key>``       hash: ``entry`` (stream id), ``payload``, ``attempts``, ``sending``.
``leases``          sorted set: job key scored by lease expiry (Unix seconds).
``lead:<id>``       hash: ``first_seen``, ``last_inbound``, ``paused_until``, ``r:<rule>``
                    (time of the rule's last reply) and ``k:<rule>`` (the job that took it).
``pauses``          hash: the people's pauses, per lead id (``*``: everyone): ``p:<id>`` the
                    pause as JSON, ``u:<id>`` until when (empty: until resumed). Read
                    with the lead's hash, in the same script or round trip.
``pause_changes``   stream capped near 10,000 entries: each pausing and resuming, with
                    ``at``, ``lead``, ``action``, ``by`` and the pause's JSON ``d``.
``budget:<id>``     sorted set: ``<job key>|<rule>`` of each reserved reply, scored by its time.
``decision:<key>``  string: the decision as JSON (idempotent ``finish``), expires after
                    ``decision_ttl``.
``decisions``       stream capped near ``decisions_cap`` entries: the log, newest last.
``unanswered``      stream capped near ``unanswered_cap`` entries: of each decision whose
                    message matched no rule (``unmatched``), its time, lead, text and
                    normalised text; what :meth:`RedisStore.unanswered` groups.
``burst...``        bursts of messages answered together: see :mod:`responder.store.redis_bursts`.

Per-lead state (leads, pauses, reservations) is in :mod:`responder.store.redis_leads`.

Why leases live in a sorted set rather than in the pending list's idle time (XAUTOCLAIM
with min-idle = lease): idle time is measured by the Redis server's clock, while the store
contract has the caller decide what "now" is; XCLAIM's TIME option cannot set a delivery
time in the future, so a lease cannot be written into the pending list either. The sorted
set gives the same properties on the caller's clock: a lease expires when its score is
before ``now``; ``reclaim`` takes over expired jobs (and moves their pending entries to the
new owner) in one script, so two callers never get the same job; ``renew`` only extends a
lease whose pending entry belongs to the caller; nothing is lost because a job leaves the
stream, hash and sorted set together, only in ``finish``.

Expiry by the server's clock is used for garbage only: claims, decision records, reply
budgets of quiet leads. Lead hashes do not expire. Budget entries older than the budget
period of the latest ``reserve_reply`` for that lead are forgotten at that call, so one
deployment should use one budget period. ``decisions`` lists newest *recorded* first.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime, timedelta

import redis

from responder.errors import ConfigError, StoreUnavailable
from responder.model import DecisionRecord, Job, Outcome, Sending
from responder.ports import CLAIM_TTL
from responder.queries import ActivityPage, ActivityQuery, Unanswered
from responder.store import redis_log
from responder.store import redis_scripts as scripts
from responder.store._convert import seconds, to_ts, ts_text
from responder.store.redis_bursts import RedisBursts
from responder.store.redis_connect import check_prefix, check_version, connect, split_prefix
from responder.store.redis_leads import RedisLeads

DEFAULT_PREFIX = "responder"
GROUP = "workers"
_PRUNE_BATCH = 500
_SCAN_CAP = 20_000
# How many unmatched messages (about) the ``unanswered`` stream keeps, newest.
UNANSWERED_CAP = 10_000
# A consumer (one per process that ever held a job) with nothing pending is forgotten after
# this long without activity.
_IDLE_CONSUMER_MS = 24 * 3600 * 1000

_LOGIN_REFUSED = (redis.exceptions.AuthenticationError, redis.exceptions.AuthorizationError)


class RedisStore(RedisLeads, RedisBursts):
    """The :class:`~responder.ports.Store` contract on a Redis server.

    ``url`` is ``redis://[user:password@]host:port/db`` or ``rediss://...`` (TLS), optionally
    with ``?prefix=name``; the ``prefix`` argument wins over it (default ``responder``).

    Opening connects and checks the server version. Raises :class:`ConfigError` for an
    unusable URL or prefix, a refused password, or a server older than 6.2. A server that
    cannot be reached at that moment is not an error: the first method call that reaches it
    finishes opening (and may then raise ConfigError). Every method raises
    :class:`StoreUnavailable` when Redis cannot be reached, times out, is a read-only replica
    or is out of memory; the client reconnects by itself once Redis is back. ``timeout``
    bounds each wait on the server, so that a Redis that accepts connections but never
    answers costs a call about that long, not more (the webhook then still answers 503 in
    time).
    """

    def __init__(
        self,
        url: str = "redis://127.0.0.1:6379/0",
        *,
        prefix: str | None = None,
        claim_ttl: timedelta = CLAIM_TTL,
        decision_ttl: timedelta = timedelta(days=90),
        decisions_cap: int = 100_000,
        unanswered_cap: int = UNANSWERED_CAP,
        timeout: float = 1.0,
    ) -> None:
        url, url_prefix = split_prefix(url)
        self.prefix = check_prefix(prefix or url_prefix or DEFAULT_PREFIX)
        if claim_ttl < CLAIM_TTL:
            raise ConfigError(f"Claims must be kept at least {CLAIM_TTL.days} days.")
        self._claim_ttl = str(math.ceil(seconds(claim_ttl)))
        self._decision_ttl = str(math.ceil(seconds(decision_ttl)))
        self._decisions_cap = str(decisions_cap)
        self._unanswered_cap = str(unanswered_cap)
        self._redis = connect(url, timeout)
        kwargs = self._redis.connection_pool.connection_kwargs
        self.where = f"{kwargs.get('host', 'localhost')}:{kwargs.get('port', 6379)}"
        self.where += f"/{kwargs.get('db', 0)}"
        k = f"{self.prefix}:"
        self._k = k
        self._jobs = k + "jobs"
        self._leases = k + "leases"
        self._log = k + "decisions"
        self._unanswered = k + "unanswered"
        self._pauses = k + "pauses"
        self._pause_changes = k + "pause_changes"
        script = self._redis.register_script
        self._accept = script(scripts.ACCEPT)
        self._reclaim = script(scripts.RECLAIM)
        self._renew = script(scripts.RENEW)
        self._finish = script(scripts.FINISH)
        self._prune_pauses = script(scripts.PRUNE_PAUSES)
        self._prune_decisions = script(scripts.PRUNE_DECISIONS)
        self._forget_consumers = script(scripts.FORGET_IDLE_CONSUMERS)
        self._prune_stream = script(scripts.PRUNE_STREAM)
        self._register_leads(script)
        self._register_bursts(script)
        self._opened = False
        try:
            self._open()
        except StoreUnavailable:
            # Unreachable now: start anyway (the service reports itself not ready and answers
            # 503) and finish opening on the first call that reaches the server.
            pass
        except BaseException:
            self.close()
            raise

    def _open(self) -> None:
        """Check the server's version and create the consumer group (idempotent)."""
        with self._errors():
            try:
                info = self._redis.info("server")
            except _LOGIN_REFUSED as exc:
                # Wrong credentials will not fix themselves: a configuration problem.
                raise ConfigError(
                    f"The Redis server at {self.where} refused the login ({exc})."
                ) from exc
            check_version(str(info.get("redis_version", "")))
            try:
                self._redis.xgroup_create(self._jobs, GROUP, id="0", mkstream=True)
            except redis.exceptions.ResponseError as exc:
                if "BUSYGROUP" not in str(exc):
                    raise
        self._opened = True

    @contextmanager
    def _guard(self) -> Iterator[None]:
        """Open first if the server could not be reached at start; translate its errors."""
        if not self._opened:
            self._open()
        with self._errors():
            yield

    @contextmanager
    def _errors(self) -> Iterator[None]:
        try:
            yield
        except (redis.exceptions.ConnectionError, redis.exceptions.TimeoutError) as exc:
            raise StoreUnavailable(
                f"The Redis server at {self.where} cannot be reached ({exc}). "
                "Check that it is running and reachable from this machine."
            ) from exc
        except redis.exceptions.ReadOnlyError as exc:
            raise StoreUnavailable(
                f"The Redis server at {self.where} is a read-only replica; "
                "the store needs the primary."
            ) from exc
        except redis.exceptions.OutOfMemoryError as exc:
            raise StoreUnavailable(
                f"The Redis server at {self.where} is out of memory and refuses writes."
            ) from exc

    # -- claims and jobs ----------------------------------------------------------------------

    def accept(
        self,
        job: Job,
        *,
        owner: str,
        lease: timedelta,
        now: datetime,
        inbound_at: datetime | None = None,
    ) -> bool:
        keys = [self._k + "claim:" + job.key, self._jobs, self._k + "job:" + job.key, self._leases]
        keys.append(self._k + "lead:" + job.lead.id)
        args: list[str | int] = [
            job.key,
            job.to_json(),
            owner,
            repr(to_ts(now) + seconds(lease)),
            self._claim_ttl,
            GROUP,
            job.attempts,
            job.sending.to_json() if job.sending else "",
            ts_text(inbound_at) if inbound_at is not None else "",
        ]
        with self._guard():
            return bool(self._accept(keys=keys, args=args))

    def reclaim(
        self, *, owner: str, lease: timedelta, now: datetime, limit: int = 100
    ) -> list[Job]:
        at = to_ts(now)
        args: list[str | int] = [
            repr(at),
            repr(at + seconds(lease)),
            owner,
            limit,
            GROUP,
            self._k + "job:",
        ]
        with self._guard():
            flat = self._reclaim(keys=[self._jobs, self._leases], args=args)
        return [
            Job.from_json(
                flat[i], attempts=int(flat[i + 1]), sending=Sending.from_json(flat[i + 2])
            )
            for i in range(0, len(flat), 3)
        ]

    def renew(
        self, key: str, *, owner: str, attempts: int, lease: timedelta, now: datetime
    ) -> bool:
        keys = [self._jobs, self._leases, self._k + "job:" + key]
        args = [key, owner, repr(to_ts(now) + seconds(lease)), GROUP, str(attempts)]
        with self._guard():
            return bool(self._renew(keys=keys, args=args))

    def finish(self, record: DecisionRecord, *, pause_until: datetime | None = None) -> bool:
        keys = [
            self._k + "decision:" + record.key,
            self._log,
            self._k + "job:" + record.key,
            self._jobs,
            self._leases,
            self._unanswered,
            self._k + "lead:" + record.lead_id,
        ]
        data = json.dumps(record.to_dict(), separators=(",", ":"), ensure_ascii=False)
        args = [data, self._decision_ttl, self._decisions_cap, record.key, GROUP]
        args += [ts_text(record.at), "1" if record.unmatched else "0", self._unanswered_cap]
        args += [record.lead_id, record.text, record.normalized]
        args.append(ts_text(pause_until) if pause_until is not None else "")
        with self._guard():
            return bool(self._finish(keys=keys, args=args))

    def pending(self) -> int:
        with self._guard():
            return int(self._redis.zcard(self._leases))

    # -- decision log -------------------------------------------------------------------------

    def decisions(
        self,
        *,
        lead_id: str | None = None,
        outcome: Outcome | None = None,
        rule: str | None = None,
        limit: int = 50,
    ) -> Sequence[DecisionRecord]:
        query = ActivityQuery(lead_id=lead_id, outcome=outcome, rule=rule, limit=limit)
        return list(self.activity(query).records)

    def activity(self, query: ActivityQuery) -> ActivityPage:
        """Newest *recorded* first. One call reads at most ``_SCAN_CAP`` entries of the log
        (one stream, which a filter that matches little must not read whole): a page may
        then come back short with a ``next`` mark (a stream id) to search on from."""
        return redis_log.activity(self._newest(self._log), query, scan_cap=_SCAN_CAP)

    def unanswered(self, *, since: datetime | None = None, limit: int = 20) -> list[Unanswered]:
        """Groups the newest ``unanswered_cap`` (about) unmatched messages, at most."""
        return redis_log.unanswered(self._newest(self._unanswered), since=since, limit=limit)

    def _newest(self, stream: str) -> redis_log.Reader:
        def read(upper: str, count: int) -> list[tuple[str, dict[str, str]]]:
            with self._guard():
                return self._redis.xrevrange(stream, max=upper, min="-", count=count)  # type: ignore[return-value]

        return read

    def decision(self, key: str) -> DecisionRecord | None:
        with self._guard():
            data = self._redis.get(self._k + "decision:" + key)
        return DecisionRecord.from_dict(json.loads(data)) if data is not None else None

    # -- upkeep ---------------------------------------------------------------------------------

    def prune(self, *, now: datetime, retention: timedelta) -> int:
        """Remove decisions recorded before ``now - retention`` (claims expire by themselves)
        and forget consumers that hold nothing and were idle for a day."""
        before = repr(to_ts(now) - seconds(retention))
        removed = 0
        with self._guard():
            while True:
                count, done = self._prune_decisions(
                    keys=[self._log], args=[before, _PRUNE_BATCH, self._k + "decision:"]
                )
                removed += int(count)
                if done:
                    break
            self._forget_consumers(keys=[self._jobs], args=[GROUP, _IDLE_CONSUMER_MS])
            removed += int(self._prune_pauses(keys=[self._pauses], args=[ts_text(now)]))
            for stream in (self._unanswered, self._pause_changes):
                while True:
                    count, done = self._prune_stream(keys=[stream], args=[before, _PRUNE_BATCH])
                    removed += int(count)
                    if done:
                        break
        return removed

    def ping(self) -> None:
        with self._guard():
            self._redis.ping()

    def close(self) -> None:
        """Close the connection pool."""
        self._redis.close()
