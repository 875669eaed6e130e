"""The console's account store contract, on SQLite and on Redis alike."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from responder.accounts import Account, Change, Role
from responder.ports import AccountStore
from responder.store.redis_accounts import RedisAccounts
from responder.store.sqlite_accounts import SQLiteAccounts

NOW = datetime(2026, 12, 3, 10, 0, tzinfo=UTC)
WINDOW = timedelta(minutes=15)


@pytest.fixture(params=["sqlite", "redis"])
def accounts(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[AccountStore]:
    store: AccountStore
    if request.param == "sqlite":
        store = SQLiteAccounts(tmp_path / "state.db")
    else:
        url: str = request.getfixturevalue("redis_url")
        prefixes: Callable[[], str] = request.getfixturevalue("redis_prefixes")
        store = RedisAccounts(url, prefix=prefixes())
    yield store
    store.close()


def account(name: str, role: Role = Role.EDITOR) -> Account:
    return Account(name, role, f"$argon2id$hash-of-{name}", NOW)


def test_an_account_is_added_once_listed_by_name_and_removed(accounts: AccountStore) -> None:
    assert accounts.add_account(account("zoe"))
    assert accounts.add_account(account("ann", Role.VIEWER))
    assert not accounts.add_account(account("zoe", Role.VIEWER))  # the name is taken
    assert [a.name for a in accounts.accounts()] == ["ann", "zoe"]
    assert accounts.account("zoe") == account("zoe")
    assert accounts.remove_account("zoe")
    assert not accounts.remove_account("zoe")
    assert accounts.account("zoe") is None


def test_changes_come_back_newest_first(accounts: AccountStore) -> None:
    for minute in range(3):
        accounts.record_change(Change(NOW + timedelta(minutes=minute), "sam", f"change {minute}"))
    assert [c.what for c in accounts.changes(limit=2)] == ["change 2", "change 1"]
    assert accounts.changes()[0] == Change(NOW + timedelta(minutes=2), "sam", "change 2")


def test_failed_logins_count_within_their_window_only(accounts: AccountStore) -> None:
    assert accounts.failed_logins("account:sam", now=NOW, window=WINDOW) == 0
    for second in range(3):
        count = accounts.failed_login(
            "account:sam", now=NOW + timedelta(seconds=second), window=WINDOW
        )
        assert count == second + 1
    later = NOW + WINDOW + timedelta(seconds=1)
    assert accounts.failed_logins("account:sam", now=NOW + timedelta(seconds=5), window=WINDOW) == 3
    assert accounts.failed_logins("account:sam", now=later, window=WINDOW) == 1  # the one at 2 s
    assert accounts.failed_logins("account:ann", now=NOW, window=WINDOW) == 0
