"""Keywords that forgive how customers write: word forms, typos and compounds, on the rule
author's terms (per rule and as the book's default), with exact words first."""

from __future__ import annotations

import random
from datetime import UTC, datetime
from pathlib import Path

import pytest
from rapidfuzz.distance import OSA

from responder.cli import main
from responder.engine.authoring import check
from responder.engine.decide import Decision, decide
from responder.engine.forgiving import ForgivingIndex
from responder.engine.loader import check_rulebook
from responder.engine.matching import parse_keyword
from responder.engine.normalize import normalize
from responder.engine.rulebook import RuleBook
from responder.engine.typo_index import typo_allowance, word_allowance
from responder.model import Lead, LeadState, Message
from tests.rulebooks import book_from, write_book

NOW = datetime(2026, 11, 25, 3, 0, tzinfo=UTC)
LEAD = Lead(id="1", name="Sam")
RETURNING = LeadState(first_seen=datetime(2026, 1, 1, tzinfo=UTC))

BAKERY = """
settings:
  languages: [en, es]
rules:
  - name: celiac
    keywords: [celiac, gluten free]
    word_forms: true
    typos: true
    text: "All our bread is gluten free."
  - name: hours
    keywords: [what time, opening hours, abierto]
    word_forms: true
    typos: true
    text: "We open at 8."
  - name: chocolate
    keywords: [chocolate]
    typos: true
    text: "Chocolate cake every day."
  - name: cakes
    keywords: [cake]
    word_forms: true
    typos: true
    text: "Cakes to order."
  - name: bread
    keywords: [pan, precio]
    word_forms: true
    typos: true
    text: "Pan del dia."
  - name: greeting
    keywords: [hi]
    short_ok: [hi]
    word_forms: true
    typos: true
    text: "Hello!"
  - name: compound
    keywords: [takeaway]
    typos: true
    text: "Takeaway until 6."
  - name: forms-only
    keywords: [sourdough loaf]
    word_forms: true
    text: "Sourdough on Fridays."
  - name: exact
    keywords: [delivery]
    text: "We deliver."
"""


@pytest.fixture(scope="module")
def bakery(tmp_path_factory: pytest.TempPathFactory) -> RuleBook:
    return book_from(tmp_path_factory.mktemp("bakery"), BAKERY)


def run(book: RuleBook, text: str) -> Decision:
    message = Message(text=text, channel="whatsapp", received_at=NOW)
    return decide(message, LEAD, book, RETURNING, NOW)


def answered_by(book: RuleBook, text: str) -> str | None:
    decision = run(book, text)
    return decision.rule.name if decision.rule else None


@pytest.mark.parametrize(
    ("text", "rule"),
    [
        # word forms, English
        ("Is it safe for celiacs?", "celiac"),
        ("do you sell cakes", "cakes"),
        ("sourdough loafs please", "forms-only"),
        # word forms, Spanish
        ("¿Están abiertos hoy?", "hours"),
        ("abierta el domingo?", "hours"),
        ("los precios por favor", "bread"),
        # typos: one from 5 letters, word by word in phrases
        ("celaic friendly?", "celiac"),  # neighbours swapped
        ("celia bread", "celiac"),  # a letter missing
        ("cxliac", "celiac"),  # a wrong letter
        ("wat tme do you open", "hours"),  # a phrase of 9 characters: two typos
        ("openin hour?", "hours"),
        ("¿abirto hoy?", "hours"),  # Spanish, a letter missing
        ("el preico", "bread"),  # Spanish, neighbours swapped
        # two typos from 9 letters
        ("chcolate and choclat", "chocolate"),
        ("chocolatte", "chocolate"),
        # compounds written together or apart
        ("anything glutenfree?", "celiac"),
        ("is there take away", "compound"),
    ],
)
def test_a_forgiving_rule_answers_other_ways_of_writing_its_keywords(
    bakery: RuleBook, text: str, rule: str
) -> None:
    assert answered_by(bakery, text) == rule


@pytest.mark.parametrize(
    ("text", "why"),
    [
        ("this is his", "'hi' never matches 'this' or 'his'"),
        ("hit me", "nor a typo of it: 3 letters or fewer match exactly"),
        ("ho", "'hi' gets no typo either"),
        ("panes", "'pan' has 3 letters: no other forms"),
        ("pam", "'pan' has 3 letters: no typos"),
        ("cakr", "'cake' has 4 letters: no typos"),
        ("celiaxxx", "three typos are too many for 6 letters"),
        ("chxcxlxte", "three typos are too many for 9 letters"),
        ("wat tm", "'tm' is two typos from 'time': more than a 4-letter word may carry"),
        ("sourdoughloaf", "compounds need typos: true"),
        ("sourdogh loaf", "the forms-only rule forgives no typo"),
        ("deliveries", "a rule without the switches matches words as written"),
    ],
)
def test_what_stays_unmatched(bakery: RuleBook, text: str, why: str) -> None:
    assert answered_by(bakery, "celiacs celaic") == "celiac"  # the book does forgive
    assert answered_by(bakery, text) is None, why


def test_chocolates_is_a_typo_of_chocolate_not_a_form(bakery: RuleBook) -> None:
    decision = run(bakery, "chocolates")
    assert decision.rule is not None and decision.rule.name == "chocolate"
    assert "with a typo of 'chocolate'" in decision.why


def test_hi_still_matches_hi(bakery: RuleBook) -> None:
    assert answered_by(bakery, "hi there") == "greeting"


@pytest.mark.parametrize(
    ("text", "why"),
    [
        ("are you ok for celiacs?", "keyword 'celiac' (matched 'celiacs' as a form of 'celiac')"),
        (
            "wat tme do you open",
            "keyword 'what time' (matched 'wat tme' with a typo of 'what time')",
        ),
        (
            "glutenfree?",
            "keyword 'gluten free' (matched 'glutenfree' as 'gluten free' written together)",
        ),
        ("take away", "keyword 'takeaway' (matched 'take away' as 'takeaway' written apart)"),
        ("celiac", "keyword 'celiac'"),
    ],
)
def test_why_says_what_was_forgiven(bakery: RuleBook, text: str, why: str) -> None:
    assert run(bakery, text).why == why


def test_try_prints_what_was_forgiven(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    rules_dir, templates_dir = write_book(tmp_path, BAKERY)
    args = ["try", "--rules", str(rules_dir), "--templates", str(templates_dir)]
    assert main([*args, "Is it safe for celiacs?"]) == 0
    assert "because:       keyword 'celiac' (matched 'celiacs' as a form of 'celiac')" in (
        capsys.readouterr().out
    )


EXACT_FIRST = """
rules:
  - name: prices
    keywords: [prices]
    typos: true
    text: "Price list."
  - name: price
    keywords: [price]
    text: "From 2 euros."
"""


def test_a_rule_matched_exactly_comes_before_an_earlier_forgiving_match(tmp_path: Path) -> None:
    book = book_from(tmp_path, EXACT_FIRST)
    # 'price' is one typo from 'prices' (an earlier rule), but another rule has it exactly.
    assert answered_by(book, "what's the price") == "price"
    assert answered_by(book, "pricse?") == "prices"


def test_forgiving_matches_come_before_the_fallback(tmp_path: Path) -> None:
    book = book_from(
        tmp_path,
        EXACT_FIRST + '  - name: sorry\n    fallback: true\n    text: "Sorry?"\n',
    )
    assert answered_by(book, "pricse") == "prices"
    assert answered_by(book, "nothing here") == "sorry"


def test_an_exclude_forgives_too_and_holds_the_rule_back(tmp_path: Path) -> None:
    book = book_from(
        tmp_path,
        """
        rules:
          - name: orders
            keywords: [order]
            exclude: [cancel]
            word_forms: true
            text: "Your order is on its way."
        """,
    )
    assert answered_by(book, "where is my order") == "orders"
    decision = run(book, "I cancelled my order")
    assert decision.rule is None
    assert "excluded by 'cancel' (matched 'cancelled' as a form of 'cancel')" in (
        " ".join(decision.near_misses)
    )


def test_all_words_may_be_forgiven(tmp_path: Path) -> None:
    book = book_from(
        tmp_path,
        """
        rules:
          - name: refund
            all: [refund, broken]
            typos: true
            text: "Sorry! We refund it."
        """,
    )
    decision = run(book, "refnd please, it arrived broken")
    assert decision.rule is not None and decision.rule.name == "refund"
    assert decision.why == "all of 'refund' (matched 'refnd' with a typo of 'refund'), 'broken'"


SETTINGS_DEFAULT = """
settings:
  word_forms: true
  typos: true
rules:
  - name: celiac
    keywords: [celiac]
    text: "Gluten free."
  - name: strict
    keywords: [sourdough]
    word_forms: false
    typos: false
    text: "Fridays."
"""


def test_settings_switch_every_rule_on_and_a_rule_can_switch_itself_off(tmp_path: Path) -> None:
    book = book_from(tmp_path, SETTINGS_DEFAULT)
    assert answered_by(book, "celiacs") == "celiac"  # a form, from the settings
    assert answered_by(book, "celaic") == "celiac"  # a typo, from the settings
    assert answered_by(book, "sourdough") == "strict"
    assert answered_by(book, "sourdoughs") is None
    assert answered_by(book, "sourdugh") is None


def test_without_languages_word_forms_are_english(tmp_path: Path) -> None:
    book = book_from(
        tmp_path,
        """
        rules:
          - name: open
            keywords: [abierto, opening]
            word_forms: true
            text: "8-18."
        """,
    )
    assert answered_by(book, "opened yet?") == "open"
    assert answered_by(book, "abiertas") is None  # a Spanish form: Spanish is not listed


@pytest.mark.parametrize(
    ("rules", "line", "message"),
    [
        (
            "rules:\n  - name: a\n    keywords: [x]\n    word_forms: yes please\n    text: hi\n",
            4,
            "'word_forms' must be true or false, not 'yes please'; write  word_forms: true",
        ),
        (
            'rules:\n  - name: a\n    keywords: [x]\n    typos: "true"\n    text: hi\n',
            4,
            "'typos' must be true or false, not 'true'",
        ),
        (
            "settings:\n  typos: maybe\nrules:\n  - name: a\n    keywords: [x]\n    text: hi\n",
            2,
            "'typos' must be true or false, not 'maybe'",
        ),
        (
            "settings:\n  word_forms: 1\nrules:\n  - name: a\n    keywords: [x]\n    text: hi\n",
            2,
            "'word_forms' must be true or false, not '1'",
        ),
    ],
)
def test_a_switch_that_is_not_true_or_false_is_an_error_at_its_line(
    tmp_path: Path, rules: str, line: int, message: str
) -> None:
    book, problems = check_rulebook(*write_book(tmp_path, rules))
    assert book is None
    [problem] = [p for p in problems if p.is_error]
    assert problem.file.endswith("rules/rules.yaml") and problem.line == line
    assert message in problem.message


def test_check_warns_when_a_typo_of_a_keyword_is_another_rules_keyword(tmp_path: Path) -> None:
    report = check(*write_book(tmp_path, EXACT_FIRST))
    assert report.ok
    warnings = [str(p).replace(str(tmp_path) + "/", "") for p in report.warnings]
    assert warnings == [
        "rules/rules.yaml:2: warning [rule prices]: with typos: true, the keyword 'prices' "
        "also matches 'price', a keyword of rule 'price' (rules/rules.yaml:6): a customer "
        "who misspells one of them may get the other rule's answer"
    ]


def test_responder_check_prints_the_collision(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    rules_dir, templates_dir = write_book(tmp_path, EXACT_FIRST)
    assert main(["check", "--rules", str(rules_dir), "--templates", str(templates_dir)]) == 0
    out = capsys.readouterr().out
    assert "warning [rule prices]: with typos: true, the keyword 'prices' also matches" in out
    assert "OK: 0 error(s), 1 warning(s)" in out


def test_no_collision_warning_without_typos(tmp_path: Path) -> None:
    rules = EXACT_FIRST.replace("    typos: true\n", "")
    report = check(*write_book(tmp_path, rules))
    assert report.ok and report.warnings == []


def test_a_compound_of_another_rules_keyword_is_a_collision_too(tmp_path: Path) -> None:
    rules = """
    rules:
      - name: free
        keywords: [gluten free]
        typos: true
        text: "Yes."
      - name: joined
        keywords: [glutenfree]
        text: "Also yes."
    """
    [warning] = check(*write_book(tmp_path, rules)).warnings
    assert "the keyword 'gluten free' also matches 'glutenfree', a keyword of rule 'joined'" in (
        warning.message
    )


def test_a_language_without_word_forms_is_a_warning(tmp_path: Path) -> None:
    rules = (
        "settings:\n  languages: [en, ms]\nrules:\n  - name: a\n    keywords: [harga]\n"
        "    word_forms: true\n    text: {en: hi, ms: hai}\n"
    )
    book, problems = check_rulebook(*write_book(tmp_path, rules))
    assert book is not None
    [warning] = problems
    assert (warning.line, warning.is_error) == (2, False)
    assert "no list of word forms for 'ms'" in warning.message


# -- the index on its own ------------------------------------------------------------------


def index_of(*keywords: str, forms: bool = True, typos: bool = True) -> ForgivingIndex:
    return ForgivingIndex(
        [(i, parse_keyword(k), forms, typos) for i, k in enumerate(keywords)], ("en", "es")
    )


def test_prefix_and_spaceless_keywords_are_matched_only_as_written() -> None:
    index = index_of("celiac*", "价格")
    assert len(index) == 0
    assert index.search(normalize("celaic 价")) == {}


def test_words_already_found_exactly_are_not_looked_for_again() -> None:
    index = index_of("celiac", "gluten free")
    assert set(index.search(normalize("celiacs and gluten fre"))) == {0, 1}
    assert set(index.search(normalize("celiacs and gluten fre"), skip={0})) == {1}


def test_a_message_word_is_remembered_with_what_it_stands_for() -> None:
    index = index_of("celiac")
    first = index.search("celiacs")
    assert index.search("celiacs") == first
    assert [m.explain() for m in first.values()] == ["matched 'celiacs' as a form of 'celiac'"]


def test_the_deletion_index_finds_exactly_what_comparing_every_keyword_finds() -> None:
    """The index (deletions of the first letters only) against the plain definition: every
    keyword within its allowance of optimal-string-alignment distance, and nothing else."""
    rng = random.Random(9)
    alphabet = "abcde"  # few letters, so that many words are close to each other
    keywords = sorted({"".join(rng.choices(alphabet, k=rng.randint(4, 12))) for _ in range(300)})
    index = index_of(*keywords, forms=False)

    def edited(word: str) -> str:
        for _ in range(rng.randint(0, 3)):
            at = rng.randrange(len(word))
            kind = rng.randrange(4)
            if kind == 0:
                word = word[:at] + rng.choice(alphabet) + word[at:]
            elif kind == 1 and len(word) > 1:
                word = word[:at] + word[at + 1 :]
            elif kind == 2:
                word = word[:at] + rng.choice(alphabet) + word[at + 1 :]
            elif at + 1 < len(word):
                word = word[:at] + word[at + 1] + word[at] + word[at + 2 :]
        return word

    for query in (edited(rng.choice(keywords)) for _ in range(1500)):
        expected = {
            i
            for i, kw in enumerate(keywords)
            if kw != query
            and OSA.distance(query, kw) <= min(word_allowance(kw), typo_allowance(kw))
        }
        assert set(index.search(query)) == expected, query
