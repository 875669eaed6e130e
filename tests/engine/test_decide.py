"""decide(): which rule answers, in which order, and when nothing is sent."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from responder.engine.decide import decide
from responder.engine.rulebook import RuleBook
from responder.model import Lead, LeadState, Message, Outcome
from tests.rulebooks import book_from

# Wednesday 25 November 2026, 11:00 in Kuala Lumpur (UTC+8).
NOW = datetime(2026, 11, 25, 3, 0, tzinfo=UTC)
RETURNING = LeadState(first_seen=NOW - timedelta(days=3))
LEAD = Lead(id="7", name="Aisyah Rahman", locale="en", tags=("pricing-page",))

BOOK = """
settings:
  timezone: Asia/Kuala_Lumpur
  cooldown: 6h
  hours:
    office: "mon-fri 09:00-18:00"
rules:
  - name: human
    keywords: [agent, human]
    text: "A person will answer"
    pause: 24h
  - name: pricing
    keywords: [price, how much, cost*]
    exclude: [delivery]
    text: "Prices for {{ lead.first_name | default('you', true) }}"
  - name: refund
    all: [refund, broken]
    text: "Refund"
  - name: order
    regex: 'order\\s*#?(?P<order>\\d{5})'
    text: "Order {{ match.order }}"
  - name: vip
    keywords: [vip]
    tags: [gold]
    text: "VIP"
  - name: malay
    keywords: [harga]
    locales: [ms]
    text: "Harga"
  - name: sms-only
    keywords: [sms]
    channels: [sms]
    text: "SMS"
  - name: night
    outside: office
    text: "We are closed"
  - name: welcome
    first_message: true
    text: "Welcome"
  - name: fallback
    fallback: true
    text: "Sorry?"
"""


@pytest.fixture(scope="module")
def book(tmp_path_factory: pytest.TempPathFactory) -> RuleBook:
    return book_from(tmp_path_factory.mktemp("book"), BOOK)


def run(
    book: RuleBook,
    text: str,
    *,
    lead: Lead = LEAD,
    state: LeadState = RETURNING,
    now: datetime = NOW,
    channel: str = "whatsapp",
):  # type: ignore[no-untyped-def]
    return decide(Message(text=text, channel=channel, received_at=now), lead, book, state, now)


@pytest.mark.parametrize(
    ("text", "rule"),
    [
        ("How much is it?", "pricing"),
        ("what does it COST", "pricing"),
        ("the costs?", "pricing"),
        ("price of delivery", "fallback"),  # excluded
        ("my broken thing, refund please", "refund"),
        ("refund please", "fallback"),  # `all` needs both
        ("where is order #12345", "order"),
        ("I want a human, and the price", "human"),  # first rule in order wins
        ("vip", "fallback"),  # tag missing
        ("harga", "fallback"),  # locale en
        ("sms", "fallback"),  # channel whatsapp
        ("hello", "fallback"),
    ],
)
def test_first_matching_rule_decides(book: RuleBook, text: str, rule: str) -> None:
    decision = run(book, text)
    assert decision.rule is not None and decision.rule.name == rule
    assert decision.replies


def test_the_reply_is_rendered_with_the_lead_and_match(book: RuleBook) -> None:
    assert run(book, "order 54321").reply == "Order 54321"
    assert run(book, "price?").reply == "Prices for Aisyah"
    assert run(book, "price?", lead=Lead(id="8")).reply == "Prices for you"


def test_why_names_the_keyword(book: RuleBook) -> None:
    assert run(book, "How much?").why == "keyword 'how much'"
    assert "order=12345" in run(book, "order 12345").why


def test_tags_locales_and_channels_select_rules(book: RuleBook) -> None:
    assert run(book, "vip", lead=Lead(id="1", tags=("gold",))).rule.name == "vip"  # type: ignore[union-attr]
    assert run(book, "harga", lead=Lead(id="1", locale="ms-MY")).rule.name == "malay"  # type: ignore[union-attr]
    assert run(book, "sms", channel="SMS").rule.name == "sms-only"  # type: ignore[union-attr]


def test_near_misses_explain_rules_that_almost_answered(book: RuleBook) -> None:
    decision = run(book, "price of delivery")
    assert decision.near_misses == ("pricing: excluded by 'delivery'",)


def test_business_hours_are_read_in_the_leads_timezone(book: RuleBook) -> None:
    # 11:00 in Kuala Lumpur is 22:00 the evening before in New York: outside office hours there.
    assert run(book, "hello").rule.name == "fallback"  # type: ignore[union-attr]
    new_yorker = Lead(id="9", timezone="America/New_York")
    assert run(book, "hello", lead=new_yorker).rule.name == "night"  # type: ignore[union-attr]
    # An unknown timezone falls back to the settings' zone.
    assert run(book, "hello", lead=Lead(id="9", timezone="Mars/Base")).rule.name == "fallback"  # type: ignore[union-attr]


def test_first_message_rule_only_for_the_first_message(book: RuleBook) -> None:
    assert run(book, "hello", state=LeadState()).rule.name == "welcome"  # type: ignore[union-attr]
    same = LeadState(first_seen=NOW)  # this very message was recorded as the first
    assert run(book, "hello", state=same).rule.name == "welcome"  # type: ignore[union-attr]
    assert run(book, "hello", state=RETURNING).rule.name == "fallback"  # type: ignore[union-attr]


def test_cooldown_does_not_fall_through(book: RuleBook) -> None:
    state = LeadState(
        first_seen=RETURNING.first_seen, last_reply={"pricing": NOW - timedelta(hours=1)}
    )
    decision = run(book, "price?", state=state)
    assert decision.outcome is Outcome.COOLDOWN
    assert decision.rule is not None and decision.rule.name == "pricing"
    assert decision.reply == ""
    later = run(book, "price?", state=state, now=NOW + timedelta(hours=5, minutes=1))
    assert later.replies


def test_pause_does_not_fall_through(book: RuleBook) -> None:
    state = LeadState(first_seen=RETURNING.first_seen, paused_until=NOW + timedelta(hours=1))
    decision = run(book, "price?", state=state)
    assert decision.outcome is Outcome.PAUSED and decision.rule.name == "pricing"  # type: ignore[union-attr]
    assert run(book, "price?", state=state, now=NOW + timedelta(hours=2)).replies


def test_fallback_only_when_nothing_matched(book: RuleBook) -> None:
    state = LeadState(first_seen=RETURNING.first_seen, last_reply={"pricing": NOW})
    assert run(book, "price", state=state).outcome is Outcome.COOLDOWN  # not the fallback
    assert run(book, "nothing known").rule.name == "fallback"  # type: ignore[union-attr]


def test_no_match_without_a_fallback(tmp_path: Path) -> None:
    book = book_from(tmp_path, "rules:\n  - name: a\n    keywords: [price]\n    text: x\n")
    decision = run(book, "hello")
    assert decision.outcome is Outcome.NO_MATCH and decision.rule is None


def test_a_template_that_fails_gives_failed_not_an_exception(tmp_path: Path) -> None:
    book = book_from(
        tmp_path, 'rules:\n  - name: a\n    keywords: [x1]\n    text: "{{ 1 // 0 }}"\n'
    )
    decision = run(book, "x1")
    assert decision.outcome is Outcome.FAILED
    assert "template" in decision.why or "divide" in decision.why or "zero" in decision.why


def test_locale_variant_of_a_template_is_chosen(tmp_path: Path) -> None:
    book = book_from(
        tmp_path,
        "rules:\n  - name: a\n    keywords: [hours]\n    reply: hours\n",
        {"hours.j2": "Open 9-5", "hours.ms.j2": "Buka 9-5", "hours.ms-MY.j2": "Buka 9-5 (MY)"},
    )
    assert run(book, "hours", lead=Lead(id="1", locale="ms-MY")).reply == "Buka 9-5 (MY)"
    assert run(book, "hours", lead=Lead(id="1", locale="ms_BN")).reply == "Buka 9-5"
    assert run(book, "hours", lead=Lead(id="1", locale="fr")).reply == "Open 9-5"
    assert run(book, "hours", lead=Lead(id="1")).reply == "Open 9-5"


def test_matching_many_rules_picks_the_earliest(tmp_path: Path) -> None:
    rules = "rules:\n" + "".join(
        f'  - name: r{i}\n    keywords: [word{i}, shared]\n    text: "{i}"\n' for i in range(300)
    )
    book = book_from(tmp_path, rules)
    assert run(book, "word299 and word150").reply == "150"
    assert run(book, "shared").reply == "0"


def test_a_zero_cooldown_answers_every_time(tmp_path: Path) -> None:
    book = book_from(
        tmp_path,
        "settings:\n  cooldown: 0s\nrules:\n  - name: a\n    keywords: [hi]\n    text: x\n",
    )
    state = LeadState(first_seen=RETURNING.first_seen, last_reply={"a": NOW})
    assert run(book, "hi", state=state).replies
