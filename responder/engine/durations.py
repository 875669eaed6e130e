"""Durations as rule authors write them: ``90s``, ``30m``, ``6h``, ``2d``, ``1h30m``.

A duration is one or more parts, each a number followed by a unit, largest unit first and
every unit at most once. Units are ``d`` (days), ``h`` (hours), ``m`` (minutes) and ``s``
(seconds); the spelled-out forms (``2 days``, ``30 min``, ``6 hours``, ``90 seconds``) are
accepted too. Case and spaces do not matter (``1H 30M`` is ``1h30m``) and a number may have a
decimal point (``1.5h`` is ``1h30m``). ``m`` always means minutes, never months.

A bare number (YAML reads ``cooldown: 6`` as the integer 6) is refused rather than guessed:
the author is told to add a unit, which is how ``6`` seconds never silently replaces the
intended ``6h``.
"""

from __future__ import annotations

import re
from datetime import timedelta

__all__ = ["format_duration", "parse_duration"]

_UNIT_SECONDS = {"d": 86_400, "h": 3_600, "m": 60, "s": 1}
_UNIT_NAMES = {
    "d": "d",
    "day": "d",
    "days": "d",
    "h": "h",
    "hr": "h",
    "hrs": "h",
    "hour": "h",
    "hours": "h",
    "m": "m",
    "min": "m",
    "mins": "m",
    "minute": "m",
    "minutes": "m",
    "s": "s",
    "sec": "s",
    "secs": "s",
    "second": "s",
    "seconds": "s",
}
_UNIT_ORDER = "dhms"
_PART = re.compile(r"\s*(\d+(?:\.\d+)?)\s*([a-z]+)\s*")
_BARE_NUMBER = re.compile(r"\s*\d+(?:\.\d+)?\s*")
_EXAMPLES = "like 90s, 30m, 6h or 2d"


def parse_duration(value: object) -> timedelta:
    """Read a duration written in a rule file.

    ``value`` is what YAML produced: a string such as ``"1h30m"``; anything else is refused.
    Zero (``0s``) is a valid duration; whether it makes sense is the caller's business.

    Raises ValueError with a sentence meant for the rule author, naming what was written,
    e.g. ``'6x' is not a duration: write a number and a unit, like 90s, 30m, 6h or 2d``.
    A bare number is refused with a hint: ``6 is not a duration: add a unit, like 6h ...``.
    """
    if isinstance(value, bool) or value is None:
        shown = "an empty value" if value is None else f"'{value}'"
        raise ValueError(f"{shown} is not a duration: write a number and a unit, {_EXAMPLES}")
    if isinstance(value, int | float):
        raise ValueError(_bare_number_message(str(value)))
    if not isinstance(value, str):
        raise ValueError(f"'{value}' is not a duration: write a number and a unit, {_EXAMPLES}")
    text = value.strip()
    if not text:
        raise ValueError(
            f"an empty value is not a duration: write a number and a unit, {_EXAMPLES}"
        )
    if _BARE_NUMBER.fullmatch(text):
        raise ValueError(_bare_number_message(text))
    return _parse_parts(text)


def _parse_parts(text: str) -> timedelta:
    lowered = text.lower()
    position = 0
    seconds = 0.0
    seen: list[str] = []
    while position < len(lowered):
        part = _PART.match(lowered, position)
        unit = _UNIT_NAMES.get(part.group(2)) if part else None
        if part is None or unit is None:
            raise ValueError(f"'{text}' is not a duration: write a number and a unit, {_EXAMPLES}")
        if unit in seen:
            raise ValueError(
                f"'{text}' is not a duration: it gives the {_unit_word(unit)} twice; "
                f"write each unit once, like 1h30m"
            )
        if seen and _UNIT_ORDER.index(unit) < _UNIT_ORDER.index(seen[-1]):
            raise ValueError(
                f"'{text}' is not a duration: write the largest unit first, like 1h30m"
            )
        seen.append(unit)
        seconds += float(part.group(1)) * _UNIT_SECONDS[unit]
        position = part.end()
    try:
        return timedelta(seconds=seconds)
    except OverflowError:
        raise ValueError(f"'{text}' is too long for a duration") from None


def _bare_number_message(number: str) -> str:
    number = number.strip()
    return (
        f"{number} is not a duration: add a unit, like {number}h for hours "
        f"(or {number}m for minutes, {number}s for seconds, {number}d for days)"
    )


def _unit_word(unit: str) -> str:
    return {"d": "days", "h": "hours", "m": "minutes", "s": "seconds"}[unit]


def format_duration(value: timedelta) -> str:
    """Write ``value`` the way :func:`parse_duration` reads it: ``6h``, ``1h30m``, ``1m30s``.

    Zero is ``0s``; a fraction of a second is kept as decimals (``1.5s``). The result parses
    back to the same duration. Raises ValueError for a negative duration, which rule files
    cannot express.
    """
    if value < timedelta(0):
        raise ValueError(f"a negative duration ({value}) cannot be written in a rule file")
    whole = value.days * 86_400 + value.seconds
    parts: list[str] = []
    for unit in "dhm":
        count, whole = divmod(whole, _UNIT_SECONDS[unit])
        if count:
            parts.append(f"{count}{unit}")
    if value.microseconds:
        fraction = f"{value.microseconds / 1_000_000:.6f}".rstrip("0").lstrip("0")
        parts.append(f"{whole}{fraction}s")
    elif whole or not parts:
        parts.append(f"{whole}s")
    return "".join(parts)
