"""``responder users``: adding, listing and removing the console's accounts."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from responder.cli import main
from responder.console.accounts import verify
from responder.store import open_accounts


def users(store: Path, *args: str, stdin: str = "", monkeypatch: pytest.MonkeyPatch) -> int:
    monkeypatch.setattr("sys.stdin", io.StringIO(stdin))
    return main(["users", *args, "--store", str(store)])


def test_add_list_and_remove(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    store = tmp_path / "state.db"
    assert users(store, monkeypatch=monkeypatch) == 0
    assert "No account yet" in capsys.readouterr().out
    added = ["add", "sam", "--role", "editor", "--password-stdin"]
    assert users(store, *added, stdin="a long password\n", monkeypatch=monkeypatch) == 0
    assert "a long password" not in capsys.readouterr().out
    accounts = open_accounts(str(store))
    account = accounts.account("sam")
    assert account is not None and account.password_hash.startswith("$argon2id$")
    assert verify(accounts, "sam", "a long password") == account
    assert verify(accounts, "sam", "another password") is None
    assert [c.what for c in accounts.changes()] == ["added the editor 'sam'"]
    accounts.close()
    assert users(store, monkeypatch=monkeypatch) == 0
    assert "sam" in capsys.readouterr().out
    assert users(store, *added, stdin="a long password\n", monkeypatch=monkeypatch) == 1
    assert "already an account called 'sam'" in capsys.readouterr().err
    assert users(store, "remove", "sam", monkeypatch=monkeypatch) == 0
    assert users(store, "remove", "sam", monkeypatch=monkeypatch) == 1
    assert "no account called 'sam'" in capsys.readouterr().err


def test_a_short_password_or_a_strange_name_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    store = tmp_path / "state.db"
    short = ["add", "sam", "--role", "viewer", "--password-stdin"]
    assert users(store, *short, stdin="short\n", monkeypatch=monkeypatch) == 1
    assert "at least 10 characters" in capsys.readouterr().err
    odd = ["add", "<sam>", "--role", "viewer", "--password-stdin"]
    assert users(store, *odd, stdin="a long password\n", monkeypatch=monkeypatch) == 1
    assert "cannot be a name" in capsys.readouterr().err
