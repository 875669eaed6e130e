"""The Try it page: what the rules folder as saved (the draft, not yet published) answers a
message, for a customer described on the page, as ``responder try`` and ``responder chat``
show it.

One message: the rule, why, the near misses and the reply (:func:`authoring.try_messages`).
A conversation: every step so far (a message, or a wait) travels in the page as a hidden
field and is replayed on :class:`authoring.Conversation` at each turn, so the server keeps
nothing between requests; it is bounded to ``STEPS_KEPT`` steps.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from flask import render_template, request
from flask.typing import ResponseReturnValue

from responder.console import blueprint, console, words
from responder.engine import authoring
from responder.engine.decide import Decision
from responder.engine.durations import parse_duration
from responder.engine.loader import check_rulebook
from responder.engine.rulebook import RuleBook
from responder.model import Lead, LeadState, utcnow

STEPS_KEPT = 40
TEXT_MAX = 1000
WAITS = (("10s", "10 seconds"), ("5m", "5 minutes"), ("1h", "1 hour"), ("1d", "1 day"))


@dataclass
class Customer:
    """The customer the page tries the rules for, as its fields describe them."""

    name: str = authoring.SAMPLE_NAME
    locale: str = "en"
    tags: str = ""
    channel: str = "whatsapp"
    at: str = ""  # "YYYY-MM-DDTHH:MM" in the business's zone; "" for now
    first: bool = False

    @classmethod
    def from_form(cls, form: Any) -> Customer:
        if not form:
            return cls()
        return cls(
            name=form.get("name", "").strip()[:100],
            locale=form.get("locale", "").strip()[:20],
            tags=form.get("tags", "").strip()[:200],
            channel=form.get("channel", "").strip()[:40] or "whatsapp",
            at=form.get("at", "").strip()[:20],
            first=form.get("first") == "1",
        )

    def lead(self) -> Lead:
        tags = tuple(t.strip() for t in self.tags.split(",") if t.strip())
        return Lead(id="console", name=self.name, locale=self.locale, tags=tags)

    def moment(self, book: RuleBook) -> tuple[datetime, str]:
        """When the customer writes, and a sentence when the time given cannot be read."""
        if not self.at:
            return utcnow(), ""
        try:
            parsed = datetime.fromisoformat(self.at)
        except ValueError:
            return utcnow(), f"“{self.at}” is not a time like 2026-12-03 14:00; using now."
        zone = book.settings.timezone
        return (parsed if parsed.tzinfo else parsed.replace(tzinfo=zone)), ""


@dataclass
class Turn:
    """One line of the conversation as shown: what the customer wrote or waited, and the
    bot's answer (or why none)."""

    said: str = ""
    waited: str = ""
    at: str = ""
    reply: str = ""
    rule: str = ""
    why: str = ""
    gathered: str = ""


@dataclass
class Chat:
    steps: list[list[str]] = field(default_factory=list)
    turns: list[Turn] = field(default_factory=list)
    problem: str = ""


def _draft() -> tuple[RuleBook | None, str]:
    state = console()
    book, problems = check_rulebook(state.config.rules_dir, state.config.templates_dir)
    if book is not None:
        return book, ""
    errors = [p for p in problems if p.is_error] or problems
    first = errors[0] if errors else None
    where = f" ({first.file}:{first.line})" if first and first.line else ""
    return None, (
        "The saved rules have a problem, so they cannot be tried until it is fixed"
        f"{where}: {first.message if first else 'unknown'}. Publish lists every problem."
    )


def _answer(turn: Turn, decision: Decision) -> Turn:
    if decision.replies:
        turn.reply = decision.reply
    turn.rule = decision.rule.name if decision.rule else ""
    turn.why = words.sentence(decision.why)
    return turn


def _steps(raw: str) -> list[list[str]]:
    try:
        steps = json.loads(raw) if raw else []
    except ValueError:
        return []
    if not isinstance(steps, list):
        return []
    kept = [
        [str(s[0]), str(s[1])[:TEXT_MAX]]
        for s in steps
        if isinstance(s, list) and len(s) == 2 and s[0] in ("say", "wait")
    ]
    return kept[-STEPS_KEPT:]


def _replay(book: RuleBook, customer: Customer, steps: list[list[str]]) -> Chat:
    at, _ = customer.moment(book)
    conversation = authoring.Conversation(book, customer.lead(), at, customer.channel)
    if not customer.first:
        conversation.state = LeadState(first_seen=at - timedelta(days=365))
    zone = book.settings.timezone
    chat = Chat(steps=steps)
    for kind, value in steps:
        when = words.short_moment(conversation.now, zone)
        if kind == "say":
            decided = conversation.say(value)
            turn = Turn(said=value, at=when)
            if decided is None:
                turn.gathered = (
                    f"Gathered with the messages before: the bot answers when the customer "
                    f"has been quiet for {conversation.gather.total_seconds():g} seconds."
                )
                chat.turns.append(turn)
            else:
                chat.turns.append(_answer(turn, decided))
            continue
        try:
            answered = conversation.wait(parse_duration(value))
        except (ValueError, OverflowError):
            chat.problem = f"“{value}” is not a wait like 30m or 2h."
            continue
        turn = Turn(waited=value, at=words.short_moment(conversation.now, zone))
        if answered is not None:
            turn.gathered = f"The bot answers the {answered[1]} messages gathered, together."
            _answer(turn, answered[0])
        chat.turns.append(turn)
    return chat


@blueprint.route("/try", methods=["GET", "POST"])
def try_it() -> ResponseReturnValue:
    """GET shows the empty page; a POST only tries, it changes nothing (a CSRF token is
    still asked, as for every POST)."""
    customer = Customer.from_form(request.form)
    book, problem = _draft()
    mode = request.form.get("mode", "one")
    values: dict[str, Any] = {
        "customer": customer,
        "problem": problem,
        "mode": mode,
        "waits": WAITS,
        "zone": console().zone.key,
        "result": None,
        "chat": None,
        "message": "",
    }
    if book is None or request.method == "GET":
        return render_template("try.html", **values)
    at, time_problem = customer.moment(book)
    values["time_problem"] = time_problem
    text = request.form.get("message", "").strip()[:TEXT_MAX]
    if mode == "chat":
        steps = _steps(request.form.get("steps", ""))
        action = request.form.get("action", "send")
        if action == "reset":
            steps = []
        elif action == "wait":
            steps.append(["wait", request.form.get("wait", "5m")])
        elif text:
            steps.append(["say", text])
        values["chat"] = _replay(book, customer, steps[-STEPS_KEPT:])
        values["steps_json"] = json.dumps(values["chat"].steps)
        return render_template("try.html", **values)
    values["message"] = text
    if text:
        state = LeadState() if customer.first else LeadState(first_seen=at - timedelta(days=365))
        decision, _, _ = authoring.try_messages(
            book, [text], customer.lead(), state, at, customer.channel
        )
        values["result"] = decision
        values["when"] = words.moment(at, book.settings.timezone)
        values["why"] = words.sentence(decision.why)
    return render_template("try.html", **values)
