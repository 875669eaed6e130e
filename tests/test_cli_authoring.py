"""What a new rule author runs into: the real `responder check` on broken books, the commands
as documented, the sample customer, times in the business's zone, chat's commands and
confirming a short keyword."""

from __future__ import annotations

import re
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest

from responder.cli import main
from responder.engine.authoring import SAMPLE_NAME
from responder.engine.loader import check_rulebook
from responder.model import DecisionRecord, Outcome
from responder.store import open_store
from tests.rulebooks import write_book

ROOT = Path(__file__).resolve().parent.parent
SHIPPED = ["--rules", str(ROOT / "rules"), "--templates", str(ROOT / "templates")]
RESPONDER = Path(sys.executable).with_name("responder")
HELLO = "rules:\n  - name: hello\n    keywords: [hello]\n    reply: hi\n"


def responder_check(rules_dir: Path, templates_dir: Path) -> subprocess.CompletedProcess[str]:
    """The installed `responder check`, as an author runs it."""
    return subprocess.run(
        [str(RESPONDER), "check", "--rules", str(rules_dir), "--templates", str(templates_dir)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


# -- section 1 through the real command ------------------------------------------------------


def test_check_refuses_an_unknown_lead_value_with_file_line_and_rule(tmp_path: Path) -> None:
    result = responder_check(*write_book(tmp_path, HELLO, {"hi.j2": "Hi\n{{ lead.firstname }}"}))
    assert result.returncode == 1
    assert (
        "templates/hi.j2:2: error [rule hello]: 'lead.firstname' is not something a reply knows "
        "about the customer; did you mean 'lead.first_name'?" in result.stdout
    )
    assert "FAILED: 1 error(s)" in result.stdout


def test_check_refuses_a_match_part_the_pattern_does_not_name(tmp_path: Path) -> None:
    rules = "rules:\n  - name: order\n    regex: '#(?P<order>\\d+)'\n    reply: hi\n"
    result = responder_check(*write_book(tmp_path, rules, {"hi.j2": "Order {{ match.number }}"}))
    assert result.returncode == 1
    assert "templates/hi.j2:1: error [rule order]: 'match.number' is always empty" in result.stdout


def test_check_refuses_a_rule_whose_template_has_only_a_language_file(tmp_path: Path) -> None:
    result = responder_check(*write_book(tmp_path, HELLO, {"hi.es.j2": "Hola"}))
    assert result.returncode == 1
    assert "rules.yaml:4: error [rule hello]: there is no default file" in result.stdout


def test_check_explains_a_tab_in_a_rule_file(tmp_path: Path) -> None:
    rules = "rules:\n  - name: a\n\tkeywords: [x]\n    reply: hi\n"
    result = responder_check(*write_book(tmp_path, rules, {"hi.j2": "Hi"}))
    assert result.returncode == 1
    assert re.search(
        r"rules\.yaml:3: error: this is not valid YAML: .*indent with spaces", result.stdout
    )


ORDER = "rules:\n  - name: order\n    regex: '#(?P<order>\\d+)'\n    reply: hi\n"
VARS = "settings:\n  vars:\n    shop_centre: Mid Valley\n"


@pytest.mark.parametrize(
    ("rules", "templates", "expected"),
    [
        (HELLO, {"hi.j2": "{{ lead.firstname }}"}, "hi.j2:1: error [rule hello]: 'lead.firstname'"),
        (
            VARS + HELLO,
            {"hi.j2": "At {{ vars.shop_centr }}"},
            "hi.j2:1: error [rule hello]: 'vars.shop_centr' is not in the settings' vars; "
            "did you mean 'vars.shop_centre'?",
        ),
        (ORDER, {"hi.j2": "\n{{ match.number }}"}, "hi.j2:2: error [rule order]: 'match.number'"),
        (HELLO, {"hi.j2": "Order {{ match.order }}"}, "hi.j2:1: error [rule hello]: 'match.order'"),
        (HELLO, {"hi.ms.j2": "Hai"}, "rules.yaml:4: error [rule hello]: there is no default file"),
        (HELLO, {"hi.txt": "Hi"}, "rules.yaml:4: error [rule hello]: there is no template file"),
        (
            "settings:\n  hours:\n    office: 'mon-fry 09:00'\n"
            "rules:\n  - name: late\n    outside: office\n    reply: hi\n",
            {"hi.j2": "Hi"},
            "rules.yaml:3: error: 'fry' is not a day",
        ),
        (
            "rules:\n  - name: a\n    keywords: [x]\n    text: {{ lead.first_name }}, hi\n",
            {},
            "rules.yaml:4: error: this is not valid YAML",
        ),
        (
            'rules:\n  - name: a\n    regex: "#\\d+"\n    reply: hi\n',
            {},
            "use single quotes for patterns",
        ),
    ],
)
def test_check_exits_1_on_every_broken_book(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    rules: str,
    templates: dict[str, str],
    expected: str,
) -> None:
    rules_dir, templates_dir = write_book(tmp_path, rules, templates)
    assert main(["check", "--rules", str(rules_dir), "--templates", str(templates_dir)]) == 1
    out = capsys.readouterr().out
    assert expected in out
    assert "FAILED: 1 error(s)" in out  # one mistake, one message


@pytest.mark.parametrize(
    ("templates", "expected"),
    [
        ({"hi.j2": "Hi { lead.first_name }"}, "write {{ lead.first_name }}"),
        ({"hi.j2": "Hi", "hi_es.j2": "Hola"}, "rename the file to hi.es.j2"),
    ],
)
def test_check_warns_and_passes(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], templates: dict[str, str], expected: str
) -> None:
    rules_dir, templates_dir = write_book(tmp_path, HELLO, templates)
    assert main(["check", "--rules", str(rules_dir), "--templates", str(templates_dir)]) == 0
    out = capsys.readouterr().out
    assert "warning" in out and expected in out and "OK: 0 error(s), 1 warning(s)" in out


def test_check_passes_the_shipped_book_without_any_warning() -> None:
    result = subprocess.run(
        [str(RESPONDER), "check", *SHIPPED], capture_output=True, text=True, timeout=60, check=False
    )
    assert result.returncode == 0
    assert "OK: 0 error(s), 0 warning(s)" in result.stdout


# -- the documented commands work as written -------------------------------------------------


def test_make_check_and_make_try_run_the_commands_of_the_guide() -> None:
    # BIN and STAMP point make at this environment instead of creating .venv.
    here = [f"BIN={Path(sys.executable).parent}", "STAMP="]
    check = subprocess.run(
        ["make", "-s", "check", *here], cwd=ROOT, capture_output=True, text=True, timeout=120
    )
    assert check.returncode == 0, check.stderr
    assert "OK: 0 error(s)" in check.stdout
    tried = subprocess.run(
        ["make", "-s", "try", "MSG=are you open today?", *here],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert tried.returncode == 0, tried.stderr
    assert "decided by:    opening-hours" in tried.stdout


def test_the_guide_says_how_to_run_the_commands() -> None:
    guide = (ROOT / "docs" / "rules.md").read_text(encoding="utf-8")
    assert "make check" in guide and ".venv/bin/responder" in guide


# -- the sample customer ---------------------------------------------------------------------


def test_the_sample_customer_is_neutral_and_shown_in_help(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert "Aisyah" not in SAMPLE_NAME
    main(["try", "are you open today?", *SHIPPED, "--at", "2026-11-25 11:00"])
    assert f"Hi {SAMPLE_NAME.split()[0]}!" in capsys.readouterr().out
    for command in ("try", "chat", "send"):
        with pytest.raises(SystemExit):
            main([command, "--help"])
        assert f"(default: {SAMPLE_NAME}" in " ".join(capsys.readouterr().out.split())


# -- times in the business's zone ------------------------------------------------------------


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


def test_chat_shows_cooldowns_and_pauses_in_the_business_zone() -> None:
    out = chat("price?\nprice?\nagent\nhi\n/quit\n", *SHIPPED, "--at", "2026-11-25 11:00")
    assert "[Wed 25 Nov 2026 11:00 (Asia/Kuala_Lumpur)] you>" in out
    assert "cooldown until Wed 25 Nov 2026 17:00 (Asia/Kuala_Lumpur)" in out
    assert "paused until Thu 26 Nov 2026 11:00 (Asia/Kuala_Lumpur)" in out
    assert "+00:00" not in out and "T11:00" not in out


def test_times_are_named_utc_when_the_book_has_no_timezone(tmp_path: Path) -> None:
    rules_dir, templates_dir = write_book(tmp_path, HELLO, {"hi.j2": "Hi"})
    args = ["--rules", str(rules_dir), "--templates", str(templates_dir)]
    out = chat("hello\nhello\n/quit\n", *args, "--at", "2026-11-25 11:00")
    assert "cooldown until Wed 25 Nov 2026 17:00 (UTC)" in out


def test_try_shows_the_moment_in_the_business_zone(capsys: pytest.CaptureFixture[str]) -> None:
    main(["try", "hello", *SHIPPED, "--at", "2026-11-28 22:00"])
    out = capsys.readouterr().out
    assert "at:            Sat 28 Nov 2026 22:00 (Asia/Kuala_Lumpur)" in out
    assert "outside office (Sat 22:00 Asia/Kuala_Lumpur)" in out


def test_log_shows_times_in_the_business_zone(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    store_path = str(tmp_path / "responder.db")
    store = open_store(store_path)
    at = datetime(2026, 12, 2, 6, 1, 15, tzinfo=UTC)
    store.finish(DecisionRecord("k1", "42", Outcome.SENT, at, rule="opening-hours"))
    store.close()
    assert main(["log", "--store", store_path, "--rules", str(ROOT / "rules")]) == 0
    out = capsys.readouterr().out
    assert "times in Asia/Kuala_Lumpur" in out
    assert "2026-12-02 14:01:15  lead 42" in out


# -- chat's commands -------------------------------------------------------------------------


def test_chat_help_lists_the_commands(capsys: pytest.CaptureFixture[str]) -> None:
    out = chat("/help\n/quit\n", *SHIPPED)
    for command in ("/wait 2h", "/reset", "/help", "/quit"):
        assert command in out.split("you>")[1]
    with pytest.raises(SystemExit):
        main(["chat", "--help"])
    helped = capsys.readouterr().out
    assert "/wait" in helped and "/reset" in helped


# -- confirming a short keyword --------------------------------------------------------------


def test_short_ok_confirms_one_short_keyword_and_keeps_the_others_warned(tmp_path: Path) -> None:
    rules = (
        "rules:\n  - name: a\n    keywords: [ok, hi, thanks]\n    short_ok: [ok]\n    reply: hi\n"
    )
    _, problems = check_rulebook(*write_book(tmp_path, rules, {"hi.j2": "Hi"}))
    [warning] = problems
    assert not warning.is_error and "'hi' is very short" in warning.message
    assert "add  short_ok: [hi]  to this rule" in warning.message


def test_short_ok_must_name_a_keyword_of_the_rule(tmp_path: Path) -> None:
    rules = "rules:\n  - name: a\n    keywords: [ok]\n    short_ok: [okk]\n    reply: hi\n"
    _, problems = check_rulebook(*write_book(tmp_path, rules, {"hi.j2": "Hi"}))
    errors = [p for p in problems if p.is_error]
    assert len(errors) == 1 and errors[0].line == 4
    assert "'okk' in short_ok is not one of this rule's keywords" in errors[0].message
