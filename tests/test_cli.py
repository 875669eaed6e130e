"""The rule author's commands: check, try and chat, their output and exit status."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from responder.cli import main
from tests.rulebooks import write_book

ROOT = Path(__file__).resolve().parent.parent
SHIPPED = ["--rules", str(ROOT / "rules"), "--templates", str(ROOT / "templates")]


def test_check_passes_on_the_shipped_rules(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["check", *SHIPPED]) == 0
    out = capsys.readouterr().out
    assert "OK: 0 error(s)" in out
    assert "examples and counterexamples tried" in out


def test_check_reports_every_problem_and_exits_1(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    rules_dir, templates_dir = write_book(
        tmp_path,
        """
        rules:
          - name: pricing
            keyword: [price]
            reply: answer
          - name: hours
            keywords: [hours]
            reply: nosuch
    """,
    )
    assert main(["check", "--rules", str(rules_dir), "--templates", str(templates_dir)]) == 1
    out = capsys.readouterr().out
    assert (
        "rules.yaml:3: error [rule pricing]: 'keyword' is not a rule key; did you mean 'keywords'?"
        in out
    )
    assert "rules.yaml:7: error [rule hours]: there is no template file" in out
    assert "FAILED: 2 error(s)" in out


def test_check_fails_when_an_example_goes_to_another_rule(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    rules_dir, templates_dir = write_book(
        tmp_path,
        """
        rules:
          - name: pricing
            keywords: [price]
            reply: answer
            examples: ["what's the price?", "how much is it?"]
            counterexamples: ["price of delivery"]
          - name: delivery
            keywords: [delivery]
            reply: other
    """,
    )
    assert main(["check", "--rules", str(rules_dir), "--templates", str(templates_dir)]) == 1
    out = capsys.readouterr().out
    assert 'the example "how much is it?" was answered by no rule' in out
    assert (
        "the counterexample \"price of delivery\" was answered by this rule (keyword 'price')"
        in out
    )


def test_check_reports_a_template_that_fails_to_render(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    rules_dir, templates_dir = write_book(
        tmp_path,
        "rules:\n  - name: a\n    keywords: [go]\n    reply: broken\n",
        {"broken.j2": "{{ lead.name.upper() ~ (1 // 0) }}"},
    )
    assert main(["check", "--rules", str(rules_dir), "--templates", str(templates_dir)]) == 1
    assert "broken.j2" in capsys.readouterr().out


def test_try_explains_the_decision(capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["try", "are you OPEN today??", *SHIPPED, "--at", "2026-11-25 11:00"])
    out = capsys.readouterr().out
    assert code == 0
    assert "normalised:    'are you open today'" in out
    assert "decided by:    opening-hours" in out
    assert "because:       keyword 'open today'" in out
    assert "Kopi Kita is open" in out


def test_try_shows_near_misses_and_locale(capsys: pytest.CaptureFixture[str]) -> None:
    main(["try", "what time is my delivery?", *SHIPPED, "--at", "2026-11-25 11:00"])
    out = capsys.readouterr().out
    assert "decided by:    fallback" in out
    assert "opening-hours: excluded by 'delivery'" in out
    main(
        ["try", "waktu buka?", *SHIPPED, "--locale", "ms", "--name", "", "--at", "2026-11-25 11:00"]
    )
    assert "Hai di sana!" in capsys.readouterr().out


def test_try_with_first_and_after_hours(capsys: pytest.CaptureFixture[str]) -> None:
    main(["try", "hi", *SHIPPED, "--first", "--at", "2026-11-25 11:00"])
    assert "decided by:    welcome" in capsys.readouterr().out
    main(["try", "hi", *SHIPPED, "--at", "2026-11-28 22:00"])
    assert "outside office (Sat 22:00" in capsys.readouterr().out


def test_try_on_broken_rules_exits_1(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    rules_dir, templates_dir = write_book(tmp_path, "rules:\n  - name: a\n    reply: answer\n")
    assert main(["try", "x", "--rules", str(rules_dir), "--templates", str(templates_dir)]) == 1
    assert "responder check" in capsys.readouterr().err


def test_chat_tracks_cooldown_pause_and_first_message() -> None:
    script = "hi\nprice?\nprice?\n/wait 6h\nprice?\nagent\nprice?\n/quit\n"
    result = subprocess.run(
        [sys.executable, "-m", "responder.cli", "chat", *SHIPPED, "--at", "2026-11-25 11:00"],
        input=script,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    outcomes = [part.splitlines()[0] for part in result.stdout.split("=> ")[1:]]
    assert outcomes[0].startswith("welcome: the lead's first message")
    assert outcomes[1].startswith("pricing: keyword 'price'")
    assert outcomes[2].startswith("no reply (cooldown)")
    assert outcomes[3].startswith("pricing: keyword 'price'")  # 6 hours later
    assert outcomes[4].startswith("human-please: keyword 'agent'")
    assert outcomes[5].startswith("no reply (paused)")


def test_the_console_script_is_installed() -> None:
    exe = Path(sys.executable).with_name("responder")
    result = subprocess.run(
        [str(exe), "check", *SHIPPED], capture_output=True, text=True, timeout=60, check=False
    )
    assert result.returncode == 0 and "OK:" in result.stdout
