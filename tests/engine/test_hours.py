from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from responder.engine.hours import load_timezone, parse_hours

KL = ZoneInfo("Asia/Kuala_Lumpur")
NEW_YORK = ZoneInfo("America/New_York")
LONDON = ZoneInfo("Europe/London")

# 2026-03-02 is a Monday; the week of checks below runs Monday 2 .. Sunday 8 March 2026.
DAY = {"mon": 2, "tue": 3, "wed": 4, "thu": 5, "fri": 6, "sat": 7, "sun": 8}


def local(day: str, hhmm: str, tz: ZoneInfo = KL) -> datetime:
    hour, minute = (int(part) for part in hhmm.split(":"))
    return datetime(2026, 3, DAY[day], hour, minute, tzinfo=tz)


@pytest.mark.parametrize(
    ("spec", "open_at", "closed_at"),
    [
        (
            "mon-fri 09:00-18:00, sat 09:00-13:00",
            [("mon", "09:00"), ("fri", "17:59"), ("sat", "12:30")],
            [("mon", "08:59"), ("mon", "18:00"), ("sat", "13:00"), ("sun", "10:00")],
        ),
        ("MON - FRI  9:00 - 18:00", [("wed", "09:00")], [("sat", "10:00")]),
        (
            "mon,wed,fri 08:00-12:00 14:00-17:30",
            [("wed", "08:00"), ("fri", "17:29")],
            [("tue", "09:00"), ("wed", "13:00"), ("fri", "17:30")],
        ),
        ("daily 00:00-24:00", [("sun", "00:00"), ("tue", "23:59")], []),
        ("every day 10:00-11:00", [("sat", "10:30"), ("sun", "10:30")], [("sun", "11:00")]),
        ("weekdays 09:00-17:00; weekends 10:00-12:00", [("sat", "11:00")], [("sat", "13:00")]),
        ("fri-mon 10:00-11:00", [("fri", "10:00"), ("mon", "10:00")], [("tue", "10:00")]),
        ("Monday\u2013Friday 09:00\u201318:00", [("thu", "12:00")], [("sun", "12:00")]),
        ("sat 20:00-24:00", [("sat", "23:59")], [("sun", "00:00")]),
    ],
)
def test_parse_hours_good_specs(
    spec: str, open_at: list[tuple[str, str]], closed_at: list[tuple[str, str]]
) -> None:
    hours = parse_hours(spec)
    assert hours.spec == spec
    for day, hhmm in open_at:
        assert hours.contains(local(day, hhmm), KL), f"{spec} should be open {day} {hhmm}"
    for day, hhmm in closed_at:
        assert not hours.contains(local(day, hhmm), KL), f"{spec} should be closed {day} {hhmm}"


@pytest.mark.parametrize(
    ("spec", "named"),
    [
        ("", "empty"),
        ("mon 25:00-26:00", "'25:00'"),
        ("mon 09:60-10:00", "'09:60'"),
        ("09:00-18:00", "'09:00-18:00' has no days before it"),
        ("mon-fri", "'mon-fri' has no hours after it"),
        ("mon-fri 09:00-18:00, sat", "'sat' has no hours after it"),
        ("mon-fri 09:00", "'09:00'"),
        ("funday 09:00-10:00", "'funday' is not a day"),
        ("mon 09:00-09:00", "'09:00-09:00'"),
        ("mon 24:00-02:00", "'24:00-02:00'"),
        ("mon 9-17", "'9-17'"),
        ("mon 9am-5pm", "'9am-5pm'"),
        ("mon @ 09:00-10:00", "'@'"),
        ("mon- 09:00-10:00", "'mon-' must be followed by a day"),
    ],
)
def test_parse_hours_names_the_bad_part(spec: str, named: str) -> None:
    with pytest.raises(ValueError) as caught:
        parse_hours(spec)
    assert named in str(caught.value)


def test_the_same_instant_is_open_in_one_zone_and_closed_in_another() -> None:
    hours = parse_hours("mon-fri 09:00-18:00")
    instant = datetime(2026, 3, 2, 3, 0, tzinfo=UTC)  # Mon 11:00 in KL, Sun 22:00 in New York
    assert hours.contains(instant, KL)
    assert not hours.contains(instant, NEW_YORK)


def test_london_spring_forward_keeps_nine_o_clock_local() -> None:
    hours = parse_hours("daily 09:00-18:00")
    # Clocks go forward on Sunday 2026-03-29: 09:00 is 09:00 UTC before, 08:00 UTC after.
    assert hours.contains(datetime(2026, 3, 28, 9, 0, tzinfo=UTC), LONDON)
    assert hours.contains(datetime(2026, 3, 29, 8, 0, tzinfo=UTC), LONDON)
    assert not hours.contains(datetime(2026, 3, 28, 8, 30, tzinfo=UTC), LONDON)
    assert hours.contains(datetime(2026, 3, 29, 8, 30, tzinfo=UTC), LONDON)
    assert not hours.contains(datetime(2026, 3, 29, 17, 0, tzinfo=UTC), LONDON)


def test_new_york_fall_back_keeps_nine_o_clock_local() -> None:
    hours = parse_hours("daily 09:00-18:00")
    # Clocks go back on Sunday 2026-11-01: 09:00 is 13:00 UTC before, 14:00 UTC after.
    assert hours.contains(datetime(2026, 10, 31, 13, 0, tzinfo=UTC), NEW_YORK)
    assert hours.contains(datetime(2026, 11, 1, 14, 0, tzinfo=UTC), NEW_YORK)
    assert hours.contains(datetime(2026, 10, 31, 13, 30, tzinfo=UTC), NEW_YORK)
    assert not hours.contains(datetime(2026, 11, 1, 13, 30, tzinfo=UTC), NEW_YORK)


def test_a_range_crossing_midnight_covers_the_next_morning() -> None:
    hours = parse_hours("fri 22:00-02:00")
    assert hours.contains(local("fri", "22:00"), KL)
    assert hours.contains(local("fri", "23:59"), KL)
    assert hours.contains(local("sat", "00:00"), KL)
    assert hours.contains(local("sat", "01:59"), KL)
    assert not hours.contains(local("sat", "02:00"), KL)
    assert not hours.contains(local("fri", "21:59"), KL)
    assert not hours.contains(local("thu", "23:00"), KL)
    assert not hours.contains(local("sat", "23:00"), KL)


def test_sunday_night_wraps_into_monday() -> None:
    hours = parse_hours("sun 23:00-01:00")
    assert hours.contains(datetime(2026, 3, 9, 0, 30, tzinfo=KL), KL)  # Monday 00:30
    assert not hours.contains(local("mon", "01:00"), KL)
    assert not hours.contains(local("sun", "00:30"), KL)


def test_contains_converts_an_instant_given_in_another_zone() -> None:
    hours = parse_hours("mon 09:00-10:00")
    at_in_new_york = local("mon", "09:30", KL).astimezone(NEW_YORK)
    assert hours.contains(at_in_new_york, KL)


def test_contains_refuses_a_naive_time() -> None:
    with pytest.raises(ValueError, match="time zone"):
        parse_hours("daily 09:00-18:00").contains(datetime(2026, 3, 2, 10, 0), KL)


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("Asia/Kuala_Lumpur", "Asia/Kuala_Lumpur"),
        ("asia/kuala lumpur", "Asia/Kuala_Lumpur"),
        (" Europe/London ", "Europe/London"),
        ("utc", "UTC"),
    ],
)
def test_load_timezone_finds_zones(name: str, expected: str) -> None:
    assert load_timezone(name).key == expected


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("Asia/KL", "'Asia/KL' is not a known time zone; use a name like Asia/Kuala_Lumpur"),
        ("Europe/Londn", "'Europe/Londn' is not a known time zone; use a name like Europe/London"),
        ("", "an empty name is not a known time zone"),
        ("America", "'America' is not a known time zone"),
        ("../../etc/passwd", "'../../etc/passwd' is not a known time zone"),
    ],
)
def test_load_timezone_refuses_unknown_names(name: str, message: str) -> None:
    with pytest.raises(ValueError) as caught:
        load_timezone(name)
    assert message in str(caught.value)
