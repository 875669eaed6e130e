"""What rule authors run before a rule goes live: check, try and chat, as plain functions.

The command line (:mod:`responder.cli`) only parses arguments and prints what these return.
Examples are decided as if a returning lead (not a first message, unless the rule asks for
``first_message: true``) wrote them on Wednesday 25 November 2026 at 11:00 in the settings'
timezone, or, for a rule with ``during``/``outside``, at the first moment of that week when its
own hours condition holds (closed days included): the same answer on every run, whatever the
clock says.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import re2

from responder.engine.context import build_context
from responder.engine.decide import Decision, decide
from responder.engine.gathering import GATHER_CAP, joined_text
from responder.engine.hours import show_moment
from responder.engine.lint import typo_collisions
from responder.engine.loader import check_rulebook
from responder.engine.problems import Problem
from responder.engine.rulebook import Rule, RuleBook, Settings
from responder.engine.template_lint import custom_fields
from responder.engine.templates import Template, render
from responder.errors import TemplateError
from responder.model import Lead, LeadState, Message

REFERENCE_WEEK = datetime(2026, 11, 23)  # a Monday
REFERENCE_MOMENT = REFERENCE_WEEK + timedelta(days=2, hours=11)
SAMPLE_NAME = "Alex Sample"
"""The sample customer of check, try, chat and send: a name that belongs to no one business."""
SAMPLE_LEADS = (
    Lead(id="sample-1", name=SAMPLE_NAME, email="alex@example.com", phone="+15550100"),
    Lead(id="sample-2"),  # no name, no email: templates must still read well
)


@dataclass
class CheckReport:
    problems: list[Problem] = field(default_factory=list)
    book: RuleBook | None = None
    renders: int = 0
    examples: int = 0
    failures: list[Problem] = field(default_factory=list)
    #: Each ``lead.custom_fields.NAME`` the replies use, and where: the platform decides
    #: which fields exist, so they are listed for the author to read, not checked.
    custom_fields: dict[str, list[str]] = field(default_factory=dict)

    @property
    def errors(self) -> list[Problem]:
        return [p for p in (*self.problems, *self.failures) if p.is_error]

    @property
    def warnings(self) -> list[Problem]:
        return [p for p in (*self.problems, *self.failures) if not p.is_error]

    @property
    def ok(self) -> bool:
        return not self.errors


def check(rules_dir: Path, templates_dir: Path) -> CheckReport:
    """Validate, warn about typo collisions, render every template for the sample leads, and
    run every example."""
    book, problems = check_rulebook(rules_dir, templates_dir)
    report = CheckReport(problems=problems, book=book)
    if book is None:
        return report
    # Advice for the author only: the service loading a book has no use for it.
    report.problems.extend(typo_collisions(book))
    report.custom_fields = custom_fields(book.templates, book.all_rules)
    _render_samples(book, report)
    _run_examples(book, report)
    return report


def format_check(report: CheckReport) -> str:
    lines: list[str] = []
    book = report.book
    if book is not None:
        files = ", ".join(book.files)
        lines.append(f"Rules:     {len(book.all_rules)} rules in {files}")
        renders = f"{report.renders} renders of every template and locale"
        lines.append(f"Templates: {renders}, with and without a lead name")
        lines.append(f"Examples:  {report.examples} examples and counterexamples tried")
    if report.custom_fields:
        used = ", ".join(f"{name} ({', '.join(at)})" for name, at in report.custom_fields.items())
        lines.append(f"Custom fields: {used}")
        lines.append("  (the platform decides which custom fields exist: check their spelling)")
    for problem in (*report.problems, *report.failures):
        lines.append(f"  {problem}")
    errors, warnings = len(report.errors), len(report.warnings)
    verdict = "OK" if report.ok else "FAILED"
    lines.append(f"{verdict}: {errors} error(s), {warnings} warning(s)")
    return "\n".join(lines)


def _render_samples(book: RuleBook, report: CheckReport) -> None:
    """Render every template file and inline text, with and without a lead name."""
    uses: dict[str, Rule] = {rule.reply: rule for rule in book.all_rules if rule.reply}
    templates: list[tuple[Template, Rule | None]] = [
        (book.templates.select(name, locale), uses.get(name))
        for name in book.templates.names()
        for locale in book.templates.locales(name)
    ]
    templates += [(text, rule) for rule in book.all_rules for text in rule.inline_texts]
    for template, rule in templates:
        for lead in SAMPLE_LEADS:
            report.renders += 1
            try:  # an empty reply is refused by render() too
                render(template, _sample_context(book, lead, rule))
            except TemplateError as exc:
                who = "a lead with a name" if lead.name else "a lead without a name"
                report.failures.append(_template_problem(template, rule, f"{exc} (for {who})"))


def _sample_context(book: RuleBook, lead: Lead, rule: Rule | None) -> dict[str, object]:
    tz = book.settings.timezone or ZoneInfo("UTC")
    groups = _sample_groups(rule.regex) if rule is not None and rule.regex else {}
    return build_context(
        lead=lead,
        message=Message(text="sample message", channel="whatsapp"),
        match=groups,
        rule=rule.name if rule else "sample",
        now=REFERENCE_MOMENT.replace(tzinfo=tz),
        vars=book.settings.vars,
    )


def _sample_groups(regex: str) -> dict[str, str]:
    return {name: "12345" for name in re2.compile(regex).groupindex}


def _template_problem(template: Template, rule: Rule | None, message: str) -> Problem:
    file, _, line = template.origin.rpartition(":")
    if not line.isdigit():
        file, line = template.origin, "0"
    return Problem(file, int(line), message, rule.name if rule else "")


def _run_examples(book: RuleBook, report: CheckReport) -> None:
    for rule in book.all_rules:
        cases = [(text, True) for text in rule.examples]
        cases += [(text, False) for text in rule.counterexamples]
        for text, should in cases:
            report.examples += 1
            decision = decide(*_example_situation(book, rule, text))
            decided = decision.rule.name if decision.rule else None
            if should and decided != rule.name:
                by = f"rule '{decided}' ({decision.why})" if decided else "no rule"
                failure = f'the example "{text}" was answered by {by}'
            elif not should and decided == rule.name:
                failure = f'the counterexample "{text}" was answered by this rule ({decision.why})'
            else:
                continue
            report.failures.append(Problem(rule.file, rule.line, failure, rule.name))


def _example_situation(
    book: RuleBook, rule: Rule, text: str
) -> tuple[Message, Lead, RuleBook, LeadState, datetime]:
    tz = book.settings.timezone or ZoneInfo("UTC")
    at = _example_moment(book, rule, tz)
    lead = replace(
        SAMPLE_LEADS[0],
        locale=sorted(rule.locales)[0] if rule.locales else "",
        tags=tuple(sorted(rule.tags)[:1]),
    )
    channel = sorted(rule.channels)[0] if rule.channels else "whatsapp"
    message = Message(text=text, channel=channel, received_at=at)
    state = LeadState() if rule.first_message else LeadState(first_seen=at - timedelta(days=30))
    return message, lead, book, state, at


def _example_moment(book: RuleBook, rule: Rule, tz: ZoneInfo) -> datetime:
    default = REFERENCE_MOMENT.replace(tzinfo=tz)
    if rule.hours is None:
        return default
    closed = book.settings.closed
    for moment in _week(tz):
        open_now = rule.hours.hours.contains(moment, tz) and closed.at(moment, tz) is None
        if open_now == rule.hours.inside:
            return moment
    return default


def _week(tz: ZoneInfo) -> Iterator[datetime]:
    start = REFERENCE_WEEK.replace(tzinfo=tz)
    for step in range(7 * 48):
        yield start + timedelta(minutes=30 * step)


def explain(decision: Decision, message: Message, settings: Settings | None = None) -> str:
    """What ``responder try`` prints: the decision and why, for a rule author.

    The moment of the message is shown in the business's zone (UTC when it names none), with
    the closure of ``settings: closed`` that holds then, if any.
    """
    zone = settings.timezone if settings else None
    lines = [
        f"message:       {message.text!r}",
        f"normalised:    {decision.normalized!r}",
    ]
    if message.received_at is not None:
        lines.append(f"at:            {show_moment(message.received_at, zone)}")
        closed = (
            settings.closed.at(message.received_at, zone or ZoneInfo("UTC")) if settings else None
        )
        if closed:
            lines.append(f"closed:        {closed} (every 'during' is off, every 'outside' on)")
    if decision.rule is not None:
        lines.append(f"decided by:    {decision.rule.name} ({decision.rule.where})")
    lines.append(f"because:       {decision.why}")
    if decision.language is not None:
        lines.append(f"language:      {decision.language.code}: {decision.language.why}")
    if decision.replies:
        lines.append("reply:")
        lines.extend(f"  {line}" for line in decision.reply.splitlines())
        if decision.attachment:
            lines.append(f"attachment:    {decision.attachment}")
    else:
        assert decision.outcome is not None
        lines.append(f"no reply:      {decision.outcome.value}")
    if decision.near_misses:
        lines.append("nearly matched:")
        lines.extend(f"  - {miss}" for miss in decision.near_misses)
    return "\n".join(lines)


def try_messages(
    book: RuleBook, texts: list[str], lead: Lead, state: LeadState, at: datetime, channel: str
) -> tuple[Decision, Message, str]:
    """What ``responder try`` decides on several messages written together at ``at``: the
    decision, the message decided on, and a note on how the service would gather them."""
    first = Message(text=texts[0], channel=channel, received_at=at)
    wait = book.gather_for(decide(first, lead, book, state, at).rule) if book.gathers else None
    if len(texts) == 1:
        note = ""
    elif not book.gathers:
        note = "settings: gather is off: the service answers each message alone"
    elif not wait:
        note = "the first message alone goes to a rule with  gather: 0s: answered at once, alone"
        texts = texts[:1]
    else:
        note = f"{len(texts)} messages gathered (gather: {_seconds(wait)}), decided together"
    message = replace(first, text=joined_text(texts))
    return decide(message, lead, book, state, at), message, note


def _seconds(duration: timedelta) -> str:
    return f"{duration.total_seconds():g}s"


@dataclass
class Conversation:
    """An in-memory conversation for ``responder chat``: remembers what the service would.

    The clock starts at ``now`` and moves only when the author says so (:meth:`wait`), so
    cooldowns and pauses can be watched expiring. With ``settings: gather`` the lines typed
    are gathered, as the service gathers a burst, and answered together once the clock has
    moved past the burst's quiet time (:meth:`wait`).
    """

    book: RuleBook
    lead: Lead
    now: datetime
    channel: str = "whatsapp"
    state: LeadState = field(default_factory=LeadState)
    #: The lines of the burst being gathered, with when it opened, last grew, and waits.
    gathered: list[str] = field(default_factory=list)
    opened: datetime | None = None
    last: datetime | None = None
    gather: timedelta = timedelta(0)

    def say(self, text: str) -> Decision | None:
        """The decision on ``text``, or None when it is gathered (see :meth:`wait`)."""
        if not self.gathered:
            message = Message(text=text, channel=self.channel, received_at=self.now)
            self.gather = self.book.gather_for(
                decide(message, self.lead, self.book, self.state, self.now).rule
            )
            if not self.gather:
                return self._answer([text], self.now, self.now, self.now)
            self.opened = self.now
        self.gathered.append(text)
        self.last = self.now
        return None

    def quiet_at(self) -> datetime | None:
        """When the burst gathered is answered (quiet for ``gather``, at most 3x after it
        opened, as in the service); None when nothing is gathered."""
        if not self.gathered or self.opened is None or self.last is None:
            return None
        return min(self.last + self.gather, self.opened + GATHER_CAP * self.gather)

    def wait(self, duration: timedelta) -> tuple[Decision, int] | None:
        """Move the clock; the decision on the burst (and how many lines it had) when the
        clock passed its quiet time."""
        self.now += duration
        quiet = self.quiet_at()
        if quiet is None or self.now < quiet or self.opened is None or self.last is None:
            return None
        texts, opened, last = self.gathered, self.opened, self.last
        self.gathered, self.opened, self.last = [], None, None
        return self._answer(texts, opened, last, quiet), len(texts)

    def _answer(self, texts: list[str], first: datetime, last: datetime, now: datetime) -> Decision:
        """Decide on ``texts`` written from ``first`` to ``last``, at ``now``."""
        message = Message(text=joined_text(texts), channel=self.channel, received_at=first)
        decision = decide(message, self.lead, self.book, self.state, now)
        first_seen = self.state.first_seen or first
        self.state = replace(self.state, first_seen=first_seen, last_inbound=last)
        if decision.replies and decision.rule is not None:
            rule = decision.rule
            replied = {**self.state.last_reply, rule.name: now}
            paused = now + rule.pause if rule.pause else self.state.paused_until
            self.state = replace(self.state, last_reply=replied, paused_until=paused)
        return decision
