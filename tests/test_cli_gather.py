"""``responder try`` with several messages and ``responder chat`` gathering lines, as a rule
author sees them with ``settings: gather``."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from responder.cli import main
from tests.rulebooks import write_book

RULES = """
settings:
  gather: 4s
rules:
  - name: deliver-shah-alam
    all: [deliver, shah alam]
    text: "Yes, we deliver to Shah Alam."
  - name: agent
    keywords: [agent]
    gather: 0s
    text: "A person will answer you shortly."
  - name: hello
    fallback: true
    text: "Hello! How can we help?"
"""


def folders(tmp_path: Path, rules: str = RULES) -> list[str]:
    rules_dir, templates_dir = write_book(tmp_path, rules, {})
    return ["--rules", str(rules_dir), "--templates", str(templates_dir)]


def test_try_decides_several_messages_together(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    main(["try", "hi", "do you deliver", "to Shah Alam?", *folders(tmp_path)])
    out = capsys.readouterr().out
    assert "3 messages gathered (gather: 4s), decided together" in out
    assert "message:       'hi\\ndo you deliver\\nto Shah Alam?'" in out
    assert "decided by:    deliver-shah-alam" in out
    assert "Yes, we deliver to Shah Alam." in out


def test_try_says_when_the_first_message_is_answered_at_once(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    main(["try", "agent please", "do you deliver to shah alam", *folders(tmp_path)])
    out = capsys.readouterr().out
    assert "gather: 0s: answered at once, alone" in out
    assert "decided by:    agent" in out


def test_try_says_when_gather_is_off(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    plain = RULES.replace("settings:\n  gather: 4s\n", "")
    main(["try", "hi", "do you deliver", *folders(tmp_path, plain)])
    assert "settings: gather is off" in capsys.readouterr().out


def chat(script: str, *args: str) -> str:
    result = subprocess.run(
        [sys.executable, "-m", "responder.cli", "chat", *args],
        input=script,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout


def test_chat_gathers_lines_until_the_clock_moves_past_the_gather_time(tmp_path: Path) -> None:
    args = [*folders(tmp_path), "--at", "2026-11-25 11:00"]
    out = chat("hi\ndo you deliver\n/wait 2s\nto Shah Alam?\n/wait 4s\n/quit\n", *args)
    assert "(gathered 1 message(s): the bot answers at Wed 25 Nov 2026 11:00:04 (UTC)" in out
    # The third line came 2 s later: the burst waits 4 s from it.
    assert "(gathered 3 message(s): the bot answers at Wed 25 Nov 2026 11:00:06 (UTC)" in out
    assert out.count("bot> ") == 1
    assert "(the bot answers the 3 message(s) gathered, together)" in out
    assert "bot> Yes, we deliver to Shah Alam." in out


def test_chat_answers_a_line_for_a_rule_with_gather_zero_at_once(tmp_path: Path) -> None:
    out = chat("agent\n/quit\n", *folders(tmp_path))
    assert "bot> A person will answer you shortly." in out


def test_chat_says_what_was_left_gathering(tmp_path: Path) -> None:
    out = chat("hi\n/quit\n", *folders(tmp_path))
    assert "bot> " not in out
    assert "(1 message(s) still gathering, not answered)" in out
