"""The rule book: every rule file under ``rules/`` and every template, loaded and validated.

:func:`load_rulebook` reads ``*.yaml`` / ``*.yml`` in file-name order, checks everything (all
problems at once, each with ``file:line``, the rule's name and a sentence for the person who
wrote it) and compiles every keyword of every rule into one index and every regex into one
RE2 set, so that matching costs the same with ten rules or ten thousand. The format itself is
documented for rule authors in ``docs/rules.md``.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from enum import Enum
from functools import cached_property
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from responder.engine.durations import parse_duration
from responder.engine.hours import BusinessHours, load_timezone, parse_hours
from responder.engine.matching import Keyword, KeywordIndex, RegexSet, check_regex, parse_keyword
from responder.engine.problems import Problem, Severity, display_path
from responder.engine.templates import Template, TemplateLibrary
from responder.engine.yamlfile import Located, load_yaml
from responder.errors import RuleBookError

DEFAULT_COOLDOWN = timedelta(hours=6)

SETTINGS_KEYS = ("timezone", "cooldown", "hours", "vars")
RULE_KEYS = (
    "name", "description", "enabled",
    "keywords", "all", "exclude", "regex", "channels", "tags", "locales",
    "during", "outside", "first_message", "fallback",
    "reply", "text", "cooldown", "pause",
    "examples", "counterexamples",
)  # fmt: skip
# Keys that make a rule fire on something; a rule with none of them answers everything.
CONDITION_KEYS = (
    "keywords", "all", "regex", "channels", "tags", "locales", "during", "outside",
    "first_message",
)  # fmt: skip


class Role(Enum):
    """What a keyword does in its rule."""

    ANY = "keywords"
    ALL = "all"
    EXCLUDE = "exclude"


@dataclass(frozen=True, slots=True)
class HoursCondition:
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
    text: Template | None = None  # an inline text
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
    examples: tuple[str, ...] = ()
    counterexamples: tuple[str, ...] = ()

    @property
    def where(self) -> str:
        return f"{self.file}:{self.line}"

    @property
    def matches_text(self) -> bool:
        """True when the rule only fires on messages whose words it recognises."""
        return bool(self.keywords or self.all or self.regex)


@dataclass(frozen=True, slots=True)
class Settings:
    timezone: ZoneInfo | None = None
    cooldown: timedelta = DEFAULT_COOLDOWN
    hours: Mapping[str, BusinessHours] = field(default_factory=dict)
    vars: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class KeywordEntry:
    rule: Rule
    role: Role
    keyword: Keyword


@dataclass(frozen=True)
class RuleBook:
    """Validated rules, ready for :func:`responder.engine.decide.decide`.

    ``rules`` are the enabled non-fallback rules in order, ``fallbacks`` the enabled fallback
    rules; ``keyword_entries[i]`` explains what id ``i`` of ``keyword_index`` stands for, and
    ``regex_index`` maps ids to rule orders. ``untexted`` are the rules that do not depend on
    the text (no keywords, all or regex): they are candidates for every message.
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

    @cached_property
    def by_order(self) -> Mapping[int, Rule]:
        return {rule.order: rule for rule in (*self.rules, *self.fallbacks)}

    @property
    def all_rules(self) -> list[Rule]:
        return [self.by_order[order] for order in sorted(self.by_order)]

    @cached_property
    def _by_name(self) -> Mapping[str, Rule]:
        return {rule.name: rule for rule in self.by_order.values()}

    def rule(self, name: str) -> Rule | None:
        return self._by_name.get(name)

    def template_for(self, rule: Rule, locale: str) -> Template:
        """The rule's inline text, or its template file that best fits ``locale``.

        Raises TemplateError when the template has language files only and none fits.
        """
        if rule.text is not None:
            return rule.text
        return self.templates.select(rule.reply, locale)


def load_rulebook(rules_dir: Path, templates_dir: Path) -> RuleBook:
    """Load and validate everything; raise RuleBookError listing every problem if any is an error.

    Warnings do not stop loading: they are kept in ``RuleBook.warnings``.
    """
    book, problems = check_rulebook(rules_dir, templates_dir)
    if book is None:
        raise RuleBookError(problems)
    return book


def check_rulebook(rules_dir: Path, templates_dir: Path) -> tuple[RuleBook | None, list[Problem]]:
    """Validate everything; the book is None when there is at least one error."""
    return _Loader(rules_dir, templates_dir).load()


class _Loader:
    """Collects problems while turning rule files into a RuleBook."""

    def __init__(self, rules_dir: Path, templates_dir: Path) -> None:
        self.rules_dir = rules_dir
        self.templates = TemplateLibrary(templates_dir)
        self.problems: list[Problem] = list(self.templates.problems)
        self.file = ""

    def load(self) -> tuple[RuleBook | None, list[Problem]]:
        files = self._rule_files()
        raw_rules: list[tuple[str, Located]] = []
        raw_settings: list[tuple[str, Located]] = []
        for path in files:
            self.file = display_path(path)
            document = self._read(path)
            if document is None:
                continue
            if isinstance(document.get("settings"), Located):
                raw_settings.append((self.file, document["settings"]))
            elif "settings" in document:
                self.error(
                    document.line_of("settings"),
                    "'settings' must list settings with their values, like  timezone: UTC",
                )
            rules = document.get("rules")
            if isinstance(rules, list):
                for index, item in enumerate(rules):
                    if isinstance(item, Located):
                        raw_rules.append((self.file, item))
                    else:
                        line = document.line_of("rules")
                        self.error(line, f"rule number {index + 1} is not a rule (name: ...)")
            elif rules is not None:
                self.error(document.line_of("rules"), "'rules' must be a list of rules")

        settings = self._settings(raw_settings)
        rules = self._rules(raw_rules, settings)
        self._warn_shadowed(rules)
        if any(p.is_error for p in self.problems):
            return None, self.problems
        return self._compile(settings, rules, files), self.problems

    # -- reporting -------------------------------------------------------------------------

    def error(self, line: int, message: str, rule: str = "", file: str = "") -> None:
        self.problems.append(Problem(file or self.file, line, message, rule))

    def warn(self, line: int, message: str, rule: str = "", file: str = "") -> None:
        self.problems.append(Problem(file or self.file, line, message, rule, Severity.WARNING))

    def unknown_keys(
        self, mapping: Located, known: Sequence[str], what: str, rule: str = ""
    ) -> int:
        """Report keys not in ``known``, with a "did you mean"; return how many there were."""
        unknown = [key for key in mapping if key not in known]
        for key in unknown:
            hint = difflib.get_close_matches(key, known, n=1, cutoff=0.6)
            maybe = f"; did you mean '{hint[0]}'?" if hint else f" (known: {', '.join(known)})"
            self.error(mapping.line_of(key), f"'{key}' is not a {what} key{maybe}", rule)
        return len(unknown)

    # -- files -----------------------------------------------------------------------------

    def _rule_files(self) -> list[Path]:
        if not self.rules_dir.is_dir():
            self.problems.append(
                Problem(display_path(self.rules_dir), 0, "the rules folder does not exist")
            )
            return []
        files = sorted(
            p for p in self.rules_dir.iterdir() if p.suffix in (".yaml", ".yml") and p.is_file()
        )
        if not files:
            self.problems.append(
                Problem(display_path(self.rules_dir), 0, "no rule files (*.yaml) in this folder")
            )
        return files

    def _read(self, path: Path) -> Located | None:
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            self.error(0, f"cannot read this file ({exc.__class__.__name__}: {exc})")
            return None
        try:
            data, duplicates = load_yaml(text)
        except ValueError as exc:
            line, message = exc.args
            self.error(line, message)
            return None
        for duplicate in duplicates:
            self.error(duplicate.line, duplicate.message)
        if data is None:
            self.warn(0, "this file is empty")
            return None
        if not isinstance(data, Located):
            self.error(1, "a rule file must contain 'rules:' (and optionally 'settings:')")
            return None
        self.unknown_keys(data, ("settings", "rules"), "top-level")
        return data

    # -- settings --------------------------------------------------------------------------

    def _settings(self, raw: list[tuple[str, Located]]) -> Settings:
        seen: dict[str, str] = {}
        values: dict[str, Any] = {}
        for file, block in raw:
            self.file = file
            self.unknown_keys(block, SETTINGS_KEYS, "settings")
            for key in SETTINGS_KEYS:
                if key not in block:
                    continue
                where = f"{file}:{block.line_of(key)}"
                if key in seen:
                    self.error(
                        block.line_of(key),
                        f"'{key}' is already set in {seen[key]}; set each setting in one file only",
                    )
                    continue
                seen[key] = where
                values[key] = self._setting(key, block[key], block.line_of(key))
        return Settings(
            timezone=values.get("timezone"),
            cooldown=DEFAULT_COOLDOWN if values.get("cooldown") is None else values["cooldown"],
            hours=values.get("hours") or {},
            vars=values.get("vars") or {},
        )

    def _setting(self, key: str, value: Any, line: int) -> Any:
        if key == "timezone":
            return self._convert(load_timezone, value, line)
        if key == "cooldown":
            return self._convert(parse_duration, value, line)
        if key == "hours":
            if not isinstance(value, Located):
                self.error(
                    line, "'hours' must list named hours, like  office: \"mon-fri 09:00-18:00\""
                )
                return {}
            hours = {}
            for name, spec in value.items():
                parsed = self._convert(parse_hours, spec, value.line_of(name))
                if parsed is not None:
                    hours[name] = parsed
            return hours
        if not isinstance(value, dict):
            self.error(line, "'vars' must list names and values, like  pricing_url: https://...")
            return {}
        return dict(value)

    def _convert(self, parse: Callable[[Any], Any], value: Any, line: int, rule: str = "") -> Any:
        """Run one parser; its ValueError becomes a problem at ``line``."""
        try:
            return parse(value if not isinstance(value, str) else value.strip())
        except ValueError as exc:
            self.error(line, str(exc), rule)
            return None

    # -- rules -----------------------------------------------------------------------------

    def _rules(self, raw: list[tuple[str, Located]], settings: Settings) -> list[Rule]:
        rules: list[Rule] = []
        names: dict[str, str] = {}
        for order, (file, block) in enumerate(raw):
            self.file = file
            rule = self._rule(block, order, settings)
            if rule is None:
                continue
            if rule.name in names:
                self.error(
                    block.line_of("name"),
                    f"another rule is already called '{rule.name}' ({names[rule.name]}); "
                    "every rule needs its own name",
                    rule.name,
                )
                continue
            names[rule.name] = rule.where
            if block.get("enabled", True) is not False:
                rules.append(rule)
        return rules

    def _rule(self, block: Located, order: int, settings: Settings) -> Rule | None:
        name = block.get("name")
        if isinstance(name, bool | int | float):
            self.error(block.line_of("name"), f"write the name in quotes ({_UNQUOTED})")
            name = str(name)
        elif not isinstance(name, str) or not name.strip():
            self.error(block.line, "this rule has no name: add  name: something-short")
            name = f"#{order + 1}"
        name = name.strip()
        errors_before = sum(p.is_error for p in self.problems)
        misspelt = self.unknown_keys(block, RULE_KEYS, "rule", name)

        def line(key: str) -> int:
            return block.line_of(key)

        def words(key: str, role: Role | None = None) -> tuple[Keyword, ...]:
            keywords = []
            for raw in self._strings(block, key, name):
                kw = self._convert(parse_keyword, raw, line(key), name)
                if kw is None:
                    continue
                if role is not Role.EXCLUDE and _too_short(kw):
                    self.warn(
                        line(key),
                        f"the keyword '{raw}' is very short and may match more than you expect",
                        name,
                    )
                keywords.append(kw)
            return tuple(keywords)

        keywords = words("keywords", Role.ANY)
        all_words = words("all", Role.ALL)
        exclude = words("exclude", Role.EXCLUDE)
        regex = block.get("regex")
        if regex is not None:
            if not isinstance(regex, str) or not regex:
                self.error(line("regex"), "'regex' must be a pattern in quotes", name)
                regex = None
            elif (why := check_regex(regex)) is not None:
                self.error(line("regex"), why, name)
                regex = None

        hours = self._hours_condition(block, settings, name)
        first_message = self._flag(block, "first_message", name)
        fallback = self._flag(block, "fallback", name) or False
        self._flag(block, "enabled", name)
        cooldown = settings.cooldown
        if "cooldown" in block:
            cooldown = self._convert(parse_duration, block["cooldown"], line("cooldown"), name)
        pause = None
        if "pause" in block:
            pause = self._convert(parse_duration, block["pause"], line("pause"), name)

        # A misspelt key is usually the missing condition: one message about it is enough.
        if not fallback and not misspelt and not any(key in block for key in CONDITION_KEYS):
            self.error(
                block.line,
                "this rule has no condition, so it would answer every message: add keywords "
                "(or another condition), or mark it  fallback: true",
                name,
            )
        if "exclude" in block and not any(key in block for key in CONDITION_KEYS):
            self.error(line("exclude"), "'exclude' only narrows other conditions", name)

        reply, text = self._answer(block, name)
        description = block.get("description", "")
        if sum(p.is_error for p in self.problems) > errors_before or not (reply or text):
            return None
        return Rule(
            name=name,
            order=order,
            file=self.file,
            line=block.line,
            reply=reply,
            text=text,
            description=str(description or ""),
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
            examples=tuple(self._strings(block, "examples", name)),
            counterexamples=tuple(self._strings(block, "counterexamples", name)),
        )

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
            self.error(block.line_of(key), f"put yes, no, on, off, true and false in quotes in "
                       f"'{key}' ({_UNQUOTED})", rule)  # fmt: skip
            return []
        self.error(block.line_of(key), f"'{key}' must be a list of texts, like  [one, two]", rule)
        return []

    def _flag(self, block: Located, key: str, rule: str) -> bool | None:
        value = block.get(key)
        if value is None or isinstance(value, bool):
            return value
        self.error(block.line_of(key), f"'{key}' must be true or false", rule)
        return None

    def _hours_condition(
        self, block: Located, settings: Settings, rule: str
    ) -> HoursCondition | None:
        if "during" in block and "outside" in block:
            self.error(block.line_of("outside"), "use either 'during' or 'outside', not both", rule)
            return None
        for key, inside in (("during", True), ("outside", False)):
            if key not in block:
                continue
            spec = block[key]
            line = block.line_of(key)
            if not isinstance(spec, str) or not spec.strip():
                self.error(line, f"'{key}' needs a name from settings.hours or hours like "
                                 "\"mon-fri 09:00-18:00\"", rule)  # fmt: skip
                return None
            spec = spec.strip()
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
            parsed = self._convert(parse_hours, spec, line, rule)
            return HoursCondition(parsed, inside, spec) if parsed is not None else None
        return None

    def _answer(self, block: Located, rule: str) -> tuple[str, Template | None]:
        """The rule's template name, or its compiled inline text; ("", None) on a problem."""
        has_reply, has_text = "reply" in block, "text" in block
        if has_reply == has_text:
            self.error(
                block.line,
                'give the answer either as  reply: template-name  or as  text: "..." '
                "(exactly one of them)",
                rule,
            )
            return "", None
        if has_text:
            source = block["text"]
            if not isinstance(source, str) or not source.strip():
                self.error(block.line_of("text"), "'text' must be the reply, in quotes", rule)
                return "", None
            template, problems = self.templates.inline(
                source, file=self.file, line=block.line_of("text"), rule=rule
            )
            self.problems.extend(problems)
            return "", template
        name = block["reply"]
        if not isinstance(name, str) or not name.strip():
            self.error(block.line_of("reply"), "'reply' must be a template name", rule)
            return "", None
        name = name.strip().removesuffix(".j2")
        if self.templates.has(name):
            return name, None
        folder = self.templates.directory
        if any(folder.glob(f"{name}.j2")) or any(folder.glob(f"{name}.*.j2")):
            return "", None  # the file exists but does not compile: reported with its line
        hint = difflib.get_close_matches(name, self.templates.names(), n=1)
        maybe = f"; did you mean '{hint[0]}'?" if hint else ""
        self.error(
            block.line_of("reply"),
            f"there is no template file {self.templates.directory_name}/{name}.j2{maybe}",
            rule,
        )
        return "", None

    # -- compiling -------------------------------------------------------------------------

    def _compile(self, settings: Settings, rules: list[Rule], files: list[Path]) -> RuleBook:
        entries: list[KeywordEntry] = []
        for rule in rules:
            for role, keywords in (
                (Role.ANY, rule.keywords),
                (Role.ALL, rule.all),
                (Role.EXCLUDE, rule.exclude),
            ):
                entries.extend(KeywordEntry(rule, role, kw) for kw in keywords)
        regex_rules = [r for r in rules if r.regex]
        regexes = [(r.order, r.regex) for r in regex_rules if r.regex is not None]
        ordinary = tuple(r for r in rules if not r.fallback)
        return RuleBook(
            settings=settings,
            rules=ordinary,
            fallbacks=tuple(r for r in rules if r.fallback),
            templates=self.templates,
            keyword_index=KeywordIndex((i, e.keyword) for i, e in enumerate(entries)),
            keyword_entries=tuple(entries),
            regexes=RegexSet(regexes),
            untexted=tuple(r for r in ordinary if not r.matches_text),
            files=tuple(display_path(p) for p in files),
            warnings=tuple(p for p in self.problems if not p.is_error),
        )

    def _warn_shadowed(self, rules: Iterable[Rule]) -> None:
        """Warn about keywords that an earlier keywords-only rule always answers first.

        Only rules whose single condition is ``keywords`` can shadow: any other condition
        (hours, tags, exclude...) may let the message through to the later rule.
        """
        exact: dict[str, Rule] = {}
        prefixes: dict[str, Rule] = {}
        for rule in rules:
            if rule.fallback:
                continue
            for kw in rule.keywords:
                earlier = _covering_rule(kw, exact, prefixes)
                if earlier is not None and earlier is not rule:
                    self.warn(
                        rule.line,
                        f"the keyword '{kw.source}' never decides this rule: rule "
                        f"'{earlier.name}' ({earlier.where}) answers those messages first",
                        rule.name,
                        file=rule.file,
                    )
            if _keywords_only(rule):
                for kw in rule.keywords:
                    table = prefixes if kw.prefix else exact
                    table.setdefault(kw.normalized, rule)


def _covering_rule(kw: Keyword, exact: dict[str, Rule], prefixes: dict[str, Rule]) -> Rule | None:
    """The earliest rule with a keyword that every text containing ``kw`` also contains."""
    if kw.spaceless:
        return exact.get(kw.normalized)
    tokens = kw.normalized.split(" ")
    found: list[Rule] = []
    for start in range(len(tokens)):
        for end in range(start + 1, len(tokens) + 1):
            phrase = " ".join(tokens[start:end])
            last_is_prefix = kw.prefix and end == len(tokens)
            if not last_is_prefix and phrase in exact:
                found.append(exact[phrase])
            head = " ".join(tokens[start : end - 1])
            last = tokens[end - 1]
            for cut in range(1, len(last) + 1):
                candidate = f"{head} {last[:cut]}" if head else last[:cut]
                if candidate in prefixes:
                    found.append(prefixes[candidate])
    return min(found, key=lambda r: r.order) if found else None


_UNQUOTED = "without quotes, YAML reads yes, no, on and off as true or false"


def _keywords_only(rule: Rule) -> bool:
    return bool(rule.keywords) and not (
        rule.all or rule.exclude or rule.regex or rule.channels or rule.tags or rule.locales
        or rule.hours or rule.first_message is not None
    )  # fmt: skip


def _too_short(kw: Keyword) -> bool:
    return not kw.spaceless and len(kw.normalized) <= 2 and kw.normalized.isalnum()


def _locale(value: str) -> str:
    return value.replace("_", "-").lower()
