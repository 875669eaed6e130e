"""The ``responder users`` commands: who may log in to the console, and as what.

``responder users`` lists the accounts, ``responder users add NAME --role editor|viewer``
adds one (the password is asked for twice, or read from standard input with
``--password-stdin``), ``responder users remove NAME`` removes one. Accounts are kept in the
store the service uses (``--store``, default ``$RESPONDER_STORE``).
"""

from __future__ import annotations

import argparse
import getpass
import sys
from typing import TYPE_CHECKING

from responder.accounts import Role
from responder.cli_releases import STORE_HELP, author
from responder.console.accounts import AccountError, add_account, remove_account
from responder.store import open_accounts

if TYPE_CHECKING:
    from responder.cli import Commands


def add_user_commands(commands: Commands) -> None:
    users = commands.add_parser("users", help="list, add and remove the console's accounts")
    users.add_argument("--store", help=STORE_HELP)
    users.set_defaults(command=_list)
    actions = users.add_subparsers(metavar="ACTION")

    add = actions.add_parser("add", help="add an account (asks for its password)")
    add.add_argument("name")
    add.add_argument(
        "--role",
        choices=[r.value for r in Role],
        required=True,
        help="editor: may change and publish the rules; viewer: may only look",
    )
    add.add_argument(
        "--password-stdin", action="store_true", help="read the password from standard input"
    )
    add.add_argument("--store", help=STORE_HELP)
    add.set_defaults(command=_add)

    remove = actions.add_parser("remove", help="remove an account")
    remove.add_argument("name")
    remove.add_argument("--store", help=STORE_HELP)
    remove.set_defaults(command=_remove)


def _list(args: argparse.Namespace) -> int:
    store = open_accounts(args.store)
    try:
        accounts = store.accounts()
    finally:
        store.close()
    if not accounts:
        print("No account yet. Add the first with:  responder users add NAME --role editor")
        return 0
    for account in accounts:
        print(f"{account.name:<24} {account.role.value}")
    return 0


def _add(args: argparse.Namespace) -> int:
    password = _password(args.password_stdin)
    if password is None:
        return 1
    store = open_accounts(args.store)
    try:
        add_account(store, args.name, Role(args.role), password, by=author())
    except AccountError as exc:
        print(f"responder: {exc}", file=sys.stderr)
        return 1
    finally:
        store.close()
    print(f"Added {args.role} '{args.name}'; they can now log in to the console at /console.")
    return 0


def _remove(args: argparse.Namespace) -> int:
    store = open_accounts(args.store)
    try:
        remove_account(store, args.name, by=author())
    except AccountError as exc:
        print(f"responder: {exc}", file=sys.stderr)
        return 1
    finally:
        store.close()
    print(f"Removed '{args.name}'; they can no longer log in.")
    return 0


def _password(from_stdin: bool) -> str | None:
    if from_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    first = getpass.getpass("Password: ")
    if getpass.getpass("Password again: ") != first:
        print("responder: the two passwords differ; nothing was added.", file=sys.stderr)
        return None
    return first
