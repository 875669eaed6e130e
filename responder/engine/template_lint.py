"""Checking what each reply template names against what it will see, before any reply is sent.

A value that does not exist prints as nothing, so ``{{ lead.firstname }}`` sends "Hi !" to
every customer without any error. :func:`reference_problems` finds these from the templates'
syntax trees (:mod:`responder.engine.template_refs`), for every language file and inline text,
per rule that uses it: ``match.x`` must be a named part of that rule's pattern, ``vars.x`` a
value of ``settings: vars``, ``lead.x`` / ``message.x`` / ``rule.x`` a key that
:func:`~responder.engine.context.build_context` gives. ``lead.custom_fields.x`` stays open
(the platform decides which fields exist): :func:`custom_fields` lists them for the check
report. :func:`misnamed_languages` warns about a language file named outside the scheme.
"""

from __future__ import annotations

import locale
import re
from collections.abc import Collection, Iterable, Mapping, Sequence
from datetime import datetime
from functools import cache
from typing import Any

import re2

from responder.engine.context import fixed_keys
from responder.engine.problems import Problem, Severity, did_you_mean
from responder.engine.rulebook import Rule
from responder.engine.template_refs import Reference
from responder.engine.templates import Template, TemplateLibrary

__all__ = ["custom_fields", "misnamed_languages", "misnamed_variants", "reference_problems"]

# What a template sees besides lead, message and rule (see responder.engine.context).
_OPEN_VALUES = ("match", "vars", "now")
# Methods of every dict a template sees: `vars.items()` in a loop, `lead.get("name")`.
_DICT_METHODS = frozenset({"get", "items", "keys", "values"})
_DATE_PARTS = frozenset(name for name in dir(datetime) if not name.startswith("_"))
_WHO = {"lead": "the customer", "message": "the message", "rule": "the rule"}


def reference_problems(
    templates: TemplateLibrary, rules: Sequence[Rule], variables: Mapping[str, Any]
) -> list[Problem]:
    """Errors for every unknown value a template names, warnings for single braces.

    ``rules`` are every validated rule (enabled or not), ``variables`` the settings' vars.
    A mistake in a template used by several rules is reported once, naming them all; only
    ``match.x`` is checked per rule, since each rule has its own pattern.
    """
    users: dict[int, list[Rule]] = {}
    every: list[Template] = [t for name in templates.names() for t in templates.variants(name)]
    for rule in rules:
        inline = rule.inline_texts
        used = inline or templates.variants(rule.reply)
        for template in used:
            users.setdefault(id(template), []).append(rule)
        every.extend(inline)
    known = _Known(templates, variables)
    problems: list[Problem] = []
    for template in every:
        by = users.get(id(template), [])
        problems += known.problems(template, ", ".join(rule.name for rule in by))
        for rule in by:
            problems += _match_problems(template, rule)
    return list(dict.fromkeys(problems))


def custom_fields(templates: TemplateLibrary, rules: Iterable[Rule]) -> dict[str, list[str]]:
    """Each ``lead.custom_fields.NAME`` the templates use, and where (``file:line``)."""
    every = [t for name in templates.names() for t in templates.variants(name)]
    every += [text for rule in rules for text in rule.inline_texts]
    found: dict[str, list[str]] = {}
    for template in every:
        for ref in template.references.custom_fields:
            file, line = template.place(ref.line)
            found.setdefault(ref.key, []).append(f"{file}:{line}")
    return dict(sorted(found.items()))


def misnamed_languages(
    templates: TemplateLibrary, rules: Iterable[Rule], languages: Collection[str] = ()
) -> list[Problem]:
    """Warnings for language files named outside the scheme: ``gluten_free_es.j2``.

    Such a file is read as a template of its own (``gluten_free_es``), so the customers it
    was written for never get it. A name counts as a language file of ``BASE`` only when
    ``BASE`` is a template or the reply of a rule, and its last part is a language code
    (``_es``, ``-ms``) or a language's name (``.spanish``), one of ``languages`` when given.
    """
    warnings = []
    for name, (base, code) in misnamed_variants(templates, rules, languages).items():
        right = f"{base}.{code}.j2"
        taken = any(t.locale.lower() == code for t in templates.variants(base))
        fix = (
            f"{right} already exists, so keep only one of the two"
            if taken
            else f"rename the file to {right}"
        )
        for template in templates.variants(name):
            message = (
                f"this looks like the '{code}' language file of '{base}', but it is read "
                f"as a template of its own called '{name}', so no customer gets it: {fix}"
            )
            warnings.append(Problem(template.origin, 0, message, severity=Severity.WARNING))
    return warnings


def misnamed_variants(
    templates: TemplateLibrary, rules: Iterable[Rule], languages: Collection[str] = ()
) -> dict[str, tuple[str, str]]:
    """Templates named like a language file outside the scheme: name -> (base, language)."""
    bases = set(templates.names()) | {rule.reply for rule in rules if rule.reply}
    found = {}
    for name in templates.names():
        parts = re.fullmatch(r"(.+)[._-]([A-Za-z]{2,})", name)
        if parts is None or parts[1] not in bases:
            continue
        code = _language_code(parts[2], languages)
        if code is not None:
            found[name] = (parts[1], code)
    return found


class _Known:
    """What every template sees, whichever rule uses it."""

    def __init__(self, templates: TemplateLibrary, variables: Mapping[str, Any]) -> None:
        env = templates.environment
        self.fixed = fixed_keys()
        self.variables = variables
        self.globals = frozenset(env.globals)
        self.filters = frozenset(env.filters)
        self.tests = frozenset(env.tests)

    def problems(self, template: Template, rules: str) -> list[Problem]:
        refs = template.references
        found: list[tuple[Reference, str]] = []
        for ref in refs.names:
            if ref.root not in self.fixed and ref.root not in _OPEN_VALUES + tuple(self.globals):
                found.append((ref, self._unknown_name(ref.root)))
        for ref in refs.keys:
            if (why := self._unknown_key(ref)) is not None:
                found.append((ref, why))
        for ref in refs.filters:
            if ref.key not in self.filters:
                found.append(
                    (ref, f"there is no filter '{ref.key}'{did_you_mean(ref.key, self.filters)}")
                )
        for ref in refs.tests:
            if ref.key not in self.tests:
                found.append(
                    (ref, f"there is no test 'is {ref.key}'{did_you_mean(ref.key, self.tests)}")
                )
        problems = [Problem(*template.place(ref.line), why, rules) for ref, why in found]
        for ref in refs.braces:
            fix = self._braced(ref.root)
            if fix is not None:
                message = (
                    f"'{{ {ref.root} }}' has single braces, so the customer gets it as written: "
                    f"write {{{{ {fix} }}}} to put the value in"
                )
                problems.append(
                    Problem(*template.place(ref.line), message, rules, Severity.WARNING)
                )
        return problems

    def _unknown_name(self, name: str) -> str:
        owners = [root for root, keys in self.fixed.items() if name in keys]
        owners += ["vars"] if name in self.variables else []
        if owners:
            maybe = f"; did you mean '{owners[0]}.{name}'?"
        else:
            values = [*self.fixed, *_OPEN_VALUES]
            maybe = did_you_mean(name, values) or f" (a reply can use {', '.join(values)})"
        return f"there is no value called '{name}' in a reply{maybe}"

    def _unknown_key(self, ref: Reference) -> str | None:
        written, key = ref.written, ref.key
        if ref.root in self.fixed:
            keys = self.fixed[ref.root]
            if key in keys or key in _DICT_METHODS:
                return None
            return (
                f"'{written}' is not something a reply knows about {_WHO[ref.root]}"
                f"{did_you_mean(key, keys, prefix=ref.root)}"
            )
        if ref.root == "vars":
            if key in self.variables or key in _DICT_METHODS:
                return None
            if not self.variables:
                return f"'{written}' is not set: the settings have no vars"
            maybe = did_you_mean(key, self.variables, prefix="vars")
            return f"'{written}' is not in the settings' vars{maybe}"
        if ref.root == "now" and key not in _DATE_PARTS:
            maybe = did_you_mean(key, _DATE_PARTS, prefix="now")
            return f"'{written}' is not part of a date and time{maybe}"
        return None  # match: per rule; an unknown root: reported as a name

    def _braced(self, text: str) -> str | None:
        """What ``{ text }`` was meant to be, or None when it does not look like a value."""
        root = text.split(".")[0]
        if root in self.fixed or root in _OPEN_VALUES:
            return text
        owners = [r for r, keys in self.fixed.items() if root in keys]
        owners += ["vars"] if root in self.variables else []
        return f"{owners[0]}.{text}" if owners else None


def _match_problems(template: Template, rule: Rule) -> list[Problem]:
    parts = _named_parts(rule.regex) if rule.regex else ()
    problems = []
    for ref in template.references.keys:
        if ref.root != "match" or ref.key in parts or ref.key in _DICT_METHODS:
            continue
        if not rule.regex:
            why = (
                f"'{ref.written}' is always empty: this rule has no regex, so nothing is "
                f"matched; give it one with a named part like (?P<{ref.key}>...)"
            )
        elif not parts:
            why = (
                f"'{ref.written}' is always empty: this rule's regex has no named part; "
                f"name the part you want like (?P<{ref.key}>...)"
            )
        else:
            maybe = did_you_mean(ref.key, parts, prefix="match")
            if not maybe and len(parts) == 1:  # the only part it can mean
                maybe = f"; did you mean 'match.{parts[0]}'?"
            why = (
                f"'{ref.written}' is always empty: this rule's regex has no part named "
                f"'{ref.key}'{maybe} (its named parts: {', '.join(parts)})"
            )
        problems.append(Problem(*template.place(ref.line), why, rule.name))
    return problems


@cache
def _named_parts(regex: str) -> tuple[str, ...]:
    return tuple(re2.compile(regex).groupindex)


def _language_code(word: str, languages: Collection[str]) -> str | None:
    """``es`` for ``es``, ``ES`` or ``spanish``; None when ``word`` names no language.

    When the book lists its ``languages``, only those count (``order_status_id`` is then not
    taken for Indonesian unless the book serves Indonesian).
    """
    lowered = word.lower()
    if len(lowered) <= 3:
        code = lowered if lowered in _language_codes() else None
    else:
        code = _language_names().get(lowered)
    return code if not languages or code in languages else None


@cache
def _language_codes() -> frozenset[str]:
    return frozenset(alias for alias in locale.locale_alias if re.fullmatch("[a-z]{2,3}", alias))


@cache
def _language_names() -> dict[str, str]:
    names = {}
    for alias, full in locale.locale_alias.items():
        code = re.split("[_.@]", full, maxsplit=1)[0].lower()
        if re.fullmatch("[a-z]{4,}", alias) and re.fullmatch("[a-z]{2,3}", code):
            names[alias] = code
    return names
