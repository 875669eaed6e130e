"""Warnings for replies that do not cover every language of the book.

With ``settings: languages: [en, es]`` a customer may be answered in any of them; a rule
whose reply has no Spanish text or file answers Spanish speakers in the default language.
That still sends something sensible, so it is a warning, not an error.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from responder.engine.problems import Problem, Severity
from responder.engine.rulebook import Rule, reply_languages
from responder.engine.template_lint import misnamed_variants
from responder.engine.templates import TemplateLibrary

__all__ = ["missing_languages"]


def missing_languages(
    templates: TemplateLibrary, rules: Iterable[Rule], languages: Sequence[str]
) -> list[Problem]:
    """A warning per rule whose reply lacks a text or file for one of ``languages``.

    ``languages`` are the book's, the default first; a template's default file ``NAME.j2``
    stands for the default language, and a single ``text:`` is taken as written in it.
    """
    if len(languages) < 2:
        return []
    default = languages[0]
    rules = list(rules)
    # A file named outside the scheme (welcome_es.j2) has its own warning: one is enough.
    misnamed = set(misnamed_variants(templates, rules, languages).values())
    warnings = []
    for rule in rules:
        have = reply_languages(rule, templates, default)
        inline = rule.inline_texts
        file, line = inline[0].place(1) if inline else (rule.file, rule.line)
        missing = [
            code for code in languages if code not in have and (rule.reply, code) not in misnamed
        ]
        if not missing:
            continue
        warnings.append(
            Problem(
                file, line, _message(rule, templates, missing, default), rule.name, Severity.WARNING
            )
        )
    return warnings


def _message(rule: Rule, templates: TemplateLibrary, missing: list[str], default: str) -> str:
    codes = ", ".join(missing)
    if rule.texts:
        add = "  ".join(f'{code}: "..."' for code in missing)
        return (
            f"the reply has no {codes} text, so customers writing in {codes} are answered in "
            f"{default}: add  {add}  under text"
        )
    if rule.text is not None:
        written = ", ".join(f'{code}: "..."' for code in (default, *missing))
        return (
            f"the reply is written in one language, so customers writing in {codes} get it as "
            f"it is: write it per language, like  text: {{{written}}}"
        )
    files = ", ".join(f"{templates.directory_name}/{rule.reply}.{code}.j2" for code in missing)
    return (
        f"the template '{rule.reply}' has no {codes} file, so customers writing in {codes} get "
        f"the {default} one: add {files}"
    )
