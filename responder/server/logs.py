"""The service's log lines: one format, and nothing in a value that can forge a line.

Lead ids, message ids, rule names and reasons come from deliveries that someone else wrote.
A value holding a line break would start a log line of its own, one that reads like the
service's; an ANSI escape would repaint the terminal of whoever reads the log. So the
formatter every service log line goes through (installed by :func:`configure_logging`, in
each gunicorn worker) escapes control characters in the finished line, whichever call site
logged it and however the value reached the message:

* C0 and C1 control characters and DEL become ``\\n``, ``\\r``, ``\\t`` or ``\\xNN``;
* the Unicode line and paragraph separators, the bidirectional overrides (which reorder
  what a terminal shows) and lone surrogates (which no UTF-8 stream can write) become
  ``\\uNNNN``.

A traceback keeps its line breaks, but every line of it is indented, so that no line of a
record but its first starts at the left margin: whatever an exception's message holds, it
cannot pass for a record of its own.
"""

from __future__ import annotations

import logging
import re

FORMAT = "%(asctime)s [%(process)d] %(levelname)s %(name)s: %(message)s"
TRACEBACK_INDENT = "    "

_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069\ud800-\udfff]")
_NAMED = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}


def escape_controls(text: str) -> str:
    """``text`` with every character listed in the module notes written as an escape."""
    return _CONTROL.sub(_escape, text)


class SafeFormatter(logging.Formatter):
    """A :class:`logging.Formatter` whose lines carry no control character (module notes)."""

    def formatMessage(self, record: logging.LogRecord) -> str:
        return escape_controls(super().formatMessage(record))

    def format(self, record: logging.LogRecord) -> str:
        # The message has no line break left, so the first one starts the traceback (or the
        # stack), which may have been formatted and cached by another handler already.
        head, newline, tail = super().format(record).partition("\n")
        return f"{head}\n{_indented(tail)}" if newline else head


def configure_logging(level: str) -> None:
    """Send the service's log lines to stderr through :class:`SafeFormatter` at ``level``.

    Like :func:`logging.basicConfig`, does nothing when the root logger already has a handler.
    """
    handler = logging.StreamHandler()
    handler.setFormatter(SafeFormatter(FORMAT))
    logging.basicConfig(level=level.upper(), handlers=[handler])
    logging.getLogger("httpx").setLevel(logging.WARNING)


def _indented(text: str) -> str:
    return "\n".join(TRACEBACK_INDENT + escape_controls(line) for line in text.split("\n"))


def _escape(match: re.Match[str]) -> str:
    char = match.group()
    code = ord(char)
    return _NAMED.get(char) or (f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}")
