"""The pipeline: from one signed delivery to one recorded outcome.

::

    webhook side, inside the request (fast, never waits on the ABC API; responder.intake):
        verify  ->  parse  ->  claim (store.accept: dedupe + persist + the lead's inbound
                                      time, one step)  ->  dispatch
    sender side, on a pool thread (or after a crash, on whichever process reclaims the job):
        [hydrate]  ->  decide  ->  send  ->  record (store.finish: exactly one outcome)

:class:`Responder` is the one entry point for both: the Flask adapter calls
:meth:`Responder.receive`, which hands the delivery to its :class:`~responder.intake.Intake`,
and the sender pool calls :meth:`Responder.handle`. It talks to the platform through
:class:`PlatformApi` (implemented over HTTP by ``responder.platform.client``) and keeps no
state of its own except a short-lived cache of channel connections.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime
from functools import partial

from responder import gather as bursts
from responder import leases
from responder.config import Config
from responder.connections import ConnectionCache
from responder.engine.decide import decide
from responder.engine.normalize import normalize
from responder.engine.rulebook import RuleBook
from responder.errors import (
    OutcomeUnknown,
    PlatformRejected,
    PlatformUnavailable,
    ResponderError,
    RetryableError,
    StoreUnavailable,
    WindowClosed,
)
from responder.events import NO_EVENTS, Events, log_fields
from responder.first_contact import settle_first_contact
from responder.inbound import noted_at_accept
from responder.intake import Answer, Intake
from responder.model import (
    TEXT_KEPT,
    DecisionRecord,
    Direction,
    Job,
    Message,
    Outcome,
    Sending,
    utcnow,
)
from responder.platform.messages import hydrate, needs_hydration, not_after, reply_present
from responder.ports import PlatformApi, Store
from responder.quiet import blocked_reason, held_reason, step_back
from responder.window import closed_reason, window_closes

log = logging.getLogger("responder.pipeline")


@dataclass
class Responder:
    """``book`` is the rule book served, ``release`` its release number (None: not from a
    release); :meth:`serve` swaps both at once while jobs are in flight."""

    config: Config
    book: RuleBook
    store: Store
    api: PlatformApi
    owner: str
    dispatch: Callable[[Job], None]
    clock: Callable[[], datetime] = utcnow
    monotonic: Callable[[], float] = time.monotonic
    release: int | None = None
    #: Hands a job waiting for its burst to go quiet back to ``handle`` at the time given
    #: (None: its lease brings it back).
    later: Callable[[Job, datetime], None] | None = None
    events: Events = NO_EVENTS
    _channels: ConnectionCache = field(init=False, repr=False)
    _live: tuple[RuleBook, int | None] = field(init=False, repr=False)
    _intake: Intake = field(init=False, repr=False)

    def __post_init__(self) -> None:
        ttl = self.config.connections_ttl.total_seconds()
        self._channels = ConnectionCache(ttl, self.monotonic)
        self._live = (self.book, self.release)
        self._intake = Intake(
            self.config,
            self.store,
            self.owner,
            self.dispatch,
            self.clock,
            live=lambda: self._live,
            record=self._record,
        )

    def serve(self, book: RuleBook, release: int | None) -> None:
        """Decide with ``book`` from now on. One assignment: a job reads the pair once, so it
        finishes on the book it started with, and its outcome names that release."""
        self._live = (book, release)
        self.book, self.release = book, release

    def receive(self, body: bytes, headers: Mapping[str, str]) -> Answer:
        """The webhook side (:class:`responder.intake.Intake`): verify, parse and claim one
        delivery, and dispatch a new inbound message to :meth:`handle`."""
        return self._intake.receive(body, headers)

    # -- sender side -----------------------------------------------------------------------

    def handle(self, job: Job) -> DecisionRecord | None:
        """Decide, send and record one job. Returns the recorded outcome, or None.

        None means this attempt ended without an outcome and the job stays in the store, to be
        taken over once its lease runs out: when this copy has been superseded by a takeover
        (it then does nothing at all), when the store is unreachable, and when nothing is
        definite yet (the ABC API unavailable, or a reply's answer lost and the reply not in
        the conversation) while attempts remain (``Config.max_attempts``). Everything else
        ends in one recorded outcome, ``failed`` at worst.
        """
        try:
            held_until = leases.hold(
                self.store, self.config, job, owner=self.owner, now=self.clock()
            )
            if held_until is None:
                log.info("job %s: taken over by another attempt; this copy stops", job.key)
                return None
            now, mono = self.clock(), self.monotonic()
            deadline = leases.deadline(self.config, held_until, now=now, monotonic=mono)
            book, release = self._live
            try:
                record = self._process(job, deadline, book, release)
            except StoreUnavailable:
                raise
            except bursts.Deferred as wait:
                log.info("job %s: %s", job.key, wait)
                if wait.until is not None and self.later is not None:
                    self.later(replace(job, gathering=True), wait.until)
                return None
            except RetryableError as exc:
                if leases.attempts_left(self.config, job):
                    log.warning("job %s: %s; tried again after its lease", job.key, exc)
                    return None
                record = self._record(job, Outcome.FAILED, leases.gave_up(job, exc))
            except ResponderError as exc:
                record = self._record(job, Outcome.FAILED, str(exc))
            except Exception as exc:  # a bug: log it, and do not retry a poison job forever
                log.exception("job %s: unexpected error", job.key)
                if leases.attempts_left(self.config, job):
                    return None
                record = self._record(job, Outcome.FAILED, leases.gave_up(job, exc))
            # A reservation made by an earlier attempt was decided with its own release.
            decided_with = job.sending.release if job.sending is not None else release
            record = replace(record, release=decided_with)
            pause_until = self._pause_after(record, book)
            if not bursts.finish(self.store, job, record, book, pause_until=pause_until):
                log.info("job %s already had an outcome; this attempt's is dropped", job.key)
                return self.store.decision(job.key)
        except StoreUnavailable as exc:
            log.warning("job %s left for a later attempt: %s", job.key, exc)
            self.events.store_error("job")
            return None
        # Every outcome is in the decision log already: one line per delivery only on request.
        if log.isEnabledFor(logging.DEBUG):
            fields = log_fields(job, record.outcome.value, record.rule, record.release)
            log.debug(
                "lead=%s key=%s outcome=%s rule=%s reason=%s", *_summary(record), extra=fields
            )
        self.events.decided(record, job.accepted_at)
        return record

    def _process(
        self, job: Job, deadline: float, book: RuleBook, release: int | None
    ) -> DecisionRecord:
        if job.sending is not None:
            return self._resume(job, job.sending, deadline, book)
        noted = noted_at_accept(job)
        message = job.message
        if needs_hydration(message):
            message = self._hydrate(job, deadline)
            job = replace(job, message=message)  # the log keeps the text as hydrated
        if message.direction is Direction.OUTBOUND:
            return self._outbound(job, message)

        now = self.clock()
        message = not_after(message, now)
        lead = job.lead
        if message.received_at is not None and not noted:
            state = self.store.note_inbound(lead.id, message.received_at)
        else:  # its time is in the lead's state already (or it has none)
            state = self.store.lead_state(lead.id)
        if bursts.applies(job, book):
            complete = partial(self._hydrate, deadline=deadline)
            found = bursts.gather(job, message, state, book, self.store, self.config, now, complete)
            message, state = found
        decision = decide(message, lead, book, state, now)
        zone = book.settings.timezone
        held = state.held_by(now)
        if held is not None:  # before asking the platform whether it is a first contact
            rule_name = decision.rule.name if decision.rule else ""
            reason = held_reason(held, zone, decision)
            record = self._record(job, Outcome.PAUSED, reason, rule_name)
            return replace(record, unmatched=decision.rule is None or decision.rule.fallback)
        decision = settle_first_contact(
            decision,
            api=self.api,
            store=self.store,
            message=message,
            lead=lead,
            book=book,
            state=state,
            now=now,
            deadline=(self.monotonic() + deadline) / 2,  # half the time left: the reply's
        )
        rule_name = decision.rule.name if decision.rule else ""
        language = decision.language.code if decision.language is not None else ""
        if decision.outcome is not None or decision.rule is None:
            outcome = decision.outcome or Outcome.NO_MATCH
            return self._record(job, outcome, decision.why, rule_name, language=language)
        rule = decision.rule

        closes = window_closes(message, state, self.config)
        if closes is not None and now >= closes:
            reason = closed_reason(closes)
            return self._record(job, Outcome.WINDOW_CLOSED, reason, rule.name, language=language)
        connection_id = self._channels.reply_connection(self.api, message, deadline)
        if connection_id is None:
            reason = "no connected channel to reply on"
            return self._record(
                job, Outcome.CHANNEL_UNAVAILABLE, reason, rule.name, language=language
            )
        sending = Sending(
            rule.name, decision.reply, connection_id, now, release, decision.attachment, language
        )
        blocked = self.store.reserve_reply(
            job.key,
            lead.id,
            sending,
            cooldown=rule.cooldown,
            budget=self.config.reply_budget,
            budget_period=self.config.budget_period,
        )
        if blocked is not None:
            reason = blocked_reason(self.store, lead.id, blocked, decision, now=now, zone=zone)
            return self._record(job, blocked, reason, rule.name, language=language)
        return self._deliver(job, sending, decision.why, closes, deadline, book)

    def _resume(
        self, job: Job, sending: Sending, deadline: float, book: RuleBook
    ) -> DecisionRecord:
        """Finish a job taken over after its reply was reserved: a dead process may have sent
        it. Never decided again; sent only if the conversation does not have it yet."""
        try:
            delivered = not self.config.dry_run and self._delivered(job, sending.reply, deadline)
        except RetryableError as exc:
            raise OutcomeUnknown(f"the conversation could not be checked: {exc}") from exc
        if delivered:
            return self._sent(job, sending, "delivered by an earlier attempt", book)
        state = self.store.lead_state(job.lead.id)
        held = state.held_by(self.clock())
        if held is not None:
            self.store.release_reply(job.key, job.lead.id, sending.rule)
            reason = held_reason(held, book.settings.timezone)
            return self._record(
                job, Outcome.PAUSED, reason, sending.rule, language=sending.language
            )
        closes = window_closes(job.message, state, self.config)
        if closes is not None and self.clock() >= closes:
            self.store.release_reply(job.key, job.lead.id, sending.rule)
            reason = closed_reason(closes)
            return self._record(
                job, Outcome.WINDOW_CLOSED, reason, sending.rule, language=sending.language
            )
        return self._deliver(job, sending, "taken over", closes, deadline, book)

    def _deliver(
        self,
        job: Job,
        sending: Sending,
        why: str,
        window_closes: datetime | None,
        deadline: float,
        book: RuleBook,
    ) -> DecisionRecord:
        """Send the reserved reply, then settle the reservation by what happened.

        Raises RetryableError, keeping the reservation, when nothing is definite and a later
        attempt may still finish the job.
        """
        rule, reply, language = sending.rule, sending.reply, sending.language
        if self.config.dry_run:
            return self._record(job, Outcome.DRY_RUN, why, rule, reply, language=language)
        if window_closes is not None:
            until_closed = (window_closes - self.clock()).total_seconds()
            deadline = min(deadline, self.monotonic() + until_closed)
        try:
            outcome, reason = self._send(job, sending, deadline)
        except RetryableError as exc:
            if leases.attempts_left(self.config, job):
                raise
            if isinstance(exc, OutcomeUnknown):  # maybe sent: keep the reservation
                reason = leases.gave_up(job, exc)
                return self._record(job, Outcome.FAILED, reason, rule, language=language)
            outcome, reason = Outcome.FAILED, leases.gave_up(job, exc)
            if window_closes is not None and self.clock() >= window_closes:
                outcome = Outcome.WINDOW_CLOSED
        if outcome is Outcome.SENT:
            return self._sent(job, sending, f"{why}; {reason}" if reason else why, book)
        self.store.release_reply(job.key, job.lead.id, rule)
        return self._record(job, outcome, reason, rule, language=language)

    def _sent(self, job: Job, sending: Sending, reason: str, book: RuleBook) -> DecisionRecord:
        """The reply is with the lead: its record (its rule's pause comes with it, see
        :meth:`_pause_after`)."""
        return self._record(
            job, Outcome.SENT, reason, sending.rule, sending.reply, language=sending.language
        )

    def _pause_after(self, record: DecisionRecord, book: RuleBook) -> datetime | None:
        """Until when a sent reply's rule pauses the lead (None: it does not), written in the
        step that records the outcome rather than a step of its own."""
        rule = book.rule(record.rule) if record.outcome is Outcome.SENT else None
        return self.clock() + rule.pause if rule is not None and rule.pause else None

    def _send(self, job: Job, sending: Sending, deadline: float) -> tuple[Outcome, str]:
        """Send the reply once. Returns SENT, or a refusal that is final (WINDOW_CLOSED, FAILED).

        Raises RetryableError when nothing is definite: the API stayed unavailable until the
        deadline (the client retries within it), or the answer was lost and the reply is not
        in the conversation. The platform may still be working on such a request, so it is
        not resent here but checked again by a later attempt, after the lease.
        """
        try:
            self.api.reply(
                job.lead.id,
                sending.reply,
                sending.connection_id,
                attachment=sending.attachment,
                deadline=deadline,
            )
            return Outcome.SENT, ""
        except OutcomeUnknown as exc:
            try:
                if self._delivered(job, sending.reply, deadline):
                    return Outcome.SENT, "delivered, though its answer was lost"
            except RetryableError as check:
                raise OutcomeUnknown(f"{exc}; the conversation could not be read: {check}") from exc
            raise OutcomeUnknown(f"{exc}; not in the conversation yet") from exc
        except WindowClosed as exc:
            return Outcome.WINDOW_CLOSED, f"the platform refused: {exc}"
        except PlatformRejected as exc:
            self._channels.forget()
            return Outcome.FAILED, f"the platform refused: {exc}"

    def _delivered(self, job: Job, reply: str, deadline: float) -> bool:
        messages = self.api.conversation(job.lead.id, deadline=deadline)
        return reply_present(messages, reply, since=job.accepted_at)

    def _hydrate(self, job: Job, deadline: float) -> Message:
        """The delivered message completed from the conversation; retried later if missing."""
        found = hydrate(job.message, self.api.conversation(job.lead.id, deadline=deadline))
        if found is None:
            raise PlatformUnavailable("the conversation does not show the message yet")
        return found

    def _outbound(self, job: Job, message: Message) -> DecisionRecord:
        """Never answered; a person of the company writing means the bot steps back."""
        zone = self.book.settings.timezone
        outcome, reason = step_back(
            self.store, self.config, job.lead.id, message, now=self.clock(), zone=zone
        )
        return self._record(job, outcome, reason)

    def _record(
        self,
        job: Job,
        outcome: Outcome,
        reason: str,
        rule: str = "",
        reply: str = "",
        *,
        language: str = "",
    ) -> DecisionRecord:
        return DecisionRecord(
            key=job.key,
            lead_id=job.lead.id,
            outcome=outcome,
            at=self.clock(),
            rule=rule,
            reason=reason,
            reply=reply if outcome in (Outcome.SENT, Outcome.DRY_RUN) else "",
            message_id=job.message.id,
            text=job.message.text[:TEXT_KEPT],
            normalized=normalize(job.message.text)[:TEXT_KEPT],
            unmatched=outcome is Outcome.NO_MATCH or rule in self._live[0].fallback_names,
            language=language,
        )


def _summary(record: DecisionRecord) -> tuple[str, str, str, str, str]:
    rule = record.rule or "-"
    return record.lead_id, record.key, record.outcome.value, rule, record.reason
