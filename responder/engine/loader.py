"""Loading the rule book: every rule file under ``rules/`` and every template, validated.

:func:`load_rulebook` reads ``*.yaml`` / ``*.yml`` in file-name order (ordinary files only: see
:mod:`responder.engine.folder`) and checks everything (all problems at once, each with
``file:line``, the rule's name and a sentence for the person who wrote it: see
:mod:`responder.engine.validation`), adds the warnings of
:mod:`responder.engine.lint`, and compiles the valid rules with
:func:`responder.engine.rulebook.compile_rulebook`. The format itself is documented for rule
authors in ``docs/rules.md``.
"""

from __future__ import annotations

import gc
import re
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path
from typing import Any

from responder.engine.closures import ClosedTimes, parse_closed
from responder.engine.durations import parse_duration
from responder.engine.folder import FolderFile, read_folder
from responder.engine.hours import load_timezone, parse_hours
from responder.engine.language_detection import detectable
from responder.engine.language_lint import missing_languages
from responder.engine.lint import shadowed_keywords
from responder.engine.problems import Problem, display_path
from responder.engine.rulebook import DEFAULT_COOLDOWN, Rule, RuleBook, Settings, compile_rulebook
from responder.engine.template_lint import misnamed_languages, reference_problems
from responder.engine.templates import TemplateLibrary
from responder.engine.validation import RuleValidator, not_a_flag, parse_gather
from responder.engine.word_forms import has_word_forms
from responder.engine.yamlfile import Located, load_yaml
from responder.errors import RuleBookError

SETTINGS_KEYS = (
    "timezone",
    "cooldown",
    "hours",
    "vars",
    "languages",
    "closed",
    "silent",
    "gather",
    "word_forms",
    "typos",
)


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
    with _collector_paused():
        return _Loader(rules_dir, templates_dir).load()


@contextmanager
def _collector_paused() -> Iterator[None]:
    """Pause Python's cycle collector while a book is built.

    Loading makes hundreds of thousands of objects that all live on (the parsed files, the
    rules, the keyword indexes); the collector would walk the growing heap again and again
    for garbage that is not there, which was a third of the load time of a large book.
    Reference counting still frees everything as usual. Left alone when already paused.
    """
    if not gc.isenabled():
        yield
        return
    gc.disable()
    try:
        yield
    finally:
        gc.enable()


def read_settings(rules_dir: Path) -> Settings:
    """The settings of the rule files alone, for tools that need only those (``log``).

    Neither rules nor templates are read, and problems are not reported: a setting that
    cannot be read is left at its default.
    """
    loader = _Loader(rules_dir, None)
    _, _, raw_settings = loader.read_files()
    return loader.settings(raw_settings)


class _Loader(RuleValidator):
    """Collects problems while turning rule files into a RuleBook."""

    def __init__(self, rules_dir: Path, templates_dir: Path | None) -> None:
        super().__init__(TemplateLibrary(templates_dir))
        self.rules_dir = rules_dir
        self.languages_at: tuple[str, int] | None = None  # where settings.languages is set

    def load(self) -> tuple[RuleBook | None, list[Problem]]:
        files, raw_rules, raw_settings = self.read_files()
        settings = self.settings(raw_settings)
        rules, checked = self._rules(raw_rules, settings)
        self.problems.extend(shadowed_keywords(rules))
        self.problems.extend(reference_problems(self.templates, checked, settings.vars))
        self.problems.extend(misnamed_languages(self.templates, checked, settings.languages))
        self.problems.extend(missing_languages(self.templates, checked, settings.languages))
        self._word_forms_languages(settings, checked)
        if any(p.is_error for p in self.problems):
            return None, self.problems
        warnings = [p for p in self.problems if not p.is_error]
        names = [file.shown for file in files]
        return compile_rulebook(settings, rules, names, self.templates, warnings), self.problems

    def _word_forms_languages(self, settings: Settings, rules: list[Rule]) -> None:
        """Warn about a language of the book for which no word forms are known."""
        if not any(rule.word_forms for rule in rules) or self.languages_at is None:
            return
        self.file, line = self.languages_at
        for code in settings.languages:
            if not has_word_forms(code):
                self.warn(
                    line,
                    f"word_forms: there is no list of word forms for '{code}', so its words "
                    "match only as written (typos: true still forgives typos)",
                )

    def read_files(
        self,
    ) -> tuple[list[FolderFile], list[tuple[str, Located]], list[tuple[str, Located]]]:
        """The rule files, and the rule blocks and settings blocks in them, with their file."""
        files = self._rule_files()
        raw_rules: list[tuple[str, Located]] = []
        raw_settings: list[tuple[str, Located]] = []
        for file in files:
            self.file = file.shown
            document = self._read(file)
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
        return files, raw_rules, raw_settings

    # -- files -----------------------------------------------------------------------------

    def _rule_files(self) -> list[FolderFile]:
        if not self.rules_dir.is_dir():
            self.problems.append(
                Problem(display_path(self.rules_dir), 0, "the rules folder does not exist")
            )
            return []
        # Only ordinary files inside the folder, never what a link points to: see
        # responder.engine.folder. Links, pipes and devices come back refused, by name.
        files = read_folder(self.rules_dir, (".yaml", ".yml"), recursive=False)
        if not files:
            self.problems.append(
                Problem(display_path(self.rules_dir), 0, "no rule files (*.yaml) in this folder")
            )
        return files

    def _read(self, file: FolderFile) -> Located | None:
        if file.refused:
            self.error(0, file.refused)
            return None
        if file.error is not None:
            self.error(0, _cannot_read(file.error))
            return None
        try:
            text = file.text("utf-8")
        except UnicodeDecodeError as exc:
            self.error(0, _cannot_read(exc))
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

    def settings(self, raw: list[tuple[str, Located]]) -> Settings:
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
                    if key == "hours" and isinstance(block[key], dict):
                        self.broken_hours.update(block[key])  # reported once, here
                    continue
                seen[key] = where
                if key == "languages":
                    self.languages_at = (file, block.line_of(key))
                values[key] = self._setting(key, block[key], block.line_of(key))
        return Settings(
            timezone=values.get("timezone"),
            cooldown=DEFAULT_COOLDOWN if values.get("cooldown") is None else values["cooldown"],
            hours=values.get("hours") or {},
            vars=values.get("vars") or {},
            languages=values.get("languages") or (),
            closed=values.get("closed") or ClosedTimes(),
            silent=values.get("silent"),
            gather=values.get("gather") or timedelta(0),
            word_forms=values.get("word_forms") is True,
            typos=values.get("typos") is True,
        )

    def _setting(self, key: str, value: Any, line: int) -> Any:
        if key == "timezone":
            return self.convert(load_timezone, value, line)
        if key == "cooldown":
            return self.convert(parse_duration, value, line)
        if key == "gather":
            return self.convert(parse_gather, value, line)
        if key == "hours":
            if not isinstance(value, Located):
                self.error(
                    line, "'hours' must list named hours, like  office: \"mon-fri 09:00-18:00\""
                )
                self.hours_unreadable = True
                return {}
            hours = {}
            for name, spec in value.items():
                parsed = self.convert(parse_hours, spec, value.line_of(name))
                if parsed is not None:
                    hours[name] = parsed
                else:  # reported here: a rule using the name must not say it does not exist
                    self.broken_hours.add(name)
            return hours
        if key == "languages":
            languages = self.convert(parse_languages, value, line)
            if languages and len(languages) > 1:
                self._undetectable(languages, line)
            return languages
        if key == "closed":
            return self.convert(parse_closed, value, line)
        if key == "silent":
            return self.convert(parse_hours, value, line)
        if key in ("word_forms", "typos"):
            if not isinstance(value, bool):
                self.error(line, not_a_flag(key, value))
                return None
            return value
        if not isinstance(value, dict):
            self.error(line, "'vars' must list names and values, like  pricing_url: https://...")
            return {}
        return dict(value)

    def _undetectable(self, languages: tuple[str, ...], line: int) -> None:
        known = detectable(languages)
        for code in languages:
            if code not in known:
                self.warn(
                    line,
                    f"the language of a message cannot be recognised as '{code}', so replies "
                    f"are in {code} only for leads whose locale is {code}",
                )

    # -- rules -----------------------------------------------------------------------------

    def _rules(
        self, raw: list[tuple[str, Located]], settings: Settings
    ) -> tuple[list[Rule], list[Rule]]:
        """The enabled rules, and every valid rule (disabled ones are checked too)."""
        rules: list[Rule] = []
        checked: list[Rule] = []
        names: dict[str, str] = {}
        for order, (file, block) in enumerate(raw):
            self.file = file
            rule = self.validate_rule(block, order, settings)
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
            checked.append(rule)
            if block.get("enabled", True) is not False:
                rules.append(rule)
        return rules, checked


def parse_languages(value: Any) -> tuple[str, ...]:
    """``settings: languages``: a list of distinct language codes, the default first."""
    example = "like  languages: [en, es]  (the first is the default)"
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not value:
        raise ValueError(f"'languages' must list language codes, {example}")
    codes: list[str] = []
    for item in value:
        code = str(item).strip().lower()
        if not re.fullmatch(r"[a-z]{2,3}", code):
            raise ValueError(
                f"'{item}' is not a language code; use two letters such as en, es or ms, {example}"
            )
        if code in codes:
            raise ValueError(f"'{code}' is listed twice in 'languages'")
        codes.append(code)
    return tuple(codes)


def _cannot_read(exc: Exception) -> str:
    return f"cannot read this file ({exc.__class__.__name__}: {exc})"
