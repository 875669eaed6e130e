"""Log lines carry no control character: a value holding a line break or an ANSI escape cannot
forge a line of its own or repaint the reader's terminal."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager

import pytest

from responder.server import gunicorn_conf
from responder.server.logs import FORMAT, SafeFormatter, escape_controls

FORGED = "7\n2026-01-01 00:00:00,000 [1] INFO responder.pipeline: lead 8 paused\x1b[2J"


def _record(message: str, *args: object, exc: BaseException | None = None) -> logging.LogRecord:
    info = (type(exc), exc, exc.__traceback__) if exc is not None else None
    return logging.LogRecord("responder.pipeline", logging.INFO, __file__, 1, message, args, info)


def test_control_characters_become_escapes() -> None:
    assert escape_controls("a\nb\rc\td\x00e\x1b[31mf\x7fg\x85h") == (
        "a\\nb\\rc\\td\\x00e\\x1b[31mf\\x7fg\\x85h"
    )
    assert escape_controls("a\u2028b\u202ec\ud83d") == "a\\u2028b\\u202ec\\ud83d"
    assert escape_controls("Aisyah 😀 é, 中文") == "Aisyah 😀 é, 中文"


def test_a_forged_id_stays_inside_its_line() -> None:
    line = SafeFormatter(FORMAT).format(_record("lead %s: paused until %s", FORGED, "then"))
    assert "\n" not in line and "\x1b" not in line
    assert line.endswith(
        "lead 7\\n2026-01-01 00:00:00,000 [1] INFO responder.pipeline: "
        "lead 8 paused\\x1b[2J: paused until then"
    )


def test_no_line_of_a_traceback_starts_a_record() -> None:
    try:
        raise ValueError(FORGED)
    except ValueError as exc:
        text = SafeFormatter(FORMAT).format(_record("job %s: unexpected error", "k", exc=exc))
    first, *rest = text.split("\n")
    assert first.endswith("job k: unexpected error") and rest
    assert all(line.startswith("    ") for line in rest)
    assert "\x1b" not in text and any("ValueError: 7" in line for line in rest)


@contextmanager
def bare_root() -> Iterator[logging.Logger]:
    """The root logger without handlers, as in a fresh gunicorn worker; restored afterwards.
    (Within the test itself: pytest adds its own handlers for each phase of a test.)"""
    root, httpx_logger = logging.getLogger(), logging.getLogger("httpx")
    saved = root.handlers[:], root.level, httpx_logger.level
    root.handlers = []
    try:
        yield root
    finally:
        for handler in root.handlers:
            handler.close()
        root.handlers, root.level, _ = saved
        httpx_logger.setLevel(saved[2])


def test_a_gunicorn_worker_logs_through_the_safe_formatter(
    capsys: pytest.CaptureFixture[str],
) -> None:
    with bare_root() as root:
        gunicorn_conf.post_fork(None, None)
        [handler] = root.handlers
        assert isinstance(handler.formatter, SafeFormatter)
        logging.getLogger("responder.pipeline").warning("lead %s asked for a person", FORGED)
    lines = capsys.readouterr().err.splitlines()
    assert len(lines) == 1 and "responder.pipeline: lead 7\\n2026" in lines[0]
