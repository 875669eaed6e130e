"""Attachments: ``attachment:`` in a rule, checked, chosen by the customer's language, shown."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from responder.cli import main
from responder.engine.attachments import parse_attachment, select_attachment
from responder.engine.decide import decide
from responder.engine.loader import check_rulebook
from responder.model import Lead, LeadState, Message
from tests.rulebooks import book_from, write_book

NOW = datetime(2026, 11, 25, 3, 0, tzinfo=UTC)
BOOK = """
rules:
  - name: menu
    keywords: [menu]
    text: "Here is our menu"
    attachment: "uploads/menu-en.pdf"
  - name: prices
    keywords: [prices, precios]
    text: "Our prices"
    attachment: {en: "uploads/prices-en.pdf", es: "uploads/precios.pdf"}
  - name: hello
    keywords: [hello]
    text: "Hello"
"""


@pytest.mark.parametrize(
    ("text", "locale", "attachment"),
    [
        ("menu please", "", "uploads/menu-en.pdf"),
        ("menu please", "es", "uploads/menu-en.pdf"),  # one file for everyone
        ("prices?", "es-MX", "uploads/precios.pdf"),  # the language, whatever the country
        ("prices?", "en_GB", "uploads/prices-en.pdf"),
        ("prices?", "de", "uploads/prices-en.pdf"),  # another language: the first listed
        ("hello", "en", ""),  # no attachment
    ],
)
def test_the_reply_carries_the_attachment_for_the_customers_language(
    tmp_path: Path, text: str, locale: str, attachment: str
) -> None:
    book = book_from(tmp_path, BOOK)
    message = Message(id="m", text=text, received_at=NOW)
    decision = decide(message, Lead(id="1", locale=locale), book, LeadState(), NOW)
    assert decision.replies
    assert decision.attachment == attachment


def test_select_prefers_the_most_precise_language() -> None:
    found = parse_attachment({"es": "a.pdf", "es-MX": "b.pdf"})
    assert select_attachment(found, "es_MX") == "b.pdf"
    assert select_attachment(found, "es-ES") == "a.pdf"
    assert select_attachment(found, "") == "a.pdf"


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ('""', "the attachment must be the platform's reference of a file"),
        ("7", "the attachment must be the platform's reference of a file"),
        ("[a.pdf]", "the attachment must be the platform's reference of a file"),
        ('{en: ""}', "the attachment for 'en' must be the platform's reference of a file"),
        ("{}", "'attachment' lists no languages"),
    ],
)
def test_check_refuses_an_attachment_that_is_not_a_reference(
    tmp_path: Path, value: str, message: str
) -> None:
    rules = (
        f"rules:\n  - name: menu\n    keywords: [menu]\n    text: Menu\n    attachment: {value}\n"
    )
    book, problems = check_rulebook(*write_book(tmp_path, rules))
    assert book is None
    (error,) = [p for p in problems if p.is_error]
    assert (error.line, error.rule) == (5, "menu")
    assert message in error.message


def test_try_shows_the_attachment(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    rules_dir, templates_dir = write_book(tmp_path, BOOK)
    main(["try", "menu?", "--rules", str(rules_dir), "--templates", str(templates_dir)])
    assert "attachment:    uploads/menu-en.pdf" in capsys.readouterr().out
