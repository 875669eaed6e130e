"""``responder pause``, ``resume``, ``pauses``, ``log --text`` and ``unanswered`` on a real
SQLite store: what a person of the team types, and what they read back."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from responder.cli import main
from responder.engine.normalize import normalize
from responder.model import EVERYONE, DecisionRecord, Outcome, utcnow
from responder.store.sqlite import SQLiteStore
from tests.harness import ROOT

RULES = str(ROOT / "rules")  # timezone: Asia/Kuala_Lumpur


@pytest.fixture
def store_path(tmp_path: Path) -> str:
    path = tmp_path / "state.db"
    SQLiteStore(path).close()
    return str(path)


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str]:
    status = main(list(argv))
    captured = capsys.readouterr()
    return status, captured.out + captured.err


def test_pause_a_lead_for_a_while_list_it_and_resume(
    store_path: str, capsys: pytest.CaptureFixture[str]
) -> None:
    where = ("--store", store_path, "--rules", RULES)
    status, out = run(
        capsys, "pause", "42", "--for", "2h", "--note", "on the\x1b[2J phone", "--by", "ana", *where
    )
    assert (
        status == 0 and "paused for lead 42 until " in out and "(Asia/Kuala_Lumpur), by ana" in out
    )
    store = SQLiteStore(store_path)
    [pause] = store.pauses(now=utcnow())
    assert (pause.lead_id, pause.by, pause.note) == ("42", "ana", "on the\x1b[2J phone")
    assert pause.until is not None and pause.until - pause.at == timedelta(hours=2)

    status, out = run(capsys, "pauses", *where)
    assert status == 0 and out.startswith("lead 42") and "(Asia/Kuala_Lumpur)" in out
    assert "note: 'on the\\x1b[2J phone'" in out and "\x1b" not in out

    status, out = run(capsys, "resume", "42", "--by", "bo", *where)
    assert status == 0 and "The bot answers lead 42 again (paused by ana at " in out
    assert store.pauses(now=utcnow()) == []
    status, out = run(capsys, "pauses", *where)
    assert "Nobody has paused the bot" in out

    status, out = run(capsys, "pauses", "--history", *where)
    resumed, paused = out.splitlines()
    assert resumed.endswith("(Asia/Kuala_Lumpur)  bo resumed lead 42")
    assert "(Asia/Kuala_Lumpur)  ana paused lead 42 until " in paused
    assert paused.endswith("note: 'on the\\x1b[2J phone'")
    store.close()


def test_pause_everyone_until_resumed_by_the_os_user(
    store_path: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("USER", "farid")
    monkeypatch.setenv("LOGNAME", "farid")
    status, out = run(capsys, "pause", "--all", "--store", store_path)
    assert status == 0 and "paused for everyone until someone resumes it, by farid" in out
    store = SQLiteStore(store_path)
    [pause] = store.pauses(now=utcnow() + timedelta(days=365))
    assert (pause.lead_id, pause.until, pause.by) == (EVERYONE, None, "farid")
    assert run(capsys, "resume", "--all", "--store", store_path)[0] == 0
    assert store.pauses(now=utcnow()) == []
    store.close()


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["pause"], "give a lead's id, or --all"),
        (["pause", "42", "--all"], "give a lead's id, or --all"),
        (["pause", "*"], "is not a lead's id"),
        (["pause", "42", "--for", "soon"], "'soon' is not a duration"),
        (["pause", "42", "--for", "0s"], "longer than zero"),
        (["resume"], "give a lead's id, or --all"),
    ],
)
def test_a_mistyped_pause_is_refused_with_a_sentence(
    argv: list[str], message: str, store_path: str, capsys: pytest.CaptureFixture[str]
) -> None:
    status, out = run(capsys, *argv, "--store", store_path)
    assert status == 2 and message in out
    store = SQLiteStore(store_path)
    assert store.pauses(now=utcnow()) == []
    store.close()


def test_a_pause_into_a_store_that_is_not_there_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    status, out = run(capsys, "pause", "42", "--store", str(tmp_path / "typo.db"))
    assert status == 1 and "there is no store at" in out
    assert not (tmp_path / "typo.db").exists()


def _decided(store_path: str, n: int, text: str, outcome: Outcome, **fields: object) -> None:
    store = SQLiteStore(store_path)
    record = DecisionRecord(
        key=f"k{n}",
        lead_id=f"lead-{n}",
        outcome=outcome,
        at=utcnow() - timedelta(minutes=n),
        text=text,
        normalized=normalize(text),
        **fields,  # type: ignore[arg-type]
    )
    assert store.finish(record)
    store.close()


def test_log_finds_text_and_prints_it_escaped(
    store_path: str, capsys: pytest.CaptureFixture[str]
) -> None:
    _decided(store_path, 1, "Preço do café?\x1b[31m", Outcome.SENT, rule="prices")
    _decided(store_path, 2, "opening hours", Outcome.SENT, rule="hours")
    status, out = run(capsys, "log", "--text", "PRECO", "--store", store_path, "--rules", RULES)
    assert status == 0 and "lead lead-1" in out and "lead-2" not in out
    assert "said:  'Preço do café?\\x1b[31m'" in out and "\x1b" not in out
    status, out = run(capsys, "log", "--text", "pizza", "--store", store_path)
    assert "no decisions match" in out


def test_unanswered_lists_the_most_frequent_first(
    store_path: str, capsys: pytest.CaptureFixture[str]
) -> None:
    _decided(store_path, 1, "Parking?", Outcome.NO_MATCH, unmatched=True)
    _decided(store_path, 2, "do you sell grinders", Outcome.SENT, rule="fallback", unmatched=True)
    _decided(store_path, 3, "Do you sell grinders?", Outcome.NO_MATCH, unmatched=True)
    _decided(store_path, 4, "opening hours", Outcome.SENT, rule="hours")
    status, out = run(capsys, "unanswered", "--store", store_path, "--rules", RULES)
    lines = out.splitlines()
    assert status == 0 and "in the last 7d" in lines[0] and "Asia/Kuala_Lumpur" in lines[0]
    assert lines[1].lstrip().startswith("2x") and "'do you sell grinders'" in lines[1]
    assert lines[2].lstrip().startswith("1x") and "'Parking?'" in lines[2]
    assert len(lines) == 3


def test_names_and_ids_with_control_characters_are_printed_escaped(
    store_path: str, capsys: pytest.CaptureFixture[str]
) -> None:
    status, out = run(capsys, "pause", "4\n2", "--by", "x\x1b[2Jy", "--store", store_path)
    assert status == 0 and "lead 4\\n2" in out and "by x\\x1b[2Jy" in out
    status, out = run(capsys, "pauses", "--store", store_path)
    assert "lead 4\\n2" in out and "by x\\x1b[2Jy" in out
    assert "\x1b" not in out and out.count("\n") == 1
