"""Closed days and special hours: ``settings: closed``.

``closed`` lists dates on which the business is shut, whole days or part of a day, in the
business's time zone; it is either a list, or named lists (a holiday calendar under a name the
reasons repeat)::

    closed: ["2026-12-25", "2027-01-01", "2026-12-24 13:00-24:00"]

    closed:
      christmas: ["2026-12-24 13:00-24:00", "2026-12-25"]
      chinese new year: 2027-02-17 to 2027-02-19

An entry is ``YYYY-MM-DD``, or ``YYYY-MM-DD to YYYY-MM-DD`` (both days included), each
optionally followed by time ranges written as in business hours; a range past midnight runs
into the next day. While a closure holds, every ``during`` condition is false and every
``outside`` condition true: :meth:`ClosedTimes.at` says which closure holds at an instant.
"""

from __future__ import annotations

import calendar
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from types import MappingProxyType
from typing import Any
from zoneinfo import ZoneInfo

from responder.engine.hours import Interval, parse_times

__all__ = ["ClosedTimes", "parse_closed"]

_DAY_SECONDS = 86_400
_LONGEST_RANGE = 366  # days: a longer "closed" span is a typo in a year, not a holiday
_EXAMPLE = 'like  closed: ["2026-12-25", "2026-12-24 13:00-24:00", "2027-02-17 to 2027-02-19"]'
_ENTRY = re.compile(
    r"(?P<first>\S+)(?:\s+(?:to|until|till)\s+(?P<last>\S+))?(?:\s+(?P<times>\d.*))?",
    re.IGNORECASE,
)
_DATE = re.compile(r"(\d{4})-(\d{1,2})-(\d{1,2})")
# Written out: the same English names whatever the machine's locale.
_MONTHS = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
]


@dataclass(frozen=True, slots=True)
class ClosedTimes:
    """When the business is closed: for each local date, the closed intervals and their label.

    The label is what a person reads in a reason: the entry as written, after its list's name
    when the list has one (``christmas: 2026-12-25``).
    """

    days: Mapping[date, tuple[tuple[Interval, str], ...]] = field(
        default_factory=lambda: MappingProxyType({})
    )

    def at(self, moment: datetime, tz: ZoneInfo) -> str | None:
        """The label of the closure holding at ``moment`` (aware) in ``tz``, or None."""
        if not self.days:
            return None
        local = moment.astimezone(tz)
        second = local.hour * 3_600 + local.minute * 60 + local.second
        for (start, end), label in self.days.get(local.date(), ()):
            if start <= second < end:
                return label
        return None

    def __bool__(self) -> bool:
        return bool(self.days)


def parse_closed(value: Any) -> ClosedTimes:
    """Read ``settings: closed`` (a list of entries, or names with an entry or a list each).

    Raises ValueError with a sentence naming the entry that could not be read, e.g.
    ``'2026-02-30' is not a date: February 2026 has 28 days``.
    """
    if isinstance(value, Mapping):
        named = [(f"{name}: ", entries) for name, entries in value.items()]
    elif isinstance(value, list | str | date):
        named = [("", value)]
    else:
        raise ValueError(f"'closed' must list dates, {_EXAMPLE}")
    days: dict[date, list[tuple[Interval, str]]] = {}
    for prefix, entries in named:
        for entry in entries if isinstance(entries, list) else [entries]:
            try:
                closed = _read_entry(entry)
            except ValueError as exc:
                where = f"in '{prefix[:-2]}': " if prefix else ""
                raise ValueError(where + str(exc)) from None
            for day, interval, label in closed:
                days.setdefault(day, []).append((interval, prefix + label))
    return ClosedTimes(MappingProxyType({day: tuple(spans) for day, spans in days.items()}))


def _read_entry(entry: Any) -> list[tuple[date, Interval, str]]:
    """Every (local date, interval, label) that one entry closes."""
    if isinstance(entry, datetime) or not isinstance(entry, str | date):
        raise ValueError(f"'{entry}' is not a date: write dates as YYYY-MM-DD, {_EXAMPLE}")
    if isinstance(entry, date):  # YAML reads an unquoted 2026-12-25 as a date
        return [(entry, (0, _DAY_SECONDS), entry.isoformat())]
    text = " ".join(entry.split())
    if not text:
        raise ValueError(f"a 'closed' entry is empty: write a date, {_EXAMPLE}")
    parts = _ENTRY.fullmatch(text)
    if parts is None:
        raise ValueError(f"'{text}' is not a date or a range of dates, {_EXAMPLE}")
    first = _date(parts["first"])
    last = _date(parts["last"]) if parts["last"] else first
    if last < first:
        raise ValueError(f"'{text}' ends before it starts: write the earlier date first")
    if (last - first).days >= _LONGEST_RANGE:
        raise ValueError(f"'{text}' is longer than a year: check the years of both dates")
    ranges = parse_times(parts["times"]) if parts["times"] else ((0, _DAY_SECONDS),)
    closed: list[tuple[date, Interval, str]] = []
    day = first
    while day <= last:
        for start, end in ranges:
            if end > start:
                closed.append((day, (start, end), text))
            else:  # past midnight: the rest of this day, then the start of the next
                closed.append((day, (start, _DAY_SECONDS), text))
                if end:
                    closed.append((day + timedelta(days=1), (0, end), text))
        day += timedelta(days=1)
    return closed


def _date(text: str) -> date:
    parts = _DATE.fullmatch(text)
    if parts is None:
        raise ValueError(f"'{text}' is not a date: write dates as YYYY-MM-DD, like 2026-12-25")
    year, month, day = (int(part) for part in parts.groups())
    if not 1 <= month <= 12:
        raise ValueError(f"'{text}' is not a date: there is no month {month}")
    length = calendar.monthrange(year, month)[1]
    if not 1 <= day <= length:
        raise ValueError(f"'{text}' is not a date: {_MONTHS[month - 1]} {year} has {length} days")
    return date(year, month, day)
