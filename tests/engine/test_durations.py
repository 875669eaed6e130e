from datetime import timedelta

import pytest

from responder.engine.durations import format_duration, parse_duration


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("90s", timedelta(seconds=90)),
        ("30m", timedelta(minutes=30)),
        ("6h", timedelta(hours=6)),
        ("2d", timedelta(days=2)),
        ("1h30m", timedelta(hours=1, minutes=30)),
        ("1d2h3m4s", timedelta(days=1, hours=2, minutes=3, seconds=4)),
        (" 1H 30M ", timedelta(hours=1, minutes=30)),
        ("2 days", timedelta(days=2)),
        ("6 hours", timedelta(hours=6)),
        ("30 min", timedelta(minutes=30)),
        ("1 hour 15 minutes", timedelta(hours=1, minutes=15)),
        ("1.5h", timedelta(hours=1, minutes=30)),
        ("0s", timedelta(0)),
    ],
)
def test_parse_duration_reads_what_authors_write(text: str, expected: timedelta) -> None:
    assert parse_duration(text) == expected


@pytest.mark.parametrize(
    ("value", "fragment"),
    [
        ("6x", "'6x' is not a duration: write a number and a unit, like 90s, 30m, 6h or 2d"),
        ("h", "'h' is not a duration"),
        ("", "an empty value is not a duration"),
        (None, "an empty value is not a duration"),
        ("-5m", "'-5m' is not a duration"),
        ("6 months", "'6 months' is not a duration"),
        ("30m1h", "write the largest unit first"),
        ("1h2h", "gives the hours twice"),
        (True, "'True' is not a duration"),
        (["6h"], "is not a duration"),
        ("9" * 30 + "d", "too long for a duration"),
    ],
)
def test_parse_duration_refuses_with_a_sentence(value: object, fragment: str) -> None:
    with pytest.raises(ValueError, match=r"not a duration|too long") as caught:
        parse_duration(value)
    assert fragment in str(caught.value)


@pytest.mark.parametrize("value", [6, "6", 6.0])
def test_a_bare_number_is_refused_and_a_unit_is_suggested(value: object) -> None:
    with pytest.raises(ValueError) as caught:
        parse_duration(value)
    message = str(caught.value)
    assert message.startswith("6")
    assert "is not a duration" in message
    assert "like 6h" in message or "like 6.0h" in message


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (timedelta(hours=6), "6h"),
        (timedelta(hours=1, minutes=30), "1h30m"),
        (timedelta(seconds=90), "1m30s"),
        (timedelta(days=2), "2d"),
        (timedelta(days=1, seconds=5), "1d5s"),
        (timedelta(0), "0s"),
        (timedelta(seconds=1, milliseconds=500), "1.5s"),
    ],
)
def test_format_duration_writes_the_short_form(value: timedelta, expected: str) -> None:
    assert format_duration(value) == expected
    assert parse_duration(format_duration(value)) == value


def test_format_duration_refuses_negative_durations() -> None:
    with pytest.raises(ValueError, match="negative"):
        format_duration(timedelta(minutes=-1))
