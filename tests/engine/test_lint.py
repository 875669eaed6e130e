"""Warnings about keywords that can never decide their rule."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from responder.engine.hours import parse_hours
from responder.engine.lint import shadowed_keywords
from responder.engine.loader import check_rulebook
from responder.engine.matching import parse_keyword
from responder.engine.problems import Problem, Severity
from responder.engine.rulebook import HoursCondition, Rule
from tests.rulebooks import write_book


def rule(name: str, order: int, *keywords: str, **conditions: Any) -> Rule:
    """A rule at line ``10 * (order + 1)`` of rules/faq.yaml."""
    return Rule(
        name=name,
        order=order,
        file="rules/faq.yaml",
        line=10 * (order + 1),
        reply="answer",
        keywords=tuple(parse_keyword(k) for k in keywords),
        **conditions,
    )


def test_each_shadowed_keyword_is_one_warning_at_the_later_rule() -> None:
    rules = [rule("pricing", 0, "price", "cost*"), rule("price-list", 1, "price list", "costs")]
    assert shadowed_keywords(rules) == [
        Problem(
            "rules/faq.yaml",
            20,
            "the keyword 'price list' never decides this rule: rule 'pricing' (rules/faq.yaml:10) "
            "answers those messages first",
            "price-list",
            Severity.WARNING,
        ),
        Problem(
            "rules/faq.yaml",
            20,
            "the keyword 'costs' never decides this rule: rule 'pricing' (rules/faq.yaml:10) "
            "answers those messages first",
            "price-list",
            Severity.WARNING,
        ),
    ]


def test_the_warning_names_the_earliest_covering_rule() -> None:
    rules = [rule("lists", 0, "list"), rule("prices", 1, "price"), rule("both", 2, "price list")]
    [warning] = shadowed_keywords(rules)
    assert "rule 'lists' (rules/faq.yaml:10)" in warning.message


def test_a_prefix_covers_longer_words_but_a_word_covers_no_prefix() -> None:
    assert len(shadowed_keywords([rule("a", 0, "cost*"), rule("b", 1, "costly")])) == 1
    assert shadowed_keywords([rule("a", 0, "cost"), rule("b", 1, "cost*", "costly")]) == []


@pytest.mark.parametrize(
    "condition",
    [
        {"all": (parse_keyword("now"),)},
        {"exclude": (parse_keyword("free"),)},
        {"regex": "pric"},
        {"channels": frozenset({"whatsapp"})},
        {"tags": frozenset({"vip"})},
        {"locales": frozenset({"ms"})},
        {"hours": HoursCondition(parse_hours("mon-fri 09:00-18:00"), True, "office")},
        {"first_message": False},
    ],
)
def test_an_earlier_rule_with_another_condition_shadows_nothing(condition: dict[str, Any]) -> None:
    assert shadowed_keywords([rule("narrow", 0, "price", **condition), rule("b", 1, "price")]) == []


def test_fallback_rules_neither_shadow_nor_are_shadowed() -> None:
    rules = [
        rule("early", 0, "price", fallback=True),
        rule("pricing", 1, "price"),
        rule("late", 2, "price", fallback=True),
    ]
    assert shadowed_keywords(rules) == []


def test_the_loader_reports_the_warnings_and_still_loads(tmp_path: Path) -> None:
    book, problems = check_rulebook(
        *write_book(
            tmp_path,
            """
            rules:
              - name: pricing
                keywords: [price, cost*]
                reply: answer
              - name: price-list
                keywords: [price list, costs, brochure]
                reply: other
            """,
        )
    )
    assert [p.rule for p in problems] == ["price-list", "price-list"]
    assert "'price list' never decides this rule: rule 'pricing'" in problems[0].message
    assert "'costs'" in problems[1].message
    assert not any(p.is_error for p in problems)
    assert book is not None and list(book.warnings) == problems


def test_no_shadow_warning_when_the_earlier_rule_has_another_condition(tmp_path: Path) -> None:
    _, problems = check_rulebook(
        *write_book(
            tmp_path,
            """
            rules:
              - name: vip-pricing
                keywords: [price]
                tags: [vip]
                reply: answer
              - name: pricing
                keywords: [price]
                reply: other
            """,
        )
    )
    assert problems == []
