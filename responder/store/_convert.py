"""Conversions both store engines share: aware datetimes <-> Unix float seconds.

Times are stored as Unix seconds in a float. A float holds today's timestamps to a quarter of a
microsecond, so a datetime survives the round trip exactly (the contract tests compare
stored times with ``==``).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta


def to_ts(value: datetime) -> float:
    """Unix seconds of ``value``; a naive datetime is taken to be UTC."""
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.timestamp()


def ts_text(value: datetime) -> str:
    """``to_ts`` as the shortest text that reads back as the same float (for Redis)."""
    return repr(to_ts(value))


def from_ts(value: float | str | bytes) -> datetime:
    """The aware UTC datetime of Unix seconds given as a number or as text."""
    return datetime.fromtimestamp(float(value), UTC)


def seconds(value: timedelta) -> float:
    return value.total_seconds()
