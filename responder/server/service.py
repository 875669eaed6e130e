"""One process's responder at work: the pipeline wired to its store, its API client, a pool
of sender threads and a janitor thread.

Sizing: a send waits on the ABC API (hundreds of milliseconds) while using almost no CPU, so
each process keeps ``RESPONDER_SENDERS`` (default 64) threads sending; by Little's law 400
messages/s at 0.2 s each need 80 sends in flight, i.e. two processes at the default. The
janitor takes over the jobs of dead processes once their lease expires, and prunes old rows.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from urllib.parse import urlsplit

from responder.config import Config
from responder.engine.rulebook import RuleBook
from responder.errors import ResponderError, StoreUnavailable
from responder.events import NO_EVENTS, Events
from responder.instances import HEARTBEAT_EVERY
from responder.model import Job, utcnow
from responder.pipeline import Responder
from responder.platform.client import AbcClient
from responder.server.heartbeat import Heartbeat
from responder.server.later import Later
from responder.server.live import LiveRelease, first_book
from responder.store import open_instances, open_releases, open_store, releases_folder

log = logging.getLogger("responder.service")

PRUNE_EVERY = timedelta(hours=1)


class Service:
    """One process's responder. Building it opens the store and the API client and starts no
    thread; :meth:`start` starts the janitor (sender threads start with the first job);
    :meth:`close` stops them and closes the connections."""

    def __init__(self, config: Config, events: Events = NO_EVENTS) -> None:
        self.config = config
        self.events = events
        self.store = open_store(config.store_url)
        self.releases = open_releases(config.store_url)
        self.instances = open_instances(config.store_url)
        releases_dir = releases_folder(config.store_url, config.releases_dir)
        try:
            first = first_book(config, self.releases, releases_dir)
            first.book.warm()
        except BaseException:
            self.instances.close()
            self.releases.close()
            self.store.close()
            raise
        self.client = AbcClient(
            config.api_url,
            config.api_key,
            connect_timeout=config.connect_timeout,
            read_timeout=config.read_timeout,
            max_connections=config.senders + 4,
            observe=events.api_call,
        )
        self.owner = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        self.pool = ThreadPoolExecutor(config.senders, thread_name_prefix="responder-send")
        self.later = Later(self.submit)
        self.responder = Responder(
            config=config,
            book=first.book,
            store=self.store,
            api=self.client,
            owner=self.owner,
            dispatch=self.submit,
            release=first.release,
            later=self.later,
            events=events,
        )
        events.release(first.release)
        heartbeat = Heartbeat(
            self.instances, self.owner, every=max(HEARTBEAT_EVERY, config.release_poll)
        )
        self.live = LiveRelease(
            config, self.releases, first, self._serve, releases_dir, heartbeat=heartbeat
        )
        self._stopping = threading.Event()
        self._start_lock = threading.Lock()
        # Jobs handed to the pool and not started yet, oldest first: key -> when handed over.
        self._waiting: dict[str, float] = {}
        self._waiting_lock = threading.Lock()
        self._started = False
        self._janitor = threading.Thread(
            target=self._janitor_loop, name="responder-janitor", daemon=True
        )
        destination = "sandbox" if config.sandbox else _safe_url(config.api_url)
        dry_run = ", DRY RUN (nothing is sent)" if config.dry_run else ""
        log.info(
            "responder %s ready: release %s, %d rules, store %s, %s%s",
            self.owner,
            first.release,
            len(first.book.all_rules),
            _safe_url(config.store_url),
            destination,
            dry_run,
        )

    def start(self) -> None:
        """Start the janitor; once only, from whichever thread asks first (cheap after that)."""
        if self._started:
            return
        with self._start_lock:
            if not self._started and not self._stopping.is_set():
                self._janitor.start()
                self.live.start()
            self._started = True

    def _serve(self, book: RuleBook, release: int | None) -> None:
        self.responder.serve(book, release)
        self.events.release(release)

    def submit(self, job: Job) -> None:
        with self._waiting_lock:
            self._waiting[job.key] = time.monotonic()
        self.events.job_waiting(1)
        self.pool.submit(self._run, job)

    def _run(self, job: Job) -> None:
        with self._waiting_lock:
            self._waiting.pop(job.key, None)
        self.events.job_waiting(-1)
        self.events.job_running(1)
        try:
            self.responder.handle(job)
        except Exception:  # the pool would swallow it silently; the lease brings the job back
            log.exception("job %s failed unexpectedly; it will be retried after its lease", job.key)
        finally:
            self.events.job_running(-1)

    def _janitor_loop(self) -> None:
        next_prune = utcnow()
        interval = self.config.janitor_interval.total_seconds()
        while True:
            try:
                now = utcnow()
                for job in self.store.reclaim(owner=self.owner, lease=self.config.lease, now=now):
                    log.info("taking over job %s (attempt %d)", job.key, job.attempts)
                    self.submit(job)
                if now >= next_prune:
                    pruned = self.store.prune(now=now, retention=self.config.retention)
                    if pruned:
                        log.info("pruned %d old rows", pruned)
                    next_prune = now + PRUNE_EVERY
            except ResponderError as exc:
                if isinstance(exc, StoreUnavailable):
                    self.events.store_error("janitor")
                log.warning("janitor: %s", exc)
            if self._stopping.wait(interval):
                return

    def _hand_back(self, jobs: list[Job]) -> None:
        """End the leases of the jobs set aside (leaders of bursts gathering), so that another
        process's janitor takes them over at once rather than after their long lease."""
        for job in jobs:
            try:
                self.store.renew(
                    job.key,
                    owner=self.owner,
                    attempts=job.attempts,
                    lease=timedelta(0),
                    now=utcnow(),
                )
            except ResponderError as exc:  # the lease still runs out by itself
                log.warning("job %s kept its lease: %s", job.key, exc)

    def readiness(self) -> str | None:
        """None when a delivery now would be accepted and answered, else why not, in words fit
        for anyone to read (the details, such as which host or file failed, go to the log).

        Not ready while the store cannot record a delivery, or while every sender is busy
        and the oldest job waiting for one has waited longer than ``Config.sender_wait``.
        """
        try:
            self.store.ping()
        except ResponderError as exc:
            log.warning("not ready, store unavailable: %s", exc)
            return "store unavailable"
        with self._waiting_lock:
            waiting = len(self._waiting)
            oldest = next(iter(self._waiting.values()), None)
        waited = time.monotonic() - oldest if oldest is not None else 0.0
        if waited > self.config.sender_wait.total_seconds():
            return f"every sender is busy: {waiting} replies wait, the oldest for {waited:.0f} s"
        return None

    def close(self) -> None:
        with self._start_lock:  # a start() racing with this one starts nothing
            self._stopping.set()
        if self._janitor.is_alive():
            self._janitor.join()
        self.live.stop()
        self._hand_back(self.later.stop())
        # Finish the sends under way; queued jobs come back to someone through their lease.
        self.pool.shutdown(wait=True, cancel_futures=True)
        self.client.close()
        self.instances.close()
        self.releases.close()
        self.store.close()


def _safe_url(url: str) -> str:
    """``url`` without credentials or query (a password may hide in either), for a log line.

    Anything without a scheme and a host (a file path) is returned as it is.
    """
    parts = urlsplit(url)
    if not parts.scheme or not parts.netloc:
        return url  # a file path
    host = parts.hostname or ""
    if ":" in host:  # IPv6, bracketed again
        host = f"[{host}]"
    try:
        port = f":{parts.port}" if parts.port else ""
    except ValueError:  # a port that is not a number: leave it out
        port = ""
    return f"{parts.scheme}://{host}{port}{parts.path}"
