"""Validating one rule after another, every problem reported with its file, line and rule.

:class:`RuleValidator` turns each rule block of a rule file into a :class:`Rule`, or reports
what is wrong with it in a sentence for the person who wrote it; it keeps every problem so
that they are all shown at once. :mod:`responder.engine.loader` builds on it to read the
files and settings.
"""

from __future__ import annotations

import difflib
from datetime import timedelta
from typing import Any

from responder.engine.answer_checks import AnswerChecks
from responder.engine.durations import parse_duration
from responder.engine.hours import parse_hours
from responder.engine.matching import Keyword, check_regex, parse_keyword
from responder.engine.rulebook import HoursCondition, Role, Rule, Settings
from responder.engine.templates import TemplateLibrary
from responder.engine.yamlfile import Located

# The longest ``gather``: a burst is answered at most three times this long after it opened.
MAX_GATHER = timedelta(seconds=30)

# Every key a rule may have, in the order the rules guide (docs/rules.md) writes them.
RULE_KEYS = (
    "name",
    "description",
    "enabled",
    "keywords",
    "all",
    "exclude",
    "regex",
    "word_forms",
    "typos",
    "channels",
    "tags",
    "locales",
    "during",
    "outside",
    "first_message",
    "fallback",
    "short_ok",
    "reply",
    "text",
    "attachment",
    "cooldown",
    "pause",
    "gather",
    "examples",
    "counterexamples",
)
# Keys that make a rule fire on something; a rule with none of them answers everything.
CONDITION_KEYS = (
    "keywords",
    "all",
    "regex",
    "channels",
    "tags",
    "locales",
    "during",
    "outside",
    "first_message",
)


def parse_gather(value: object) -> timedelta:
    """``gather``: a duration of at most :data:`MAX_GATHER` (``0s`` answers at once)."""
    gather = parse_duration(value)
    if gather > MAX_GATHER:
        raise ValueError(
            f"'gather' waits at most {MAX_GATHER.seconds} seconds for more messages "
            f"(a lead waiting longer thinks nobody is there); write for example  gather: 4s"
        )
    return gather


class RuleValidator(AnswerChecks):
    """Collects problems while validating rule blocks; ``file`` is where they are reported."""

    def __init__(self, templates: TemplateLibrary) -> None:
        """``templates`` are what replies may name; their own problems come first."""
        super().__init__(templates)
        # Named hours whose value is wrong (reported at the settings): a rule using one of
        # them is dropped without a second message saying the hours do not exist.
        self.broken_hours: set[str] = set()
        self.hours_unreadable = False  # the settings' hours are not a list of named hours
        self._dropped = 0

    # -- rules -----------------------------------------------------------------------------

    def validate_rule(self, block: Located, order: int, settings: Settings) -> Rule | None:
        """Validate the rule at position ``order``; None when it has an error or no answer.

        An unusable name is reported but does not drop the rule: it goes on under a stand-in,
        so that the loader still finds a repeated name.
        """
        name = self._rule_name(block, order)
        errors_before, dropped_before = self._error_count(), self._dropped
        misspelt = self.unknown_keys(block, RULE_KEYS, "rule", name)
        short_ok = self._short_ok(block, name)
        keywords = self._keywords(block, Role.ANY, name, short_ok)
        all_words = self._keywords(block, Role.ALL, name, short_ok)
        exclude = self._keywords(block, Role.EXCLUDE, name)
        regex = self._regex(block, name)
        hours = self._hours_condition(block, settings, name)
        first_message = self._flag(block, "first_message", name)
        fallback = self._flag(block, "fallback", name) or False
        self._flag(block, "enabled", name)
        word_forms = self._flag(block, "word_forms", name)
        typos = self._flag(block, "typos", name)
        cooldown = self._duration(block, "cooldown", name)
        pause = self._duration(block, "pause", name)
        gather = self._gather(block, name)
        self._check_conditions(block, name, fallback=fallback, misspelt=misspelt)
        reply, text, texts = self._answer(block, name, settings.languages)
        attachment = self._attachment(block, name)
        if self._error_count() > errors_before or self._dropped > dropped_before:
            return None
        if not (reply or text):
            return None
        return Rule(
            name=name,
            order=order,
            file=self.file,
            line=block.line,
            reply=reply,
            text=text,
            texts=texts,
            description=str(block.get("description") or ""),
            keywords=keywords,
            all=all_words,
            exclude=exclude,
            regex=regex,
            channels=frozenset(c.lower() for c in self._strings(block, "channels", name)),
            tags=frozenset(self._strings(block, "tags", name)),
            locales=frozenset(_locale(x) for x in self._strings(block, "locales", name)),
            hours=hours,
            first_message=first_message,
            fallback=fallback,
            cooldown=settings.cooldown if cooldown is None else cooldown,
            pause=pause,
            gather=gather,
            examples=tuple(self._strings(block, "examples", name)),
            counterexamples=tuple(self._strings(block, "counterexamples", name)),
            attachment=attachment or {},
            word_forms=settings.word_forms if word_forms is None else word_forms,
            typos=settings.typos if typos is None else typos,
        )

    def _error_count(self) -> int:
        return sum(p.is_error for p in self.problems)

    def _rule_name(self, block: Located, order: int) -> str:
        """The rule's name; a stand-in (``#3``) when it has none, which is reported."""
        name = block.get("name")
        if isinstance(name, bool | int | float):
            self.error(block.line_of("name"), f"write the name in quotes ({_UNQUOTED})")
            name = str(name)
        elif not isinstance(name, str) or not name.strip():
            self.error(block.line, "this rule has no name: add  name: something-short")
            name = f"#{order + 1}"
        return name.strip()

    def _keywords(
        self, block: Located, role: Role, rule: str, short_ok: frozenset[str] = frozenset()
    ) -> tuple[Keyword, ...]:
        """The keywords listed under ``role``'s key; an unusable one is reported and left out.

        A very short keyword is warned about unless ``short_ok`` lists it.
        """
        key = role.value
        line = block.line_of(key)
        keywords = []
        for raw in self._strings(block, key, rule):
            kw = self.convert(parse_keyword, raw, line, rule)
            if kw is None:
                continue
            # A short word under exclude can only hold an answer back, never send a wrong one.
            if role is not Role.EXCLUDE and _too_short(kw) and kw.normalized not in short_ok:
                self.warn(
                    line,
                    f"the keyword '{raw}' is very short and may match more than you expect; "
                    f"if you mean it, add  short_ok: [{raw}]  to this rule",
                    rule,
                )
            keywords.append(kw)
        return tuple(keywords)

    def _short_ok(self, block: Located, rule: str) -> frozenset[str]:
        """The short keywords the author confirmed (``short_ok``), as they are matched."""
        if "short_ok" not in block:
            return frozenset()
        confirmed = self._strings(block, "short_ok", rule)
        listed = [block.get("keywords"), block.get("all")]
        words = {
            kw.normalized
            for value in listed
            for raw in (value if isinstance(value, list) else [value])
            if isinstance(raw, str) and (kw := _parsed(raw)) is not None
        }
        accepted = set()
        for raw in confirmed:
            kw = _parsed(raw)
            if kw is None or kw.normalized not in words:
                self.error(
                    block.line_of("short_ok"),
                    f"'{raw}' in short_ok is not one of this rule's keywords; short_ok lists "
                    "the short keywords (of keywords or all) you mean to use",
                    rule,
                )
                continue
            accepted.add(kw.normalized)
        return frozenset(accepted)

    def _regex(self, block: Located, rule: str) -> str | None:
        """The rule's pattern, or None when it has none or an unusable one (reported)."""
        regex = block.get("regex")
        if regex is None:
            return None
        if not isinstance(regex, str) or not regex:
            self.error(block.line_of("regex"), "'regex' must be a pattern in quotes", rule)
            return None
        if (why := check_regex(regex)) is not None:
            self.error(block.line_of("regex"), why, rule)
            return None
        return regex

    def _gather(self, block: Located, rule: str) -> timedelta | None:
        if "gather" not in block:
            return None
        found: timedelta | None = self.convert(
            parse_gather, block["gather"], block.line_of("gather"), rule
        )
        return found

    def _duration(self, block: Located, key: str, rule: str) -> timedelta | None:
        """The duration under ``key``; None when absent or not a duration (reported)."""
        if key not in block:
            return None
        line = block.line_of(key)
        duration: timedelta | None = self.convert(parse_duration, block[key], line, rule)
        return duration

    def _check_conditions(
        self, block: Located, rule: str, *, fallback: bool, misspelt: int
    ) -> None:
        """Report a rule that answers every message, and an ``exclude`` with nothing to narrow."""
        has_condition = any(key in block for key in CONDITION_KEYS)
        # A misspelt key is usually the missing condition: one message about it is enough.
        if not fallback and not misspelt and not has_condition:
            self.error(
                block.line,
                "this rule has no condition, so it would answer every message: add keywords "
                "(or another condition), or mark it  fallback: true",
                rule,
            )
        if "exclude" in block and not has_condition:
            self.error(block.line_of("exclude"), "'exclude' only narrows other conditions", rule)

    def _strings(self, block: Located, key: str, rule: str) -> list[str]:
        """A list of texts; a single text is accepted as a list of one."""
        value = block.get(key)
        if value is None:
            return []
        if isinstance(value, str | int | float) and not isinstance(value, bool):
            return [str(value)]
        if isinstance(value, list) and all(
            isinstance(v, str | int | float) and not isinstance(v, bool) for v in value
        ):
            return [str(v) for v in value]
        if isinstance(value, bool) or (
            isinstance(value, list) and any(isinstance(v, bool) for v in value)
        ):
            self.error(
                block.line_of(key),
                f"put yes, no, on, off, true and false in quotes in '{key}' ({_UNQUOTED})",
                rule,
            )
            return []
        self.error(block.line_of(key), f"'{key}' must be a list of texts, like  [one, two]", rule)
        return []

    def _flag(self, block: Located, key: str, rule: str) -> bool | None:
        """True or false under ``key``; None when absent or not a yes/no (reported)."""
        value = block.get(key)
        if value is None or isinstance(value, bool):
            return value
        self.error(block.line_of(key), not_a_flag(key, value), rule)
        return None

    def _hours_condition(
        self, block: Located, settings: Settings, rule: str
    ) -> HoursCondition | None:
        """The ``during`` or ``outside`` condition: named hours, or hours written inline."""
        if "during" in block and "outside" in block:
            self.error(block.line_of("outside"), "use either 'during' or 'outside', not both", rule)
            return None
        for key, inside in (("during", True), ("outside", False)):
            if key not in block:
                continue
            spec = block[key]
            line = block.line_of(key)
            if not isinstance(spec, str) or not spec.strip():
                self.error(
                    line,
                    f"'{key}' needs a name from settings.hours or hours like "
                    '"mon-fri 09:00-18:00"',
                    rule,
                )
                return None
            spec = spec.strip()
            named = not any(ch.isdigit() for ch in spec)
            if spec in self.broken_hours or (named and self.hours_unreadable):
                self._dropped += 1
                return None
            if spec in settings.hours:
                return HoursCondition(settings.hours[spec], inside, spec)
            if not any(ch.isdigit() for ch in spec):
                known = ", ".join(settings.hours) or "none are defined"
                hint = difflib.get_close_matches(spec, list(settings.hours), n=1)
                maybe = f"did you mean '{hint[0]}'? " if hint else ""
                self.error(
                    line,
                    f"there are no hours called '{spec}' in settings.hours; {maybe}"
                    f"(named hours: {known})",
                    rule,
                )
                return None
            parsed = self.convert(parse_hours, spec, line, rule)
            return HoursCondition(parsed, inside, spec) if parsed is not None else None
        return None


_UNQUOTED = "without quotes, YAML reads yes, no, on and off as true or false"


def not_a_flag(key: str, value: Any) -> str:
    """The sentence for a yes/no setting given something else."""
    shown = repr(str(value))
    return f"'{key}' must be true or false, not {shown}; write  {key}: true  or  {key}: false"


def _parsed(raw: str) -> Keyword | None:
    try:
        return parse_keyword(raw.strip())
    except ValueError:
        return None


def _too_short(kw: Keyword) -> bool:
    return not kw.spaceless and len(kw.normalized) <= 2 and kw.normalized.isalnum()


def _locale(value: str) -> str:
    return value.replace("_", "-").lower()
