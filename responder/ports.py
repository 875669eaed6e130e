"""The two interfaces the pipeline depends on, side by side: the ABC API and the state store.

:class:`PlatformApi` is implemented over HTTP by :class:`responder.platform.client.AbcClient`;
the pipeline's tests implement it in memory. :class:`Store` is implemented by
:mod:`responder.store.sqlite` (embedded) and :mod:`responder.store.redis_store` (shared), and
both pass the same contract tests.

The store holds four things:

- **claims and jobs** — an inbound message is claimed once under its key (kept at least
  ``CLAIM_TTL``) and persisted as a job in the same atomic step (an escalation is claimed
  with the pause it asks for, :meth:`Store.pause_once`); the job is *leased* to the
  process that accepted it. A process that dies leaves its leases to expire, and
  :meth:`Store.reclaim` hands those jobs to a live process.
- **per-lead state** — first/last inbound time, pause, last reply time per rule, and the reply
  budget; and the pauses people of the team set (:class:`Pause`), per lead or for everyone,
  which :meth:`Store.lead_state`, :meth:`Store.note_inbound` and :meth:`Store.reserve_reply`
  read in the same step as the lead's own state, so honouring them costs no extra round
  trip. A message's time is folded into its lead by :meth:`Store.accept`, in the step that
  claims it, whenever the delivery states it. Checks that guard a send
  (:meth:`Store.reserve_reply`) are a single atomic check-and-set, never a read followed by
  a write from Python.
- **the decision log** — exactly one :class:`DecisionRecord` per message key.
- **bursts** — messages of one lead answered together (``settings: gather``), see
  :class:`Bursts`.

Every store method may raise :class:`responder.errors.StoreUnavailable` when the engine cannot
be reached. Times passed in are aware datetimes; the store never reads the clock itself, so
the caller (and the tests) decide what "now" is.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Protocol

from responder.accounts import Account, Change
from responder.instances import Instance
from responder.model import (
    Connection,
    DecisionRecord,
    Job,
    LeadState,
    Message,
    Outcome,
    Pause,
    Sending,
)
from responder.queries import ActivityPage, ActivityQuery, PauseChange, Unanswered
from responder.release import Release, ReleaseSource

CLAIM_TTL = timedelta(days=7)
# At least this many of the newest releases are kept (and always the live one).
RELEASES_KEPT = 200
# The console's record of changes keeps this many, newest first.
CHANGES_KEPT = 1000


class PlatformApi(Protocol):
    """What the pipeline needs from the ABC API.

    ``deadline`` is a ``time.monotonic()`` value no call may outlive. Errors follow
    :mod:`responder.errors`: a RetryableError when nothing is definite (OutcomeUnknown when a
    reply may have been applied), a FinalError (WindowClosed, PlatformRejected) when the
    platform refused for good.
    """

    def connections(self, *, deadline: float) -> list[Connection]:
        """The company's messaging channel connections."""
        ...

    def conversation(self, lead_id: str, *, deadline: float) -> list[Message]:
        """Every message of the lead's conversation, oldest first."""
        ...

    def reply(
        self,
        lead_id: str,
        content: str,
        connection_id: int,
        *,
        attachment: str = "",
        deadline: float,
    ) -> None:
        """Send ``content`` (with the file ``attachment`` refers to, if any) to the lead
        through the connection, once."""
        ...


class SeatRole(StrEnum):
    """Where :meth:`Bursts.join_burst` put a job."""

    LEADER = "leader"  # it opened the burst: it waits, decides and finishes every member
    MEMBER = "member"  # it joined another job's burst: that job answers it
    NONE = "none"  # no open burst to join, and none opened: it is answered alone
    GONE = "gone"  # the job has its outcome already (or was never accepted): nothing to do


@dataclass(frozen=True, slots=True)
class Seat:
    """A job's place in a burst. ``last_at`` is when its last member joined."""

    role: SeatRole
    burst: str = ""
    leader: str = ""
    opened_at: datetime | None = None
    last_at: datetime | None = None
    closed: bool = False


class Bursts(Protocol):
    """Bursts: unfinished jobs of one lead gathered to be decided and answered as one.

    A lead has at most one open burst. Its leader is the job that opened it; every member
    (the leader included) is a job of the store, so a burst loses nothing when its leader's
    process dies: the leader's lease runs out and whoever takes the leader over finishes the
    burst. A burst ends with :meth:`finish_burst`, which records every member at once.
    """

    def join_burst(
        self, job_key: str, lead_id: str, *, now: datetime, hold_until: datetime, may_open: bool
    ) -> Seat:
        """Put job ``job_key`` into the lead's open burst, or open one, in one atomic step.

        A job already in a burst gets its seat back, whatever the burst's state (idempotent).
        Else it joins the lead's open burst as a member (its ``last_at`` becomes ``now``);
        else, when ``may_open``, it opens a new burst as its leader (``opened_at`` and
        ``last_at`` are ``now``); else its role is NONE. A job that is not in the store gets
        GONE and changes nothing. Joining or opening extends the job's lease to at least
        ``hold_until`` (the caller covers the whole wait), keeping its owner.
        """
        ...

    def burst_seat(self, job_key: str) -> Seat:
        """The job's seat as stored (NONE when it is in no burst); changes nothing."""
        ...

    def close_burst(self, burst: str) -> list[Job]:
        """Close ``burst`` to new members and return its members' jobs in the order they
        joined, the leader first. Idempotent; members already finished are left out."""
        ...

    def finish_burst(
        self, records: Sequence[DecisionRecord], *, pause_until: datetime | None = None
    ) -> bool:
        """Record the outcomes of a burst's members, remove their jobs and the burst, in one
        atomic step. ``records[0]`` is the leader's. Returns False, changing nothing else,
        when the leader's outcome is recorded already; a member recorded already is left as
        it is. ``pause_until`` pauses the leader's lead as :meth:`Store.finish` does."""
        ...


class Store(Bursts, Protocol):
    # -- claims and jobs -------------------------------------------------------------------

    def accept(
        self,
        job: Job,
        *,
        owner: str,
        lease: timedelta,
        now: datetime,
        inbound_at: datetime | None = None,
    ) -> bool:
        """Claim ``job.key`` and persist ``job`` leased to ``owner`` until ``now + lease``;
        with ``inbound_at``, also fold that time into the lead ``job.lead.id`` as
        :meth:`note_inbound` does.

        One atomic step: once it returns True the job and the lead's times are both
        durable, so the sender reads the state it decides on (:meth:`lead_state`) without
        writing it again. Returns False, persisting nothing (the lead's times untouched), when
        the key was already claimed (a duplicate delivery) at any time in the last
        ``CLAIM_TTL``.
        """
        ...

    def reclaim(
        self, *, owner: str, lease: timedelta, now: datetime, limit: int = 100
    ) -> list[Job]:
        """Take over unfinished jobs whose lease expired before ``now``.

        Each returned job is now leased to ``owner`` until ``now + lease``, its ``attempts``
        incremented and its ``sending`` as last reserved; two concurrent callers never get
        the same job.
        """
        ...

    def renew(
        self, key: str, *, owner: str, attempts: int, lease: timedelta, now: datetime
    ) -> bool:
        """Extend to ``now + lease`` the lease ``owner`` holds on job ``key``.

        ``attempts`` is the job's count in the caller's copy: the renewal succeeds only while
        the job is still leased to ``owner`` under that same count, so a copy that a
        :meth:`reclaim` has superseded (even one by the same owner) is told False and must
        be dropped.
        """
        ...

    def finish(self, record: DecisionRecord, *, pause_until: datetime | None = None) -> bool:
        """Record the outcome of job ``record.key`` and remove the job, atomically.

        Idempotent: if an outcome is already recorded for that key, nothing else changes and
        False is returned. With ``pause_until`` (the pause a rule sets once its reply is
        sent), the lead ``record.lead_id`` is also paused as :meth:`pause` does, in the same
        step, whether or not the outcome was recorded already: the reply it follows has
        gone out either way.
        """
        ...

    def pending(self) -> int:
        """How many accepted jobs have no outcome yet."""
        ...

    # -- per-lead state --------------------------------------------------------------------

    def lead_state(self, lead_id: str) -> LeadState:
        """The lead's state as stored now (an empty state for an unknown lead), with
        ``held`` the people's pauses of the lead and of everyone, expired or not."""
        ...

    def note_inbound(self, lead_id: str, at: datetime) -> LeadState:
        """Fold one inbound message time in: ``first_seen = min``, ``last_inbound = max``.

        Returns the state after the update, read in the same atomic step (``held`` as in
        :meth:`lead_state`). Idempotent. For a time not known when the job was accepted (a
        message completed from the conversation, an earlier message found in the history);
        a time known then is folded by :meth:`accept` itself.
        """
        ...

    def put_pause(self, pause: Pause) -> None:
        """Record a person's pause; it replaces the one set before for the same lead (or for
        everyone), so a pause can be made shorter as well as longer. A :class:`PauseChange`
        is recorded with it, in the same atomic step."""
        ...

    def end_pause(self, lead_id: str, *, by: str, now: datetime) -> Pause | None:
        """Resume the bot for ``lead_id`` (``EVERYONE``: the pause for everyone ends; leads
        paused on their own stay paused). For a lead, its automatic pause (an escalation, a
        person writing, a rule's ``pause``) ends too. Records, in the same atomic step, that
        ``by`` resumed at ``now``. Returns the person's pause that ended, None when there
        was none."""
        ...

    def pause_changes(self, *, limit: int = 50) -> list[PauseChange]:
        """Who paused and resumed the bot, newest recorded first; kept as long as decisions
        (see :meth:`prune`), on Redis also at most about the newest 10,000."""
        ...

    def pauses(self, *, now: datetime) -> list[Pause]:
        """The people's pauses running at ``now``: the one for everyone first, then by lead.
        Expired ones are left out (and removed by :meth:`prune`)."""
        ...

    def pause(self, lead_id: str, until: datetime) -> None:
        """Silence the bot for the lead until ``until`` (never shortens an existing pause)."""
        ...

    def pause_once(self, key: str, lead_id: str, until: datetime, *, now: datetime) -> bool:
        """Claim ``key`` and :meth:`pause` the lead until ``until``, in one atomic step.

        For a request to pause that may come more than once (an escalation, replayed or
        redelivered): returns False, changing nothing, when ``key`` is claimed already (the
        claims are :meth:`accept`'s, kept as long) and the lead is still paused at ``now``.
        Once no pause runs, the same key pauses the lead again (and is claimed anew): a
        request repeated then cannot be told from a new one.
        """
        ...

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
        """Atomically check the guards of one send and, if they pass, take the slot.

        "Now" is ``sending.reserved_at``. In this order: the lead paused (automatically, or by
        a person's pause of the lead or of everyone) -> ``Outcome.PAUSED``;
        ``sending.rule`` answered the lead within ``cooldown`` -> ``Outcome.COOLDOWN``;
        ``budget`` replies already reserved in the last ``budget_period`` ->
        ``Outcome.BUDGET``. Otherwise, in the same atomic step: record now as the rule's last
        reply, count it against the budget, both under ``job_key``, and persist ``sending`` on
        job ``job_key`` (if it exists) so that a takeover verifies instead of deciding again.
        Idempotent: when the rule's latest reservation is ``job_key``'s own, returns None and
        takes nothing more.
        """
        ...

    def release_reply(self, job_key: str, lead_id: str, rule: str) -> None:
        """Undo the reservation ``job_key`` made, for a send that definitely did not happen.

        The rule's last reply is cleared only if ``job_key`` made the latest one; the budget
        slot ``job_key`` took is given back.
        """
        ...

    # -- decision log ----------------------------------------------------------------------

    def decisions(
        self,
        *,
        lead_id: str | None = None,
        outcome: Outcome | None = None,
        rule: str | None = None,
        limit: int = 50,
    ) -> Sequence[DecisionRecord]:
        """The most recent decisions first, filtered by whatever is given (the first page
        of :meth:`activity`)."""
        ...

    def activity(self, query: ActivityQuery) -> ActivityPage:
        """One page of the decision log, newest first, filtered as ``query`` says.

        A page may hold fewer than ``query.limit`` decisions while ``next`` is not None (an
        engine may stop searching after a bounded amount of log per call); a ``before`` the
        store did not hand out raises ValueError.
        """
        ...

    def unanswered(self, *, since: datetime | None = None, limit: int = 20) -> list[Unanswered]:
        """The most frequent messages no rule matched (or only a fallback rule: decisions with
        ``unmatched``) since ``since``, grouped by normalised text: most frequent first,
        then most recent."""
        ...

    def decision(self, key: str) -> DecisionRecord | None:
        """The recorded outcome for one message key, if any."""
        ...

    # -- upkeep ----------------------------------------------------------------------------

    def prune(self, *, now: datetime, retention: timedelta) -> int:
        """Delete decisions and pause changes older than ``retention``, claims older than
        ``max(retention, CLAIM_TTL)`` and people's pauses that ended before ``now``; returns
        how many rows went."""
        ...

    def ping(self) -> None:
        """Raise StoreUnavailable unless the store answers and could record a delivery now
        (an SQLite file whose disk is almost full cannot)."""
        ...

    def close(self) -> None: ...


class ReleaseStore(Protocol):
    """Published rule books (:class:`Release`), numbered 1, 2, ...; one of them is live.

    Implemented beside each state store, on the same SQLite file or Redis prefix; both pass
    the same contract tests. Every method may raise StoreUnavailable.
    """

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
        """Store the files as the next release and make it live, in one atomic step.

        Concurrent publishers get distinct numbers; the one numbered last is live. A folder
        release (``source`` FOLDER) whose content equals that of the last folder release is
        not published again: returns None, changing nothing (instances started from one
        image import their folder once). Keeps the newest ``RELEASES_KEPT`` releases and the
        live one.
        """
        ...

    def live_number(self) -> int | None:
        """The live release's number (cheap: polled by every process), None before any."""
        ...

    def release(self, number: int) -> Release | None:
        """Release ``number`` with its files, None when there is none (or it was pruned)."""
        ...

    def releases(self, limit: int = RELEASES_KEPT) -> list[Release]:
        """The newest ``limit`` releases, newest first, without their files."""
        ...

    def close(self) -> None: ...


class AccountStore(Protocol):
    """The console's accounts, its record of changes, and its count of failed logins.

    Implemented beside each state store (same SQLite file or Redis prefix); both pass the same
    contract tests. Every method may raise StoreUnavailable. Nothing here is read on the way
    of a delivery.
    """

    def add_account(self, account: Account) -> bool:
        """Store a new account; False, changing nothing, when the name is taken."""
        ...

    def account(self, name: str) -> Account | None:
        """The account called ``name``, if any."""
        ...

    def accounts(self) -> list[Account]:
        """Every account, by name."""
        ...

    def remove_account(self, name: str) -> bool:
        """Remove the account; False when there was none."""
        ...

    def record_change(self, change: Change) -> None:
        """Keep ``change`` (the newest ``CHANGES_KEPT`` are kept)."""
        ...

    def changes(self, limit: int = 50) -> list[Change]:
        """The newest changes first."""
        ...

    def failed_login(self, key: str, *, now: datetime, window: timedelta) -> int:
        """Count one failed login under ``key`` (an address or an account name); return how
        many ``key`` had in the ``window`` before ``now``, this one included."""
        ...

    def failed_logins(self, key: str, *, now: datetime, window: timedelta) -> int:
        """How many failed logins ``key`` had in the ``window`` before ``now``."""
        ...

    def close(self) -> None: ...


class InstanceStore(Protocol):
    """The serving processes of the deployment, each as it last recorded itself
    (:class:`Instance`), so that a publisher can see when every one serves a release.

    Implemented beside each state store (same SQLite file or Redis prefix); both pass the
    same contract tests. Every method may raise StoreUnavailable. Written by each process
    every few seconds, off the way of a delivery; never read on it.
    """

    def heartbeat(self, instance: Instance, *, forget: timedelta) -> None:
        """Record ``instance`` (replacing its earlier record), in one cheap write; records
        not heard from for ``forget`` before ``instance.seen_at`` are dropped with it."""
        ...

    def instances(self, *, now: datetime, forget: timedelta) -> list[Instance]:
        """Every instance heard from in the ``forget`` before ``now``, the longest running
        first (then by name)."""
        ...

    def leave(self, name: str) -> None:
        """Remove the record of instance ``name`` (a process stopping cleanly); no error
        when there is none."""
        ...

    def close(self) -> None: ...
