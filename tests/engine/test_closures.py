"""Closed days and special hours (``settings: closed``) and the bot's quiet hours (``silent``)."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from responder.cli import main
from responder.engine.closures import parse_closed
from responder.engine.decide import decide
from responder.engine.loader import check_rulebook
from responder.engine.rulebook import RuleBook
from responder.model import Lead, LeadState, Message, Outcome
from tests.rulebooks import book_from, write_book

KL = ZoneInfo("Asia/Kuala_Lumpur")
NEW_YORK = ZoneInfo("America/New_York")

BOOK = """
settings:
  timezone: Asia/Kuala_Lumpur
  hours:
    office: "daily 09:00-18:00"
  closed:
    christmas: ["2026-12-24 13:00-24:00", 2026-12-25]
    chinese new year: "2027-02-17 to 2027-02-18"
  silent: "daily 23:00-07:00"
rules:
  - name: open
    keywords: [open]
    during: office
    text: "Yes, come in"
  - name: closed
    keywords: [open]
    outside: office
    text: "Sorry, we are closed"
  - name: hello
    keywords: [hello]
    text: "Hello"
"""


@pytest.fixture(scope="module")
def book(tmp_path_factory: pytest.TempPathFactory) -> RuleBook:
    return book_from(tmp_path_factory.mktemp("closures"), BOOK)


def answer(book: RuleBook, text: str, at: datetime, lead: Lead | None = None) -> tuple[str, str]:
    """The rule that answers (or the outcome when nothing is sent), and why."""
    decision = decide(
        Message(id="m1", text=text, received_at=at),
        lead or Lead(id="7"),
        book,
        LeadState(),
        at,
    )
    return (decision.rule.name if decision.replies and decision.rule else decision.outcome), (
        decision.why
    )


def kl(day: str, hhmm: str) -> datetime:
    return datetime.fromisoformat(f"{day}T{hhmm}").replace(tzinfo=KL)


@pytest.mark.parametrize(
    ("moment", "rule"),
    [
        (kl("2026-12-23", "10:00"), "open"),  # an ordinary day
        (kl("2026-12-24", "12:59"), "open"),  # Christmas Eve morning: open as usual
        (kl("2026-12-24", "13:00"), "closed"),  # ... closed from 13:00
        (kl("2026-12-25", "10:00"), "closed"),  # Christmas Day: closed all day
        (kl("2026-12-26", "10:00"), "open"),
        (kl("2027-02-17", "10:00"), "closed"),  # both days of a range
        (kl("2027-02-18", "17:00"), "closed"),
        (kl("2027-02-19", "10:00"), "open"),
    ],
)
def test_closed_days_turn_during_off_and_outside_on(
    book: RuleBook, moment: datetime, rule: str
) -> None:
    assert answer(book, "are you open?", moment)[0] == rule


def test_the_reason_names_the_closure_and_its_list(book: RuleBook) -> None:
    _, why = answer(book, "are you open?", kl("2026-12-25", "10:00"))
    assert why == (
        "keyword 'open', outside office (Fri 10:00 Asia/Kuala_Lumpur: closed, christmas: 2026-12-25)"
    )


def test_closed_dates_are_the_businesss_dates_in_any_zone(book: RuleBook) -> None:
    # 24 Dec 17:00 UTC is Christmas Day 01:00 in Kuala Lumpur but 12:00 on Christmas Eve in
    # New York: a New York lead is answered by the business's calendar, not its own.
    moment = datetime(2026, 12, 24, 17, 0, tzinfo=UTC)
    new_yorker = Lead(id="9", timezone="America/New_York")
    rule, why = answer(book, "are you open?", moment, new_yorker)
    assert rule == "closed"
    assert "closed, christmas: 2026-12-25" in why


def test_closures_are_read_in_the_leads_zone_when_the_book_names_none(tmp_path: Path) -> None:
    book = book_from(
        tmp_path,
        """
        settings:
          closed: ["2026-12-25"]
        rules:
          - name: open
            keywords: [open]
            during: "daily 00:00-24:00"
            text: "Open"
        """,
    )
    moment = datetime(2026, 12, 24, 17, 0, tzinfo=UTC)  # 02:00 on the 25th in Tokyo
    assert answer(book, "open?", moment)[0] == "open"  # UTC: still the 24th
    tokyo = Lead(id="9", timezone="Asia/Tokyo")
    assert answer(book, "open?", moment, tokyo)[0] == Outcome.NO_MATCH


def test_rules_without_hours_answer_on_closed_days(book: RuleBook) -> None:
    assert answer(book, "hello", kl("2026-12-25", "10:00"))[0] == "hello"


@pytest.mark.parametrize(
    "moment", [kl("2026-12-23", "23:00"), kl("2026-12-24", "03:30"), kl("2026-12-24", "06:59")]
)
def test_silent_hours_answer_nobody_and_say_so(book: RuleBook, moment: datetime) -> None:
    outcome, why = answer(book, "hello", moment)
    assert outcome == Outcome.SILENT
    assert why.startswith("keyword 'hello'; but the bot is silent daily 23:00-07:00 (now ")
    assert "Asia/Kuala_Lumpur)" in why


def test_outside_silent_hours_the_bot_answers(book: RuleBook) -> None:
    assert answer(book, "hello", kl("2026-12-24", "07:00"))[0] == "hello"
    assert answer(book, "hello", kl("2026-12-23", "22:59"))[0] == "hello"


def test_a_message_no_rule_matches_stays_unmatched_in_silent_hours(book: RuleBook) -> None:
    assert answer(book, "bye", kl("2026-12-23", "23:30"))[0] == Outcome.NO_MATCH


def test_a_closed_range_past_midnight_runs_into_the_next_day() -> None:
    closed = parse_closed(["2026-12-31 20:00-02:00"])
    assert closed.at(kl("2026-12-31", "19:59"), KL) is None
    assert closed.at(kl("2026-12-31", "23:00"), KL) == "2026-12-31 20:00-02:00"
    assert closed.at(kl("2027-01-01", "01:59"), KL) == "2026-12-31 20:00-02:00"
    assert closed.at(kl("2027-01-01", "02:00"), KL) is None


def test_a_closure_is_the_same_wall_clock_in_any_zone() -> None:
    closed = parse_closed([date(2026, 12, 25)])
    moment = datetime(2026, 12, 25, 3, 0, tzinfo=UTC)
    assert closed.at(moment, KL) == "2026-12-25"  # 11:00 on the 25th
    assert closed.at(moment, NEW_YORK) is None  # 22:00 on the 24th


@pytest.mark.parametrize(
    ("closed", "message"),
    [
        ('["2026-02-30"]', "'2026-02-30' is not a date: February 2026 has 28 days"),
        ('["2026-13-01"]', "'2026-13-01' is not a date: there is no month 13"),
        ('["25/12/2026"]', "'25/12/2026' is not a date: write dates as YYYY-MM-DD"),
        ('["2026-12-26 to 2026-12-24"]', "ends before it starts: write the earlier date first"),
        ('["2026-01-01 to 2027-06-01"]', "is longer than a year: check the years of both dates"),
        ('["2026-12-24 25:00-26:00"]', "'25:00' is not a time of day"),
        ('["2026-12-24 from 13:00"]', "is not a date or a range of dates"),
        ('{xmas: ["2026-12-32"]}', "in 'xmas': '2026-12-32' is not a date: December 2026 has 31"),
        ('[""]', "a 'closed' entry is empty"),
        ("7", "'closed' must list dates"),
    ],
)
def test_check_refuses_bad_closed_dates_with_the_line(
    tmp_path: Path, closed: str, message: str
) -> None:
    rules = f"settings:\n  timezone: UTC\n  closed: {closed}\nrules:\n  - name: hi\n    keywords: [hi]\n    text: Hi\n"
    book, problems = check_rulebook(*write_book(tmp_path, rules))
    assert book is None
    errors = [p for p in problems if p.is_error]
    assert len(errors) == 1, errors
    assert errors[0].line == 3
    assert message in errors[0].message


def test_check_refuses_bad_silent_hours(tmp_path: Path) -> None:
    rules = "settings:\n  silent: nightly\nrules:\n  - name: hi\n    keywords: [hi]\n    text: Hi\n"
    book, problems = check_rulebook(*write_book(tmp_path, rules))
    assert book is None
    assert [(p.line, p.message) for p in problems if p.is_error] == [
        (
            2,
            "'nightly' is not a day: use mon, tue, wed, thu, fri, sat, sun, a range like "
            "mon-fri, or daily",
        )
    ]


def test_try_at_shows_the_closure_and_the_rule_it_chose(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    rules_dir, templates_dir = write_book(tmp_path, BOOK)
    paths = ["--rules", str(rules_dir), "--templates", str(templates_dir)]
    main(["try", "are you open?", *paths, "--at", "2026-12-24 15:00"])
    out = capsys.readouterr().out
    assert "at:            Thu 24 Dec 2026 15:00 (Asia/Kuala_Lumpur)" in out
    assert "closed:        christmas: 2026-12-24 13:00-24:00 (every 'during' is off" in out
    assert "decided by:    closed" in out
    main(["try", "hello", *paths, "--at", "2026-12-24 23:30"])
    out = capsys.readouterr().out
    assert "no reply:      silent" in out
