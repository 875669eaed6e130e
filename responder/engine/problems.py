"""Problems found in the rule book, phrased for the people who write rules."""

from __future__ import annotations

import difflib
from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path


class Severity(StrEnum):
    ERROR = "error"
    WARNING = "warning"


@dataclass(frozen=True, slots=True)
class Problem:
    """One finding, located as precisely as the source allows.

    ``file`` is a path as the author knows it (``rules/faq.yaml``), ``line`` is 1-based
    (0 when unknown), ``rule`` the rule's name when the problem belongs to one.
    """

    file: str
    line: int
    message: str
    rule: str = ""
    severity: Severity = Severity.ERROR

    @property
    def is_error(self) -> bool:
        return self.severity is Severity.ERROR

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line else self.file
        who = f" [rule {self.rule}]" if self.rule else ""
        return f"{where}: {self.severity}{who}: {self.message}"


def display_path(path: Path) -> str:
    """A path as short as the author would write it: relative to the working folder if inside."""
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)


def did_you_mean(word: str, choices: Iterable[str], *, prefix: str = "") -> str:
    """``; did you mean 'x'?`` for the closest of ``choices``, or "" when none is close.

    ``prefix`` is written in front of the suggestion (``lead`` gives ``'lead.first_name'``).
    """
    found = difflib.get_close_matches(word, list(choices), n=1, cutoff=0.6)
    if not found:
        return ""
    return f"; did you mean '{prefix + '.' if prefix else ''}{found[0]}'?"
