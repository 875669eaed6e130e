"""Business hours (``mon-fri 09:00-18:00, sat 09:00-13:00``) and time zones.

The text is a list of days followed by one or more time ranges, repeated as often as needed::

    mon-fri 09:00-18:00, sat 09:00-13:00
    mon,wed,fri 08:00-12:00 14:00-17:30
    daily 00:00-24:00
    fri 22:00-02:00                 Friday 22:00 until Saturday 02:00

Days are ``mon`` .. ``sun`` (full names work too), ranges of days (``mon-fri``, and ``fri-mon``
wraps over the weekend), ``daily`` / ``every day``, ``weekdays`` (mon-fri) and ``weekends``
(sat-sun). Times are 24-hour ``HH:MM``; ``24:00`` may end a range. A range whose end is
earlier than its start runs past midnight into the next day. Commas and semicolons separate
parts; case and spaces do not matter. A range includes its start minute and excludes its
end (``09:00-18:00`` is open at 17:59:59 and closed at 18:00).

Hours are wall-clock times in the zone passed to :meth:`BusinessHours.contains`, so
``09:00`` is nine in the morning on both sides of a daylight-saving change even though the
UTC offset moved.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import lru_cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

__all__ = ["BusinessHours", "load_timezone", "parse_hours", "parse_times", "show_moment"]

_DAY_SECONDS = 86_400
# The names of each weekday, Monday first.
_DAY_NAMES = (
    "mon monday",
    "tue tues tuesday",
    "wed weds wednesday",
    "thu thur thurs thursday",
    "fri friday",
    "sat saturday",
    "sun sunday",
)
_DAYS = {name: day for day, names in enumerate(_DAY_NAMES) for name in names.split()}
_DAY_GROUPS = {
    "daily": range(7),
    "everyday": range(7),
    "weekdays": range(5),
    "weekends": range(5, 7),
}
_EXAMPLE = "like mon-fri 09:00-18:00, sat 09:00-13:00"

# One token at a time: a time, a word, a dash (plain, en or em dash) or a separator.
_TOKEN = re.compile(
    r"\s*(?:(?P<time>\d{1,2}[:.]\d{2})|(?P<word>[a-z]+)|(?P<dash>[-\u2013\u2014])|(?P<sep>[,;]))",
    re.IGNORECASE,
)

Interval = tuple[int, int]  # seconds since local midnight, start inclusive, end exclusive


@dataclass(frozen=True, slots=True)
class BusinessHours:
    """Opening hours, parsed from ``spec`` by :func:`parse_hours`.

    ``week`` holds, for each weekday (0 = Monday), the open intervals in seconds since local
    midnight.
    """

    spec: str
    week: tuple[tuple[Interval, ...], ...] = field(repr=False)

    def contains(self, at: datetime, tz: ZoneInfo) -> bool:
        """True when the wall clock in ``tz`` at instant ``at`` is within the hours.

        ``at`` must be timezone-aware (any zone; it is converted). Raises ValueError for a
        naive datetime, whose instant is unknown.
        """
        if at.tzinfo is None or at.utcoffset() is None:
            raise ValueError("business hours need a time with a time zone, got a naive one")
        local = at.astimezone(tz)
        moment = local.hour * 3_600 + local.minute * 60 + local.second
        return any(start <= moment < end for start, end in self.week[local.weekday()])

    def __str__(self) -> str:
        return self.spec


@dataclass(slots=True)
class _Token:
    kind: str
    text: str
    value: str


def parse_hours(spec: str) -> BusinessHours:
    """Read business hours such as ``mon-fri 09:00-18:00, sat 09:00-13:00``.

    Raises ValueError with a sentence naming the part that could not be read, e.g.
    ``'25:00' is not a time of day: use HH:MM between 00:00 and 24:00``.
    """
    if not isinstance(spec, str):
        raise ValueError(f"business hours must be written as text, {_EXAMPLE}")
    if not spec.strip():
        raise ValueError(f"the business hours are empty: write them {_EXAMPLE}")
    tokens = _tokenize(spec)
    week: list[list[Interval]] = [[] for _ in range(7)]
    pending: list[int] = []  # days read, waiting for their first time range
    current: list[int] = []  # days the latest time range applied to
    last_days_text = ""
    index = 0
    while index < len(tokens):
        token = tokens[index]
        if token.kind == "sep":
            index += 1
        elif token.kind == "word":
            days, index, text = _read_days(tokens, index)
            pending.extend(days)
            last_days_text = text if len(pending) == len(days) else f"{last_days_text},{text}"
        elif token.kind == "time":
            (start, end), index, text = _read_range(tokens, index)
            days = pending or current
            if not days:
                raise ValueError(f"'{text}' has no days before it: say which days, {_EXAMPLE}")
            current, pending = days, []
            for day in days:
                _add_range(week, day, start, end)
        else:
            raise ValueError(
                f"'{token.text.strip()}' is out of place in '{spec.strip()}': write the hours "
                f"{_EXAMPLE}"
            )
    if pending:
        raise ValueError(
            f"'{last_days_text}' has no hours after it: add them, like {last_days_text} 09:00-13:00"
        )
    return BusinessHours(spec=spec, week=tuple(tuple(sorted(day)) for day in week))


def parse_times(text: str) -> tuple[Interval, ...]:
    """Time ranges without days (``13:00-24:00``, ``09:00-12:00 14:00-17:30``).

    Each range comes back as written, in seconds since midnight: one whose end is earlier than
    its start (``22:00-02:00``) runs past midnight, and the caller decides which day that is.
    Raises ValueError with the same sentences as :func:`parse_hours`.
    """
    tokens = _tokenize(text)
    ranges: list[Interval] = []
    index = 0
    while index < len(tokens):
        token = tokens[index]
        if token.kind == "sep":
            index += 1
        elif token.kind == "time":
            (start, end), index, _ = _read_range(tokens, index)
            ranges.append((start, end))
        else:
            raise ValueError(
                f"'{token.text}' is out of place in '{text.strip()}': write times like 13:00-24:00"
            )
    if not ranges:
        raise ValueError(f"'{text.strip()}' has no times: write them like 13:00-24:00")
    return tuple(ranges)


def _tokenize(spec: str) -> list[_Token]:
    tokens: list[_Token] = []
    position = 0
    while position < len(spec):
        if not spec[position:].strip():
            break
        match = _TOKEN.match(spec, position)
        if match is None:
            bad = spec[position:].split(None, 1)[0]
            if bad[0].isdigit():
                raise ValueError(
                    f"'{bad}' in the business hours is not a time range: write times as HH:MM, "
                    f"like 09:00-18:00"
                )
            raise ValueError(
                f"'{bad}' in the business hours is not a day or a time: write them {_EXAMPLE}"
            )
        kind = match.lastgroup or ""
        tokens.append(_Token(kind, match.group(0).strip(), match.group(kind).lower()))
        position = match.end()
    return _join_every_day(tokens)


def _join_every_day(tokens: list[_Token]) -> list[_Token]:
    joined: list[_Token] = []
    for token in tokens:
        previous = joined[-1] if joined else None
        if previous and previous.value == "every" and token.value in ("day", "days"):
            joined[-1] = _Token("word", f"{previous.text} {token.text}", "everyday")
        else:
            joined.append(token)
    return joined


def _read_days(tokens: list[_Token], index: int) -> tuple[list[int], int, str]:
    first = tokens[index]
    if first.value in _DAY_GROUPS:
        return list(_DAY_GROUPS[first.value]), index + 1, first.text
    start = _day(first)
    if index + 1 < len(tokens) and tokens[index + 1].kind == "dash":
        if index + 2 >= len(tokens) or tokens[index + 2].kind != "word":
            raise ValueError(f"'{first.text}-' must be followed by a day, like mon-fri")
        end = _day(tokens[index + 2])
        days = [(start + offset) % 7 for offset in range((end - start) % 7 + 1)]
        return days, index + 3, f"{first.text}-{tokens[index + 2].text}"
    return [start], index + 1, first.text


def _day(token: _Token) -> int:
    day = _DAYS.get(token.value)
    if day is None:
        raise ValueError(
            f"'{token.text}' is not a day: use mon, tue, wed, thu, fri, sat, sun, "
            f"a range like mon-fri, or daily"
        )
    return day


def _read_range(tokens: list[_Token], index: int) -> tuple[Interval, int, str]:
    first = tokens[index]
    if (
        index + 2 >= len(tokens)
        or tokens[index + 1].kind != "dash"
        or tokens[index + 2].kind != "time"
    ):
        raise ValueError(
            f"'{first.text}' must be the start of a range with its end, like 09:00-18:00"
        )
    last = tokens[index + 2]
    text = f"{first.text}-{last.text}"
    start, end = _seconds(first.value), _seconds(last.value)
    if start == _DAY_SECONDS:
        raise ValueError(f"'{text}' starts at 24:00: start at 00:00 of the next day instead")
    if start == end:
        raise ValueError(
            f"'{text}' starts and ends at the same time: for the whole day write 00:00-24:00"
        )
    return (start, end), index + 3, text


def _seconds(text: str) -> int:
    hours, minutes = (int(part) for part in re.split(r"[:.]", text))
    if minutes > 59 or hours > 24 or (hours == 24 and minutes):
        raise ValueError(f"'{text}' is not a time of day: use HH:MM between 00:00 and 24:00")
    return hours * 3_600 + minutes * 60


def _add_range(week: list[list[Interval]], day: int, start: int, end: int) -> None:
    if end > start:
        week[day].append((start, end))
        return
    week[day].append((start, _DAY_SECONDS))
    if end:
        week[(day + 1) % 7].append((0, end))


def load_timezone(name: str) -> ZoneInfo:
    """The IANA time zone called ``name`` (``Asia/Kuala_Lumpur``).

    Case and spaces in place of underscores are forgiven (``asia/kuala lumpur``). Raises
    ValueError with a sentence when no such zone exists, suggesting the closest name when one
    is close enough: ``'Asia/KL' is not a known time zone; use a name like Asia/Kuala_Lumpur``.
    """
    cleaned = name.strip() if isinstance(name, str) else ""
    if cleaned:
        try:
            return ZoneInfo(cleaned)
        except (ZoneInfoNotFoundError, ValueError, OSError):
            pass
        canonical = _zone_names().get(cleaned.replace(" ", "_").lower())
        if canonical is not None:
            return ZoneInfo(canonical)
    shown = f"'{name}'" if cleaned or not isinstance(name, str) else "an empty name"
    close = difflib.get_close_matches(
        cleaned.replace(" ", "_").lower(), list(_zone_names()), n=1, cutoff=0.85
    )
    example = _zone_names()[close[0]] if close else "Asia/Kuala_Lumpur"
    raise ValueError(f"{shown} is not a known time zone; use a name like {example}")


def show_moment(moment: datetime, zone: ZoneInfo | None) -> str:
    """``moment`` as a person reads it, in ``zone`` (UTC when None), naming the zone.

    ``Wed 25 Nov 2026 11:00 (Asia/Kuala_Lumpur)``; seconds are shown only when there are
    some (``11:00:15``). A moment without a zone is taken as UTC.
    """
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    local = moment.astimezone(zone or UTC)
    # Written out by hand: the same English names whatever the machine's locale, and three
    # times faster than strftime on the path of every held-back decision.
    seconds = f":{local.second:02d}" if local.second else ""
    return (
        f"{_DAY_NAMES[local.weekday()]} {local.day:02d} {_MONTH_NAMES[local.month - 1]} "
        f"{local.year} {local.hour:02d}:{local.minute:02d}{seconds} "
        f"({zone.key if zone else 'UTC'})"
    )


_DAY_NAMES = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_MONTH_NAMES = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


@lru_cache(maxsize=1)
def _zone_names() -> dict[str, str]:
    # Only reached for names that did not load as written; listing the zones reads the disk.
    return {zone.lower(): zone for zone in available_timezones()}
