"""The live check of the console: a rule file as the author is writing it, checked with the
whole book, its problems put beside the fields they concern, and the reply rendered.

The candidate text is checked exactly as ``responder check`` would check the folder with that
file saved (a copy of the rules folder in a scratch folder; the templates folder as it is), so
what the page says is what Publish will say.
"""

from __future__ import annotations

import shutil
import tempfile
from dataclasses import dataclass, field, replace
from pathlib import Path
from zoneinfo import ZoneInfo

import re2

from responder.console.rulefiles import rule_files
from responder.console.ruleform import FIELD_OF_KEY
from responder.engine import authoring
from responder.engine.context import build_context
from responder.engine.problems import Problem, display_path
from responder.engine.rulebook import Rule, RuleBook
from responder.engine.templates import Template, render
from responder.engine.yamlfile import Located, load_yaml
from responder.errors import TemplateError
from responder.model import Message

LANGUAGES = {
    "": "Default language",
    "en": "English",
    "ms": "Malay",
    "id": "Indonesian",
    "es": "Spanish",
    "pt": "Portuguese",
    "fr": "French",
    "de": "German",
    "zh": "Chinese",
    "ta": "Tamil",
}


@dataclass(frozen=True)
class Preview:
    language: str
    with_name: str  # the reply, or why it cannot be rendered
    without_name: str
    failed: bool = False


@dataclass
class Checked:
    """The check of one candidate file, arranged for the page."""

    report: authoring.CheckReport
    by_field: dict[str, list[Problem]] = field(default_factory=dict)
    general: list[Problem] = field(default_factory=list)  # this rule's, beside no field
    elsewhere: list[Problem] = field(default_factory=list)  # the rest of the book's
    previews: list[Preview] = field(default_factory=list)
    preview_note: str = ""

    @property
    def errors(self) -> int:
        return len(self.report.errors)


def check_folder(
    rules_dir: Path, templates_dir: Path, changed: dict[str, str]
) -> authoring.CheckReport:
    """Check the folder as it would be with the files in ``changed`` (name -> text) saved."""
    with tempfile.TemporaryDirectory(prefix="responder-console-") as scratch:
        copy = Path(scratch) / "rules"
        copy.mkdir()
        for name in rule_files(rules_dir):
            if name not in changed:
                shutil.copyfile(rules_dir / name, copy / name)
        for name, text in changed.items():
            (copy / name).write_text(text, encoding="utf-8")
        report = authoring.check(copy, templates_dir)
        shown = display_path(rules_dir)
        for problems in (report.problems, report.failures):
            problems[:] = [_renamed(p, str(copy), shown) for p in problems]
    return report


def _renamed(problem: Problem, scratch: str, shown: str) -> Problem:
    if scratch not in problem.file and scratch not in problem.message:
        return problem
    return replace(
        problem,
        file=problem.file.replace(scratch, shown),
        message=problem.message.replace(scratch, shown),
    )


def check_rule(rules_dir: Path, templates_dir: Path, file: str, text: str, index: int) -> Checked:
    """Check the file ``file`` with ``text``; place the problems of its rule ``index``."""
    report = check_folder(rules_dir, templates_dir, {file: text})
    checked = Checked(report)
    block, end = _block(text, index)
    name = str(block.get("name") or "") if block is not None else ""
    shown_file = f"{display_path(rules_dir)}/{file}"
    for problem in (*report.problems, *report.failures):
        inside = (
            block is not None and problem.file == shown_file and block.line <= problem.line <= end
        )
        if not inside and not (name and problem.rule == name):
            checked.elsewhere.append(problem)
            continue
        where = _field_of(problem, block) if block is not None else None
        if where is None:
            checked.general.append(problem)
        else:
            checked.by_field.setdefault(where, []).append(problem)
    if report.book is None:
        checked.preview_note = "The reply appears here once the problems are fixed."
    else:
        rule = next((r for r in report.book.all_rules if r.name == name), None)
        if rule is None:
            checked.preview_note = "This rule is switched off: switch it on to see its reply."
        else:
            checked.previews = previews(report.book, rule)
    return checked


def _block(text: str, index: int) -> tuple[Located | None, int]:
    """The rule block ``index`` of the text and its last line (as the loader reads it)."""
    try:
        data, _ = load_yaml(text)
    except ValueError:
        return None, 0
    rules = data.get("rules") if isinstance(data, Located) else None
    if not isinstance(rules, list) or not 0 <= index < len(rules):
        return None, 0
    block = rules[index]
    if not isinstance(block, Located):
        return None, 0
    following = rules[index + 1] if index + 1 < len(rules) else None
    end = following.line - 1 if isinstance(following, Located) else 10**9
    return block, end


def _field_of(problem: Problem, block: Located) -> str | None:
    message = problem.message
    if message.startswith("the example"):
        return "examples"
    if message.startswith("the counterexample"):
        return "counterexamples"
    if not problem.file.endswith((".yaml", ".yml")):
        return "reply"  # a problem in the reply file this rule names
    keys = [(line, key) for key, line in block.key_lines.items() if line <= problem.line]
    if not keys:
        return None
    line, key = max(keys)
    # The rule's own line is where whole-rule problems are reported: beside no one field.
    own_line = line == block.line and problem.line == block.line and key == "name"
    if own_line and "'name'" not in message and "called" not in message:
        return None
    return FIELD_OF_KEY.get(key)


def previews(book: RuleBook, rule: Rule) -> list[Preview]:
    """The rule's reply for the sample customer, with and without a name, in each language."""
    zone = book.settings.timezone or ZoneInfo("UTC")
    if rule.text is not None:
        variants: list[tuple[str, Template]] = [("", rule.text)]
    else:
        variants = [
            (locale, book.templates.select(rule.reply, locale))
            for locale in book.templates.locales(rule.reply)
        ]
    groups = {name: "12345" for name in re2.compile(rule.regex).groupindex} if rule.regex else {}
    sample = rule.examples[0] if rule.examples else "sample message"
    shown: list[Preview] = []
    for locale, template in variants:
        texts: list[str] = []
        failed = False
        for lead in authoring.SAMPLE_LEADS:
            context = build_context(
                lead=replace(lead, locale=locale),
                message=Message(text=sample, channel="whatsapp"),
                match=groups,
                rule=rule.name,
                now=authoring.REFERENCE_MOMENT.replace(tzinfo=zone),
                vars=book.settings.vars,
                default_timezone=zone,
            )
            try:
                texts.append(render(template, context))
            except TemplateError as exc:
                texts.append(f"This reply cannot be written: {exc}")
                failed = True
        label = LANGUAGES.get(locale.split("-")[0].lower(), locale) if locale else LANGUAGES[""]
        shown.append(Preview(label, texts[0], texts[1], failed))
    return shown
