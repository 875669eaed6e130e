"""The reply language in the author's tools: `try` and `chat` say which and why, `try
--locale` sets the lead's, `check` warns about a missing language, `log` shows it."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from responder.cli import main
from responder.model import DecisionRecord, Outcome
from responder.store import open_store
from tests.rulebooks import BILINGUAL_BAKERY, write_book
from tests.test_cli_authoring import chat

TEMPLATES = {"welcome.j2": "Hi!", "welcome.es.j2": "¡Hola!"}


@pytest.fixture
def folders(tmp_path: Path) -> list[str]:
    rules, templates = write_book(tmp_path, BILINGUAL_BAKERY, TEMPLATES)
    return ["--rules", str(rules), "--templates", str(templates)]


@pytest.mark.parametrize(
    ("args", "language", "reply"),
    [
        (["¿Cuánto cuesta el pan?"], "es: detected from the message", "El pan cuesta 2 euros."),
        (["ok"], "en: the default; could not tell from 'ok'", "Bread is 2 euros."),
        (["how much?", "--locale", "es_MX"], "es: the lead's locale es_MX", "El pan cuesta"),
    ],
)
def test_try_says_which_language_and_why(
    folders: list[str],
    args: list[str],
    language: str,
    reply: str,
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["try", *args, *folders]) == 0
    out = capsys.readouterr().out
    assert f"language:      {language}\n" in out
    assert f"reply:\n  {reply}" in out


def test_chat_says_which_language_and_why(folders: list[str]) -> None:
    out = chat("Hola\nok\n/quit\n", *folders)
    assert (
        "bot> ¡Hola!\n  => greet: keyword 'hola'\n  language es: detected from the message" in out
    )
    assert "  language en: the default; could not tell from 'ok'" in out


def test_check_warns_about_a_reply_without_one_of_the_languages(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    rules, templates = write_book(tmp_path, BILINGUAL_BAKERY, {"welcome.j2": "Hi!"})
    assert main(["check", "--rules", str(rules), "--templates", str(templates)]) == 0
    out = capsys.readouterr().out
    assert (
        "rules.yaml:8: warning [rule greet]: the template 'welcome' has no es file, so customers "
        "writing in es get the en one: add "
    ) in out
    assert "OK: 0 error(s), 1 warning(s)" in out


def test_log_shows_the_language_of_each_reply(
    folders: list[str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    store_path = str(tmp_path / "responder.db")
    store = open_store(store_path)
    at = datetime(2026, 12, 2, 6, 1, 15, tzinfo=UTC)
    store.finish(DecisionRecord("k1", "42", Outcome.SENT, at, "price", language="es"))
    store.finish(DecisionRecord("k2", "43", Outcome.NO_MATCH, at))
    store.close()
    assert main(["log", "--store", store_path, folders[0], folders[1]]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert [line for line in lines if "[language es]" in line] == [
        next(line for line in lines if "lead 42" in line)
    ]
    assert "[language" not in next(line for line in lines if "lead 43" in line)
