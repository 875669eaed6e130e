"""Replies in the customer's language through the pipeline: the message's language for a lead
without a locale, the locale when it names one of the book's languages, and the language kept
in the decision log, also by a process that takes the job over."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from responder.errors import OutcomeUnknown
from responder.model import Outcome
from tests.pipeline_harness import Pipeline
from tests.rulebooks import book_from

BAKERY = """
settings:
  languages: [en, es]
rules:
  - name: price
    keywords: [how much, price, cuánto cuesta, precio]
    text:
      en: "Hi {{ lead.first_name }}! Bread is 2 euros."
      es: "¡Hola {{ lead.first_name }}! El pan cuesta 2 euros."
  - name: greet
    keywords: [hola, hello]
    reply: welcome
"""
TEMPLATES = {
    "welcome.j2": "Hi {{ lead.first_name }}!",
    "welcome.es.j2": "¡Hola {{ lead.first_name }}!",
}


@pytest.fixture
def bakery(make: Callable[..., Pipeline], tmp_path: Path) -> Pipeline:
    return make(book=book_from(tmp_path / "book", BAKERY, TEMPLATES))


def test_a_spanish_message_without_a_locale_is_answered_in_spanish(bakery: Pipeline) -> None:
    record = bakery.handled("¿Cuánto cuesta el pan?")
    assert (record.outcome, record.language) == (Outcome.SENT, "es")
    assert bakery.api.sent() == ["¡Hola Aisyah! El pan cuesta 2 euros."]


def test_an_english_message_is_answered_in_english(bakery: Pipeline) -> None:
    record = bakery.handled("how much?")
    assert (record.reply, record.language) == ("Hi Aisyah! Bread is 2 euros.", "en")


def test_the_leads_locale_wins_over_the_messages_language(bakery: Pipeline) -> None:
    record = bakery.handled("how much?", locale="es_MX")
    assert (record.reply, record.language) == ("¡Hola Aisyah! El pan cuesta 2 euros.", "es")


def test_a_template_file_per_language_follows_the_message(bakery: Pipeline) -> None:
    assert bakery.handled("Hola").reply == "¡Hola Aisyah!"


def test_a_job_taken_over_after_its_reservation_keeps_its_language(bakery: Pipeline) -> None:
    bakery.api.fail("reply", OutcomeUnknown("read timeout"))
    assert bakery.run("¿Cuánto cuesta el pan?") is None  # maybe sent: left to a takeover
    record = bakery.recorded(bakery.takeover())
    assert (record.outcome, record.language) == (Outcome.SENT, "es")


def test_no_reply_records_no_language(bakery: Pipeline) -> None:
    record = bakery.handled("¿Tienen pan sin gluten?")
    assert (record.outcome, record.language) == (Outcome.NO_MATCH, "")


def test_a_book_without_languages_records_none(make: Callable[..., Pipeline]) -> None:
    record = make().handled("What are your opening hours?")
    assert (record.outcome, record.language) == (Outcome.SENT, "")
