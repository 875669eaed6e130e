"""Who may use the console: accounts with argon2 password hashes, and the record of changes.

Used by the ``responder users`` commands and by the console's login. A password is never
stored, logged or shown: only its argon2 hash is kept (argon2-cffi's recommended settings).
"""

from __future__ import annotations

import re

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from responder.accounts import Account, Change, Role
from responder.errors import ResponderError
from responder.model import utcnow
from responder.ports import AccountStore

NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._@-]{0,63}")
MIN_PASSWORD = 10

_hasher = PasswordHasher()
# Verified against when a name is unknown, so that a wrong name takes as long as a wrong
# password and does not tell which names exist.
_NOBODY = _hasher.hash("no account has this password")


class AccountError(ResponderError):
    """An account that cannot be added or removed as asked; the message says why."""


def add_account(store: AccountStore, name: str, role: Role, password: str, *, by: str) -> Account:
    """Add the account ``name`` and record who added it; AccountError when it cannot be."""
    if not NAME.fullmatch(name):
        raise AccountError(
            f"'{name}' cannot be a name: use up to 64 letters, digits, dots, dashes, @ or _, "
            "starting with a letter or digit."
        )
    if len(password) < MIN_PASSWORD:
        raise AccountError(f"The password must be at least {MIN_PASSWORD} characters long.")
    account = Account(name, role, _hasher.hash(password), utcnow())
    if not store.add_account(account):
        raise AccountError(f"There is already an account called '{name}'.")
    store.record_change(Change(account.created_at, by, f"added the {role.value} '{name}'"))
    return account


def remove_account(store: AccountStore, name: str, *, by: str) -> None:
    """Remove the account ``name`` and record who did; AccountError when there is none."""
    if not store.remove_account(name):
        raise AccountError(f"There is no account called '{name}'; 'responder users' lists them.")
    store.record_change(Change(utcnow(), by, f"removed the account '{name}'"))


def verify(store: AccountStore, name: str, password: str) -> Account | None:
    """The account when ``password`` is its password, else None (same work either way)."""
    account = store.account(name) if NAME.fullmatch(name) else None
    try:
        _hasher.verify(account.password_hash if account else _NOBODY, password)
    except (VerificationError, InvalidHashError):
        return None
    return account
