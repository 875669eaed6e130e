"""Replies in the customer's language: the lead's locale, else the message's language among the
book's languages, else the default; ``text:`` per language; check's warnings and errors."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from responder.engine.authoring import explain
from responder.engine.decide import decide
from responder.engine.language import Source, choose_language
from responder.engine.language_detection import LinguaDetector, detector_for
from responder.engine.loader import check_rulebook
from responder.engine.problems import Problem, Severity
from responder.engine.rulebook import RuleBook
from responder.model import Lead, LeadState, Message
from tests.rulebooks import BILINGUAL_BAKERY, book_from, write_book

NOW = datetime(2026, 11, 25, 10, 0, tzinfo=UTC)
RETURNING = LeadState(first_seen=NOW - timedelta(days=3))
NO_LOCALE = Lead(id="7", name="Alex Sample")

TEMPLATES = {
    "welcome.j2": "Hi {{ lead.first_name }}!",
    "welcome.es.j2": "¡Hola {{ lead.first_name }}!",
}


@pytest.fixture(scope="module")
def bakery(tmp_path_factory: pytest.TempPathFactory) -> RuleBook:
    return book_from(tmp_path_factory.mktemp("bakery"), BILINGUAL_BAKERY, TEMPLATES)


def reply_to(book: RuleBook, text: str, lead: Lead = NO_LOCALE) -> tuple[str, str, Source]:
    decision = decide(Message(text=text, received_at=NOW), lead, book, RETURNING, NOW)
    assert decision.replies, decision.why
    assert decision.language is not None
    return decision.reply, decision.language.code, decision.language.source


# -- the detector on short messages -----------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Hola", "es"),
        ("¿Cuánto cuesta el pan?", "es"),
        ("how much?", "en"),
        ("buenos días", "es"),
        ("what time do you open?", "en"),
        # Longer messages, a name of the other language in them: only their start is read.
        ("My name is José García and I would like to book a table for four tomorrow", "en"),
        ("Me llamo John Smith y quisiera reservar una mesa para cuatro personas mañana", "es"),
        ("ok", None),  # two letters say nothing about a language
        ("OK!", None),
        ("👍", None),
        ("?", None),
    ],
)
def test_the_detector_tells_short_messages_or_says_it_cannot(
    text: str, expected: str | None
) -> None:
    detector = detector_for(("en", "es"))
    assert detector is not None
    assert detector.detect(text) == expected


def test_a_message_that_cannot_tell_gets_the_default_language_saying_so() -> None:
    chosen = choose_language("", "ok", ("es", "en"), detector_for(("es", "en")))
    assert (chosen.code, chosen.source) == ("es", Source.DEFAULT)
    assert str(chosen) == "language es: the default; could not tell from 'ok'"


def test_the_same_message_always_gets_the_same_language() -> None:
    fresh = LinguaDetector(("en", "es"))
    answers = {fresh.detect("¿Cuánto cuesta el pan?") for _ in range(20)}
    assert answers == {"es"}


def test_languages_the_detector_does_not_know_are_left_to_the_locale() -> None:
    assert detector_for(("en", "xq")) is None
    chosen = choose_language("", "¿Cuánto cuesta el pan?", ("en", "xq"), None)
    assert (chosen.code, chosen.source) == ("en", Source.DEFAULT)


# -- choosing the reply's language -----------------------------------------------------------


def test_a_spanish_speaker_without_a_locale_gets_the_spanish_file(bakery: RuleBook) -> None:
    assert reply_to(bakery, "Hola") == ("¡Hola Alex!", "es", Source.DETECTED)


def test_text_per_language_follows_the_message(bakery: RuleBook) -> None:
    assert reply_to(bakery, "¿Cuánto cuesta el pan?") == (
        "El pan cuesta 2 euros.",
        "es",
        Source.DETECTED,
    )
    assert reply_to(bakery, "how much?") == ("Bread is 2 euros.", "en", Source.DETECTED)


def test_unsure_means_the_default_language(bakery: RuleBook) -> None:
    assert reply_to(bakery, "ok") == ("Bread is 2 euros.", "en", Source.DEFAULT)


def test_the_leads_locale_wins_over_the_message(bakery: RuleBook) -> None:
    mexican = Lead(id="8", name="Alex Sample", locale="es_MX")
    assert reply_to(bakery, "how much?", mexican) == (
        "El pan cuesta 2 euros.",
        "es",
        Source.LOCALE,
    )
    english = Lead(id="9", name="Alex Sample", locale="en-GB")
    assert reply_to(bakery, "¿Cuánto cuesta el pan?", english)[:2] == ("Bread is 2 euros.", "en")


def test_a_locale_outside_the_books_languages_leaves_it_to_the_message(bakery: RuleBook) -> None:
    french = Lead(id="10", name="Alex Sample", locale="fr_FR")
    decision = decide(Message(text="¿Cuánto cuesta el pan?"), french, bakery, RETURNING, NOW)
    assert decision.reply == "El pan cuesta 2 euros."
    assert decision.language is not None
    assert decision.language.why == (
        "detected from the message (the lead's locale fr_FR is not one of the book's languages)"
    )


def test_a_regional_file_still_serves_the_leads_regional_locale(tmp_path: Path) -> None:
    templates = {**TEMPLATES, "welcome.es-MX.j2": "¡Qué onda {{ lead.first_name }}!"}
    book = book_from(tmp_path, BILINGUAL_BAKERY, templates)
    mexican = Lead(id="8", name="Alex Sample", locale="es_MX")
    assert reply_to(book, "hello", mexican)[0] == "¡Qué onda Alex!"


def test_a_reply_in_the_default_language_only_needs_no_detection(tmp_path: Path) -> None:
    rules = (
        BILINGUAL_BAKERY + '  - name: hours\n    keywords: [horario]\n    text: "We open at 8."\n'
    )
    decision = decide(
        Message(text="¿Cuál es el horario?"),
        NO_LOCALE,
        book_from(tmp_path, rules, TEMPLATES),
        RETURNING,
        NOW,
    )
    assert decision.reply == "We open at 8."
    assert str(decision.language) == "language en: the reply is written in en only"


def test_an_attachment_per_language_follows_the_message(tmp_path: Path) -> None:
    rules = BILINGUAL_BAKERY + (
        '  - name: menu\n    keywords: [menu, carta]\n    text: "Menu"\n'
        '    attachment: {en: "uploads/menu-en.pdf", es: "uploads/carta-es.pdf"}\n'
    )
    book = book_from(tmp_path, rules, TEMPLATES)
    decision = decide(Message(text="¿Me pasan la carta?"), NO_LOCALE, book, RETURNING, NOW)
    assert decision.attachment == "uploads/carta-es.pdf"
    assert str(decision.language) == "language es: detected from the message"


def test_a_book_without_languages_follows_the_locale_alone_and_detects_nothing(
    tmp_path: Path,
) -> None:
    rules = "rules:\n  - name: greet\n    keywords: [hola, hello]\n    reply: welcome\n"
    book = book_from(tmp_path, rules, TEMPLATES)
    assert book.detector is None
    decision = decide(Message(text="Hola"), NO_LOCALE, book, RETURNING, NOW)
    assert (decision.reply, decision.language) == ("Hi Alex!", None)
    spanish = Lead(id="8", name="Alex Sample", locale="es")
    assert decide(Message(text="hello"), spanish, book, RETURNING, NOW).reply == "¡Hola Alex!"


def test_try_says_which_language_and_why(bakery: RuleBook) -> None:
    message = Message(text="ok", received_at=NOW)
    shown = explain(decide(message, NO_LOCALE, bakery, RETURNING, NOW), message)
    assert "language:      en: the default; could not tell from 'ok'" in shown
    message = Message(text="Hola", received_at=NOW)
    shown = explain(decide(message, NO_LOCALE, bakery, RETURNING, NOW), message)
    assert "language:      es: detected from the message" in shown


# -- check: text per language ----------------------------------------------------------------


def problems_of(
    tmp_path: Path, rules: str, templates: dict[str, str] | None = None
) -> list[Problem]:
    _, problems = check_rulebook(*write_book(tmp_path, rules, templates or TEMPLATES))
    return problems


def shown(problems: list[Problem]) -> list[str]:
    return [f"{Path(p.file).name}:{p.line}: {p.severity.value}: {p.message}" for p in problems]


LANGS = "settings:\n  languages: [en, es]\nrules:\n  - name: price\n    keywords: [price]\n"


def test_text_per_language_needs_the_books_languages(tmp_path: Path) -> None:
    rules = 'rules:\n  - name: price\n    keywords: [price]\n    text: {en: "Hi", es: "Hola"}\n'
    assert shown(problems_of(tmp_path, rules)) == [
        "rules.yaml:4: error: 'text' gives a reply per language, but the settings name no "
        "languages: add  languages: [en, es]  to the settings (the first is the default)"
    ]


def test_a_language_not_in_the_book_is_an_error_at_its_line(tmp_path: Path) -> None:
    rules = LANGS + '    text:\n      en: "Hi"\n      es: "Hola"\n      fr: "Salut"\n'
    assert shown(problems_of(tmp_path, rules)) == [
        "rules.yaml:9: error: 'fr' is not one of the book's languages (en, es); add it to  "
        "languages  in the settings, or use one of those"
    ]


def test_the_default_language_must_have_its_text(tmp_path: Path) -> None:
    rules = LANGS + '    text: {es: "Hola"}\n'
    assert shown(problems_of(tmp_path, rules)) == [
        "rules.yaml:6: error: 'text' has no en reply, and en is the default language (the "
        'first of  languages): add  en: "..."  for the customers whose language is not known'
    ]


def test_a_text_that_is_not_text_is_an_error(tmp_path: Path) -> None:
    rules = LANGS + '    text:\n      en: "Hi"\n      es: [Hola]\n'
    assert shown(problems_of(tmp_path, rules)) == [
        'rules.yaml:8: error: the es reply must be a text in quotes, like  text: {en: "Hi!", '
        'es: "¡Hola!"}'
    ]


def test_a_template_mistake_in_one_language_is_reported_at_its_line(tmp_path: Path) -> None:
    rules = LANGS + '    text:\n      en: "Hi"\n      es: "Hola {{ lead.nombre }}"\n'
    (problem,) = [p for p in problems_of(tmp_path, rules) if p.is_error]
    assert (Path(problem.file).name, problem.line, problem.rule) == ("rules.yaml", 8, "price")
    assert "'lead.nombre' is not something a reply knows about the customer" in problem.message


def test_a_reply_missing_a_language_is_a_warning(tmp_path: Path) -> None:
    rules = (
        "settings:\n  languages: [en, es]\nrules:\n"
        '  - name: price\n    keywords: [price]\n    text: {en: "Hi"}\n'
        '  - name: plain\n    keywords: [open]\n    text: "We open at 8"\n'
        "  - name: greet\n    keywords: [hello]\n    reply: hi\n"
    )
    problems = problems_of(tmp_path, rules, {"hi.j2": "Hi"})
    assert all(p.severity is Severity.WARNING for p in problems)
    assert shown(problems) == [
        "rules.yaml:6: warning: the reply has no es text, so customers writing in es are "
        'answered in en: add  es: "..."  under text',
        "rules.yaml:9: warning: the reply is written in one language, so customers writing in "
        'es get it as it is: write it per language, like  text: {en: "...", es: "..."}',
        "rules.yaml:10: warning: the template 'hi' has no es file, so customers writing in es "
        f"get the en one: add {tmp_path / 'templates'}/hi.es.j2",
    ]
    assert [p.rule for p in problems] == ["price", "plain", "greet"]


def test_a_complete_book_has_no_language_warning(tmp_path: Path) -> None:
    assert problems_of(tmp_path, BILINGUAL_BAKERY) == []


def test_a_language_that_cannot_be_recognised_is_a_warning_at_the_settings(
    tmp_path: Path,
) -> None:
    rules = "settings:\n  languages: [en, xq]\nrules:\n  - name: hi\n    keywords: [hello]\n"
    rules += '    text: {en: "Hi", xq: "Hi"}\n'
    assert shown(problems_of(tmp_path, rules)) == [
        "rules.yaml:2: warning: the language of a message cannot be recognised as 'xq', so "
        "replies are in xq only for leads whose locale is xq"
    ]
