"""The rule book as :func:`responder.engine.decide.decide` sees it: rules, settings, indexes.

:func:`compile_rulebook` turns validated rules into a :class:`RuleBook`: every keyword of every
rule in one index and every regex in one RE2 set, so that matching costs the same with ten rules
or ten thousand. Reading and validating the rule files is :mod:`responder.engine.loader`'s job;
the format itself is documented for rule authors in ``docs/rules.md``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from enum import Enum
from functools import cached_property
from typing import Any
from zoneinfo import ZoneInfo

from responder.engine.closures import ClosedTimes
from responder.engine.forgiving import ForgivingIndex
from responder.engine.hours import BusinessHours
from responder.engine.language import LanguageDetector, ReplyLanguage, choose_language
from responder.engine.language_detection import detector_for
from responder.engine.locales import fallbacks, locale_key
from responder.engine.matching import Keyword, KeywordIndex, RegexSet
from responder.engine.problems import Problem
from responder.engine.templates import Template, TemplateLibrary

DEFAULT_COOLDOWN = timedelta(hours=6)


class Role(Enum):
    """What a keyword does in its rule; the value is the rule key it is written under."""

    ANY = "keywords"
    ALL = "all"
    EXCLUDE = "exclude"


@dataclass(frozen=True, slots=True)
class HoursCondition:
    """A rule's ``during`` or ``outside`` condition."""

    hours: BusinessHours
    inside: bool  # True for ``during``, False for ``outside``
    label: str  # the name in settings.hours, or the inline spec


@dataclass(frozen=True, slots=True)
class Rule:
    """One validated rule. ``order`` is its position across all files (file name, then place)."""

    name: str
    order: int
    file: str
    line: int
    reply: str = ""  # template name (a file per language), or
    text: Template | None = None  # an inline text (in the default language when per language)
    #: ``text:`` written per language: (lower-case language code, its text) in the order
    #: written (the default language's is also ``text``); empty for a single text.
    texts: tuple[tuple[str, Template], ...] = ()
    description: str = ""
    keywords: tuple[Keyword, ...] = ()
    all: tuple[Keyword, ...] = ()
    exclude: tuple[Keyword, ...] = ()
    regex: str | None = None
    channels: frozenset[str] = frozenset()
    tags: frozenset[str] = frozenset()
    locales: frozenset[str] = frozenset()
    hours: HoursCondition | None = None
    first_message: bool | None = None
    fallback: bool = False
    cooldown: timedelta = DEFAULT_COOLDOWN
    pause: timedelta | None = None
    #: ``gather:``: how long to wait for more messages when this rule would answer the first
    #: one alone; None: ``settings: gather``.
    gather: timedelta | None = None
    examples: tuple[str, ...] = ()
    counterexamples: tuple[str, ...] = ()
    #: ``attachment:``: storage references by language key, ``""`` for every other language.
    attachment: Mapping[str, str] = field(default_factory=dict)
    word_forms: bool = False  # its keywords also match other forms of their words
    typos: bool = False  # its keywords also match with typos (and joined or split compounds)

    @property
    def where(self) -> str:
        return f"{self.file}:{self.line}"

    @property
    def inline_texts(self) -> tuple[Template, ...]:
        """Every inline text of the rule: one, one per language, or none (a template file)."""
        if self.texts:
            return tuple(template for _, template in self.texts)
        return (self.text,) if self.text is not None else ()

    @property
    def matches_text(self) -> bool:
        """True when the rule only fires on messages whose words it recognises."""
        return bool(self.keywords or self.all or self.regex)


@dataclass(frozen=True, slots=True)
class Settings:
    """The ``settings:`` of all rule files together (each setting is set in one file)."""

    timezone: ZoneInfo | None = None
    cooldown: timedelta = DEFAULT_COOLDOWN
    hours: Mapping[str, BusinessHours] = field(default_factory=dict)
    vars: Mapping[str, Any] = field(default_factory=dict)
    #: The book's languages as lower-case codes (``en``, ``es``), the default first; empty when
    #: the book does not name them.
    languages: tuple[str, ...] = ()
    #: ``settings: closed``: dates and times when every ``during`` is false.
    closed: ClosedTimes = field(default_factory=ClosedTimes)
    #: ``settings: silent``: hours in which the bot answers nobody (outcome ``silent``).
    silent: BusinessHours | None = None
    #: ``settings: gather``: after a lead's message, wait this long for more and answer them
    #: together (zero: off).
    gather: timedelta = timedelta(0)
    #: What every rule forgives unless it says otherwise (``word_forms`` / ``typos``).
    word_forms: bool = False
    typos: bool = False


@dataclass(frozen=True, slots=True)
class KeywordEntry:
    """What one id of ``RuleBook.keyword_index`` stands for."""

    rule: Rule
    role: Role
    keyword: Keyword


@dataclass(frozen=True)
class RuleBook:
    """Validated rules, ready for :func:`responder.engine.decide.decide`.

    ``rules`` are the enabled non-fallback rules in order, ``fallbacks`` the enabled fallback
    rules; ``keyword_entries[i]`` explains what id ``i`` of ``keyword_index`` stands for, and
    ``regex_index`` maps ids to rule orders; ``forgiving`` finds, under the same ids, the
    keywords of rules with ``word_forms`` or ``typos`` written otherwise. ``untexted`` are the
    rules that do not depend on the text (no keywords, all or regex): they are candidates for
    every message.
    """

    settings: Settings
    rules: tuple[Rule, ...]
    fallbacks: tuple[Rule, ...]
    templates: TemplateLibrary
    keyword_index: KeywordIndex
    keyword_entries: tuple[KeywordEntry, ...]
    regexes: RegexSet
    untexted: tuple[Rule, ...]
    files: tuple[str, ...]
    warnings: tuple[Problem, ...] = ()
    #: Tells a message's language among ``settings.languages``; None when the book names
    #: fewer than two languages that can be told apart (nothing is detected then).
    detector: LanguageDetector | None = None
    forgiving: ForgivingIndex = field(default_factory=lambda: ForgivingIndex(()))

    @cached_property
    def by_order(self) -> Mapping[int, Rule]:
        return {rule.order: rule for rule in (*self.rules, *self.fallbacks)}

    @cached_property
    def asks_first_message(self) -> bool:
        """True when some rule looks at ``first_message`` (worth reading a new lead's history)."""
        return any(rule.first_message is not None for rule in self.by_order.values())

    @cached_property
    def fallback_names(self) -> frozenset[str]:
        return frozenset(rule.name for rule in self.fallbacks)

    @cached_property
    def gathers(self) -> bool:
        """True when some message may wait for more (``gather`` set anywhere above zero)."""
        rules = self.by_order.values()
        return bool(self.settings.gather) or any(rule.gather for rule in rules)

    def gather_for(self, rule: Rule | None) -> timedelta:
        """How long a burst opened by a message that ``rule`` would answer alone waits."""
        if rule is not None and rule.gather is not None:
            return rule.gather
        return self.settings.gather

    @property
    def all_rules(self) -> list[Rule]:
        return [self.by_order[order] for order in sorted(self.by_order)]

    @cached_property
    def _by_name(self) -> Mapping[str, Rule]:
        return {rule.name: rule for rule in self.by_order.values()}

    def rule(self, name: str) -> Rule | None:
        return self._by_name.get(name)

    def template_for(self, rule: Rule, locale: str) -> Template:
        """The rule's inline text, or its template file, that best fits ``locale``.

        ``ms-MY`` tries the text or file for ``ms-MY``, then ``ms``, then the default one.
        Raises TemplateError when the template has language files only and none fits.
        """
        if rule.texts:
            texts = dict(rule.texts)
            for key in fallbacks(locale)[:-1]:
                if key in texts:
                    return texts[key]
        if rule.text is not None:
            return rule.text
        return self.templates.select(rule.reply, locale)

    def warm(self) -> None:
        """Get what the first decision would otherwise wait for ready (the language
        detector's models); for the service, before the book serves."""
        if self.detector is not None:
            self.detector.warm()

    def reply_language(self, rule: Rule, locale: str, text: str) -> ReplyLanguage | None:
        """The language to answer with ``rule``'s reply a lead with ``locale`` who wrote
        ``text``; None when the book names no languages (replies then follow the lead's
        locale alone)."""
        languages = self.settings.languages
        if not languages:
            return None
        written = self._written.get(rule.order)
        if written is None:
            written = self._written[rule.order] = self._languages_of(rule)
        return choose_language(locale, text, languages, self.detector, written)

    @cached_property
    def _written(self) -> dict[int, frozenset[str]]:
        """Rule order -> the book's languages its reply is written in (filled as used)."""
        return {}

    def _languages_of(self, rule: Rule) -> frozenset[str]:
        return _answer_languages(rule, self.templates, self.settings.languages[0])


def reply_languages(rule: Rule, templates: TemplateLibrary, default: str) -> frozenset[str]:
    """The languages ``rule``'s reply is written in: its texts' languages, or those of its
    template's files; a single text and a default file ``NAME.j2`` are in ``default``."""
    if rule.texts:
        return frozenset(code for code, _ in rule.texts)
    if rule.text is not None:
        return frozenset({default})
    variants = templates.variants(rule.reply)
    return frozenset(locale_key(t.locale).split("-")[0] or default for t in variants)


def _answer_languages(rule: Rule, templates: TemplateLibrary, default: str) -> frozenset[str]:
    """The languages in which ``rule``'s answer differs: its reply's and its attachment's."""
    attached = {key.split("-")[0] for key in rule.attachment if key}
    return reply_languages(rule, templates, default) | attached


def compile_rulebook(
    settings: Settings,
    rules: Sequence[Rule],
    files: Iterable[str],
    templates: TemplateLibrary,
    warnings: Iterable[Problem] = (),
) -> RuleBook:
    """Index validated, enabled ``rules`` (in order) into a book ready for matching.

    ``files`` are the rule files as their authors name them and ``warnings`` the loader's
    non-blocking problems; both are kept as they are.
    """
    entries: list[KeywordEntry] = []
    for rule in rules:
        for role, keywords in (
            (Role.ANY, rule.keywords),
            (Role.ALL, rule.all),
            (Role.EXCLUDE, rule.exclude),
        ):
            entries.extend(KeywordEntry(rule, role, kw) for kw in keywords)
    regexes = [(r.order, r.regex) for r in rules if r.regex]
    forgiving = ForgivingIndex(
        ((i, e.keyword, e.rule.word_forms, e.rule.typos) for i, e in enumerate(entries)),
        settings.languages,
    )
    ordinary = tuple(r for r in rules if not r.fallback)
    return RuleBook(
        settings=settings,
        rules=ordinary,
        fallbacks=tuple(r for r in rules if r.fallback),
        templates=templates,
        keyword_index=KeywordIndex((i, e.keyword) for i, e in enumerate(entries)),
        keyword_entries=tuple(entries),
        regexes=RegexSet(regexes),
        untexted=tuple(r for r in ordinary if not r.matches_text),
        files=tuple(files),
        warnings=tuple(warnings),
        detector=detector_for(settings.languages) if len(settings.languages) > 1 else None,
        forgiving=forgiving,
    )
