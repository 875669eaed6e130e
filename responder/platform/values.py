"""Single values read from the platform's JSON, made safe to store and compute with (no I/O).

A body that passes the signature check was still written by someone else. Every value that
:mod:`~responder.platform.deliveries`, :mod:`~responder.platform.messages` and
:mod:`~responder.platform.api_bodies` hand to the rest of the service is read through here, so
that it can be stored (in SQLite and in Redis, both UTF-8), logged, and computed with:

* **Text** is valid Unicode. JSON may escape a lone UTF-16 surrogate (``"\\ud83d"``: a string
  cut in the middle of an emoji), which Python decodes to a string that no UTF-8 codec
  encodes; each one becomes U+FFFD, the replacement character. A valid pair stays the
  character it encodes.
* **Bodies** (:func:`load_json`) are nested at most :data:`MAX_DEPTH` deep, so that nothing
  downstream (JSON encoding of a job, templates) runs out of recursion, and hold no integer
  longer than Python reads (4,300 digits); anything else is refused.
* **Identifiers** are strings or integers; an integer counts only within the 64-bit range a
  platform id can have, a string only up to :data:`MAX_ID_LENGTH` characters. A **lead id**
  must also be a plain identifier (:func:`plain_identifier`), because it becomes a segment of
  the API's URL paths.
* **Integers** (a connection id) are JSON integers or strings of ASCII digits, in the range
  ``0 <= n < 2**63``.
* **Times** lie between :data:`EARLIEST` and :data:`LATEST`; a time outside them is read as
  no time at all, exactly like an unreadable one. Within that range every sum the service
  makes with a time (the 24-hour window, cooldowns, pauses) stays a valid datetime.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any, TypeVar

from responder.platform.signature import epoch_seconds

#: Deepest nesting of objects and arrays a delivery body may have (the top object is 1).
MAX_DEPTH = 32
#: Longest identifier (message id, cursor) taken; a longer one is read as no identifier.
MAX_ID_LENGTH = 256
#: Longest lead id taken: it becomes a URL path segment.
MAX_LEAD_ID_LENGTH = 128
#: The plausible range of a platform time; anything outside is read as no time.
EARLIEST = datetime(2000, 1, 1, tzinfo=UTC)
LATEST = datetime(2100, 1, 1, tzinfo=UTC)

_MAX_INTEGER = 2**63
_ASCII_DIGITS = re.compile(r"[0-9]{1,19}")
_PLAIN_ID = re.compile(r"[A-Za-z0-9._:@+\-]+")
# A JSON escape, one at a time from the left, so that an escaped backslash is never taken for
# the start of a \u escape: a surrogate pair (kept), a lone surrogate (group 1), any other.
_ESCAPE = re.compile(
    r"\\u[dD][89abAB][0-9a-fA-F]{2}\\u[dD][c-fC-F][0-9a-fA-F]{2}"
    r"|\\u([dD][89a-fA-F][0-9a-fA-F]{2})"
    r"|\\.",
    re.DOTALL,
)
_MAYBE_SURROGATE = re.compile(r"\\u[dD][89a-fA-F]")
_SURROGATE = re.compile("[\ud800-\udfff]")


class UnreadableJson(ValueError):
    """The text is not JSON this service reads. The message says why, to follow "The body":
    ``is not valid JSON``, ``holds a number too long to read``, ``is nested more than ...``."""


def load_json(text: str) -> Any:
    """Parse ``text`` as JSON with every string valid Unicode (see the module notes).

    Raises :class:`UnreadableJson` when it is not JSON, holds an integer too long to read, or
    is nested deeper than :data:`MAX_DEPTH`.
    """
    if _MAYBE_SURROGATE.search(text):
        text = _ESCAPE.sub(_repair_escape, text)
    try:
        data = json.loads(text)
    except RecursionError:
        raise UnreadableJson(f"is nested more than {MAX_DEPTH} levels deep") from None
    except ValueError as exc:  # JSONDecodeError, and integers over Python's digit limit
        if isinstance(exc, json.JSONDecodeError):
            raise UnreadableJson("is not valid JSON") from None
        raise UnreadableJson("holds a number too long to read") from None
    if _deeper_than(data, MAX_DEPTH):
        raise UnreadableJson(f"is nested more than {MAX_DEPTH} levels deep")
    return data


def clean_text(value: str) -> str:
    """``value`` with each lone surrogate replaced by U+FFFD (most strings come back as is)."""
    return _SURROGATE.sub("\ufffd", value) if _SURROGATE.search(value) else value


def text(value: object) -> str:
    """A string, stripped; a number as its decimal text; anything else ``""``."""
    if isinstance(value, str):
        return clean_text(value.strip())
    if isinstance(value, int | float) and not isinstance(value, bool):
        return str(value)
    return ""


def identifier(value: object) -> str:
    """An id: a string of at most :data:`MAX_ID_LENGTH` characters, stripped, or an integer
    within 64 bits, as decimal text. Anything else (a float, a bool, a longer string, an
    integer no platform id can be) is ``""``, i.e. no id."""
    if isinstance(value, bool):
        return ""
    if isinstance(value, int):
        return str(value) if -_MAX_INTEGER < value < _MAX_INTEGER else ""
    if isinstance(value, str):
        stripped = value.strip()
        return clean_text(stripped) if len(stripped) <= MAX_ID_LENGTH else ""
    return ""


def plain_identifier(value: str) -> bool:
    """True for an id that can travel as a URL path segment as is: ASCII letters, digits and
    ``. _ : @ + -``, at most :data:`MAX_LEAD_ID_LENGTH` characters, not only dots (``.`` and
    ``..`` are a path's own segments)."""
    return (
        len(value) <= MAX_LEAD_ID_LENGTH
        and _PLAIN_ID.fullmatch(value) is not None
        and value.strip(".") != ""
    )


def integer(value: object) -> int | None:
    """A non-negative integer below ``2**63``, from a JSON integer or a string of ASCII digits;
    None for anything else."""
    if isinstance(value, bool):
        return None
    if isinstance(value, str):
        digits = value.strip()
        if _ASCII_DIGITS.fullmatch(digits) is None:
            return None
        value = int(digits)
    if isinstance(value, int) and 0 <= value < _MAX_INTEGER:
        return value
    return None


def time(value: object) -> datetime | None:
    """An aware UTC time from ISO 8601 text (UTC when it names no zone) or a Unix time in
    seconds or milliseconds (a number, or text of one); None when unreadable or outside
    :data:`EARLIEST` .. :data:`LATEST`."""
    try:
        parsed = _time(value)
    except (OverflowError, OSError, ValueError):
        return None
    return parsed if parsed is not None and EARLIEST <= parsed <= LATEST else None


T = TypeVar("T")


def first(data: Mapping[str, Any], keys: Sequence[str], read: Callable[[object], T]) -> T | None:
    """The first of ``keys`` whose value ``read`` makes something of (not None, not "")."""
    for key in keys:
        value = read(data.get(key))
        if value is not None and value != "":
            return value
    return None


def _time(value: object) -> datetime | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return datetime.fromtimestamp(epoch_seconds(float(value)), UTC)
    if not isinstance(value, str) or not value.strip():
        return None
    stripped = value.strip()
    try:
        number = float(stripped)
    except ValueError:
        parsed = datetime.fromisoformat(stripped)
        return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)
    return datetime.fromtimestamp(epoch_seconds(number), UTC)


def _repair_escape(match: re.Match[str]) -> str:
    return "\\ufffd" if match.group(1) else match.group(0)


def _deeper_than(data: object, limit: int) -> bool:
    """True when objects and arrays nest more than ``limit`` levels (walked without recursion)."""
    stack: list[tuple[object, int]] = [(data, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict):
            children: Any = item.values()
        elif isinstance(item, list):
            children = item
        else:
            continue
        if depth > limit:
            return True
        stack.extend((child, depth + 1) for child in children)
    return False
