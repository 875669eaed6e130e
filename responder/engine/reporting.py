"""Reporting what is wrong in a rule file: every problem kept, with its file, line and rule.

:class:`Reporter` is the base of the validators (:mod:`responder.engine.validation` and
:mod:`responder.engine.answer_checks`); ``file`` is where the next problems are reported.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from responder.engine.problems import Problem, Severity, did_you_mean
from responder.engine.templates import TemplateLibrary
from responder.engine.yamlfile import Located


class Reporter:
    """Keeps every problem found, so that they are all shown at once."""

    def __init__(self, templates: TemplateLibrary) -> None:
        """``templates`` are what replies may name; their own problems come first."""
        self.templates = templates
        self.problems: list[Problem] = list(templates.problems)
        self.file = ""

    def error(self, line: int, message: str, rule: str = "") -> None:
        self.problems.append(Problem(self.file, line, message, rule))

    def warn(self, line: int, message: str, rule: str = "") -> None:
        self.problems.append(Problem(self.file, line, message, rule, Severity.WARNING))

    def unknown_keys(
        self, mapping: Located, known: Sequence[str], what: str, rule: str = ""
    ) -> int:
        """Report keys not in ``known``, with a "did you mean"; return how many there were."""
        unknown = [key for key in mapping if key not in known]
        for key in unknown:
            maybe = did_you_mean(key, known) or f" (known: {', '.join(known)})"
            self.error(mapping.line_of(key), f"'{key}' is not a {what} key{maybe}", rule)
        return len(unknown)

    def convert(self, parse: Callable[[Any], Any], value: Any, line: int, rule: str = "") -> Any:
        """Run one parser; its ValueError becomes a problem at ``line``."""
        try:
            return parse(value if not isinstance(value, str) else value.strip())
        except ValueError as exc:
            self.error(line, str(exc), rule)
            return None
