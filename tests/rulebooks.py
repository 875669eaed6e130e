"""Helpers for tests that need a rule book written to disk, and for reading it safely."""

from __future__ import annotations

import signal
import textwrap
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from responder.engine.loader import load_rulebook
from responder.engine.rulebook import RuleBook

#: A two-language rule book (English, the default, and Spanish): ``price`` answers in the
#: rule's own ``text:`` per language (``ok`` alone is enough for it, and says no language),
#: ``greet`` with the template ``welcome``, whose files the test writes (``welcome.j2``,
#: ``welcome.es.j2``).
BILINGUAL_BAKERY = """
settings:
  languages: [en, es]
rules:
  - name: price
    keywords: [how much, price, cuánto cuesta, precio, ok]
    short_ok: [ok]
    text: {en: "Bread is 2 euros.", es: "El pan cuesta 2 euros."}
  - name: greet
    keywords: [hola, hello]
    reply: welcome
"""

DEFAULT_TEMPLATES = {
    "answer.j2": "Answer for {{ lead.first_name | default('there', true) }}",
    "other.j2": "Other answer",
}


def write_book(
    root: Path,
    rules: str | dict[str, str],
    templates: dict[str, str] | None = None,
) -> tuple[Path, Path]:
    """Write rule files (one ``rules.yaml``, or several by name) and templates under ``root``."""
    rules_dir, templates_dir = root / "rules", root / "templates"
    rules_dir.mkdir(parents=True, exist_ok=True)
    templates_dir.mkdir(parents=True, exist_ok=True)
    files = {"rules.yaml": rules} if isinstance(rules, str) else rules
    for name, text in files.items():
        (rules_dir / name).write_text(textwrap.dedent(text).lstrip(), encoding="utf-8")
    for name, text in (DEFAULT_TEMPLATES if templates is None else templates).items():
        (templates_dir / name).write_text(text, encoding="utf-8")
    return rules_dir, templates_dir


def book_from(root: Path, rules: str, templates: dict[str, str] | None = None) -> RuleBook:
    return load_rulebook(*write_book(root, rules, templates))


@contextmanager
def within(seconds: int) -> Iterator[None]:
    """Fail instead of hanging: opening a FIFO for reading blocks until someone writes to it."""

    def expire(signum: int, frame: object) -> None:
        raise TimeoutError(f"still busy after {seconds} s")

    previous = signal.signal(signal.SIGALRM, expire)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)
