"""Single values read from the platform's JSON: only what can be stored and computed with."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from responder.platform import values

CUT = "\ud83d"  # half of an emoji's surrogate pair


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (r'"a\ud83d"', "a\ufffd"),  # a lone high surrogate
        (r'"\ude00b"', "\ufffdb"),  # a lone low surrogate
        (r'"\uD83D\uDE00"', "😀"),  # a pair, in capitals: the character it encodes
        (r'"\ud83d\ud83d\ude00"', "\ufffd😀"),  # a lone one, then a pair
        (r'"\\ud83d"', "\\ud83d"),  # an escaped backslash, then plain letters
        (r'"\\\ud83d"', "\\\ufffd"),  # an escaped backslash, then a lone surrogate
        (r'{"\ud83d": ["\udfff"]}', {"\ufffd": ["\ufffd"]}),  # keys and nested values too
        (r'"\u00e9\"\ud83d"', 'é"\ufffd'),
    ],
)
def test_load_json_replaces_lone_surrogates_only(text: str, expected: object) -> None:
    loaded = values.load_json(text)
    assert loaded == expected
    json.dumps(loaded, ensure_ascii=False).encode("utf-8")  # encodable: no surrogate left


def test_load_json_refuses_integers_longer_than_python_reads() -> None:
    assert values.load_json("[" + "9" * 4300 + "]") == [int("9" * 4300)]
    with pytest.raises(values.UnreadableJson, match="number too long"):
        values.load_json("[" + "9" * 4301 + "]")


@pytest.mark.parametrize("depth", [values.MAX_DEPTH + 1, 5000])
def test_load_json_refuses_deep_nesting(depth: int) -> None:
    assert values.load_json("[" * values.MAX_DEPTH + "]" * values.MAX_DEPTH) is not None
    with pytest.raises(values.UnreadableJson, match="nested more than 32 levels"):
        values.load_json('{"a":' * depth + "1" + "}" * depth)


def test_load_json_refuses_what_is_not_json() -> None:
    with pytest.raises(values.UnreadableJson, match="is not valid JSON"):
        values.load_json("{not json")


def test_text_and_identifier_are_valid_unicode() -> None:
    assert values.text(f" Ana{CUT} ") == "Ana\ufffd"
    assert values.identifier(f"m-{CUT}") == "m-\ufffd"


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (42, "42"),
        (-7, "-7"),
        (2**63 - 1, str(2**63 - 1)),
        (2**63, ""),
        (10**40, ""),
        (True, ""),
        (1.5, ""),
        (" ab ", "ab"),
        ("x" * values.MAX_ID_LENGTH, "x" * values.MAX_ID_LENGTH),
        ("x" * (values.MAX_ID_LENGTH + 1), ""),
        (None, ""),
    ],
)
def test_identifier_takes_only_plausible_ids(value: object, expected: str) -> None:
    assert values.identifier(value) == expected


@pytest.mark.parametrize(
    ("value", "plain"),
    [
        ("4321", True),
        ("lead_7-b.c:d@e+f", True),
        ("x" * 128, True),
        ("x" * 129, False),
        (".", False),
        ("..", False),
        ("...", False),
        ("a/b", False),
        ("a?b", False),
        ("a#b", False),
        ("a%2Fb", False),
        ("a b", False),
        ("a\nb", False),
        ("é", False),
        ("١٢٣", False),
        ("", False),
    ],
)
def test_plain_identifier(value: str, plain: bool) -> None:
    assert values.plain_identifier(value) is plain


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (123, 123),
        (" 123 ", 123),
        (0, 0),
        (-1, None),
        (2**63, None),
        ("9" * 30, None),
        ("²", None),  # a digit to str.isdigit, not to int()
        ("١٢٣", None),  # Arabic-Indic digits: int() reads them, an id should not have them
        ("12a", None),
        (True, None),
        (1.0, None),
    ],
)
def test_integer_takes_only_plausible_ids(value: object, expected: int | None) -> None:
    assert values.integer(value) == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2024-05-15T03:00:00Z", datetime(2024, 5, 15, 3, tzinfo=UTC)),
        ("2024-05-15T11:00:00+08:00", datetime(2024, 5, 15, 3, tzinfo=UTC)),
        ("2024-05-15T03:00:00", datetime(2024, 5, 15, 3, tzinfo=UTC)),
        (1715742000, datetime(2024, 5, 15, 3, tzinfo=UTC)),
        (1715742000000, datetime(2024, 5, 15, 3, tzinfo=UTC)),
        ("1715742000.5", datetime(2024, 5, 15, 3, 0, 0, 500000, tzinfo=UTC)),
        ("2000-01-01T00:00:00Z", values.EARLIEST),
        ("2100-01-01T00:00:00Z", values.LATEST),
        ("1999-12-31T23:59:59Z", None),
        ("2100-01-01T00:00:01Z", None),
        ("9999-12-31T23:59:59Z", None),
        ("0001-01-01T00:00:00+14:00", None),  # before year 1 in UTC
        ("9999-12-31T23:59:59-12:00", None),  # after year 9999 in UTC
        (0, None),
        (-1, None),
        (1e300, None),
        (float("inf"), None),
        (float("nan"), None),
        ("nan", None),
        ("soon", None),
        (True, None),
    ],
)
def test_time_is_plausible_or_none(value: object, expected: datetime | None) -> None:
    assert values.time(value) == expected
