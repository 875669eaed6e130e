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

With ``RESPONDER_LOG_FORMAT=json`` every line is one JSON object instead (python-json-logger;
JSON escapes every control character, and a traceback is one string field): ``time``,
``level``, ``logger``, ``pid``, ``message``, and the fields a call site adds with ``extra``:
the outcome line of each message names ``delivery_id``, ``lead``, ``message_id``, ``key``,
``rule``, ``release`` and ``outcome`` (:func:`responder.events.log_fields`), so that a log
search follows one message end to end. gunicorn's own lines take the same format.
"""

from __future__ import annotations

import logging
import re
from typing import Any

from gunicorn import glogging
from pythonjsonlogger.json import JsonFormatter

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


JSON_FIELDS = "%(asctime)s %(levelname)s %(name)s %(process)d %(message)s"
_RENAMED = {"asctime": "time", "levelname": "level", "name": "logger", "process": "pid"}


def formatter(log_format: str) -> logging.Formatter:
    """The formatter of every service log line: ``plain`` (:class:`SafeFormatter`) or
    ``json`` (one object per line)."""
    if log_format == "json":
        return JsonFormatter(JSON_FIELDS, rename_fields=_RENAMED)
    return SafeFormatter(FORMAT)


def configure_logging(level: str, log_format: str = "plain") -> None:
    """Send the service's log lines to stderr through :func:`formatter` at ``level``.

    Like :func:`logging.basicConfig`, does nothing when the root logger already has a handler.
    """
    handler = logging.StreamHandler()
    handler.setFormatter(formatter(log_format))
    logging.basicConfig(level=level.upper(), handlers=[handler])
    logging.getLogger("httpx").setLevel(logging.WARNING)


class GunicornLogger(glogging.Logger):  # type: ignore[misc]  # gunicorn has no type hints
    """gunicorn's logger, writing its own lines in the service's format (RESPONDER_LOG_FORMAT)
    from its first line on, its configuration dump at debug level included."""

    log_format = "plain"

    def setup(self, cfg: Any) -> None:
        super().setup(cfg)
        if self.log_format != "json":
            return  # gunicorn's own plain lines, as ever
        for log in (self.error_log, self.access_log):
            for handler in log.handlers:
                handler.setFormatter(formatter(self.log_format))


def _indented(text: str) -> str:
    return "\n".join(TRACEBACK_INDENT + escape_controls(line) for line in text.split("\n"))


def _escape(match: re.Match[str]) -> str:
    char = match.group()
    code = ord(char)
    return _NAMED.get(char) or (f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}")
