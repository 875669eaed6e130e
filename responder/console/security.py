"""Who is logged in to the console, and what protects its pages.

- Sessions: Flask's signed cookie, opened only for ``/console`` paths (a delivery to the
  webhook never reads or writes one), HttpOnly, SameSite=Lax, and Secure unless the page is
  served over plain HTTP to localhost. The session names the account and a fingerprint of its
  password hash, so removing an account (or adding it again) ends its sessions.
- CSRF: every POST carries Flask-WTF's token (a form field or the ``X-CSRFToken`` header),
  checked before the view runs.
- Logins: at most ``PER_ACCOUNT`` failures per account name and ``PER_ADDRESS`` per client
  address in ``WINDOW``, counted in the store, so every process and instance shares them.
- The session secret comes from ``RESPONDER_CONSOLE_SECRET``; in the sandbox, when unset, one
  is made and kept in ``var/console-secret``. It is never logged.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from functools import wraps
from pathlib import Path
from typing import Any, TypeVar, cast

from flask import Flask, Request, abort, g, request, session
from flask.sessions import SecureCookieSession, SecureCookieSessionInterface
from flask_wtf.csrf import CSRFError, validate_csrf
from wtforms import ValidationError

from responder.accounts import Account, Role
from responder.config import Config
from responder.model import utcnow
from responder.ports import AccountStore

PREFIX = "/console"
WINDOW = timedelta(minutes=15)
PER_ACCOUNT = 5
PER_ADDRESS = 20
SANDBOX_SECRET = Path("var/console-secret")
LOCAL_HOSTS = frozenset({"localhost", "127.0.0.1", "[::1]", "::1"})

F = TypeVar("F", bound=Callable[..., Any])


class ConsoleSessions(SecureCookieSessionInterface):
    """Cookie sessions for the console's paths only; every other request gets none."""

    def open_session(self, app: Flask, request: Request) -> SecureCookieSession | None:
        if not request.path.startswith(PREFIX):
            return self.make_null_session(app)
        return super().open_session(app, request)

    def get_cookie_secure(self, app: Flask) -> bool:
        return not plain_local(request)

    def get_cookie_path(self, app: Flask) -> str:
        return PREFIX


def plain_local(req: Request) -> bool:
    """True for a page asked for over plain HTTP on this machine (a Secure cookie would be
    dropped there by the browser)."""
    host = req.host.rsplit(":", 1)[0] if not req.host.endswith("]") else req.host
    return req.scheme == "http" and host.lower() in LOCAL_HOSTS


def session_secret(config: Config) -> str:
    """The secret the console signs its cookies with; "" when none is configured (outside
    the sandbox the console then explains how to set one and lets no one in)."""
    if config.console_secret:
        return config.console_secret
    if not config.sandbox:
        return ""
    try:
        return SANDBOX_SECRET.read_text().strip()
    except FileNotFoundError:
        pass
    SANDBOX_SECRET.parent.mkdir(parents=True, exist_ok=True)
    made = secrets.token_urlsafe(32)
    try:
        with SANDBOX_SECRET.open("x") as file:  # another worker may have been first
            file.write(made)
        SANDBOX_SECRET.chmod(0o600)
    except FileExistsError:
        return SANDBOX_SECRET.read_text().strip()
    return made


def fingerprint(account: Account) -> str:
    return hashlib.sha256(account.password_hash.encode()).hexdigest()[:16]


@dataclass(frozen=True)
class Limit:
    """Why a login is refused before its password is even looked at."""

    message: str


def login_limited(store: AccountStore, name: str, address: str) -> Limit | None:
    now = utcnow()
    if store.failed_logins(f"address:{address}", now=now, window=WINDOW) >= PER_ADDRESS:
        return Limit("Too many failed logins from this device. Wait 15 minutes and try again.")
    if store.failed_logins(f"account:{name}", now=now, window=WINDOW) >= PER_ACCOUNT:
        return Limit("Too many failed logins for this name. Wait 15 minutes and try again.")
    return None


def note_failure(store: AccountStore, name: str, address: str) -> None:
    now = utcnow()
    store.failed_login(f"address:{address}", now=now, window=WINDOW)
    store.failed_login(f"account:{name}", now=now, window=WINDOW)


def log_in(account: Account) -> None:
    session.clear()  # nothing from before the login survives it
    session["user"] = account.name
    session["key"] = fingerprint(account)


def current_user(store: AccountStore) -> Account | None:
    """The account of this request's session, if it is still valid."""
    name = session.get("user")
    if not isinstance(name, str):
        return None
    account = store.account(name)
    if account is None or session.get("key") != fingerprint(account):
        session.clear()
        return None
    return account


def check_csrf() -> None:
    """Refuse (400) a change without a valid CSRF token."""
    token = request.form.get("csrf_token") or request.headers.get("X-CSRFToken")
    try:
        validate_csrf(token)
    except ValidationError as exc:
        raise CSRFError(str(exc)) from None


def editors_only(view: F) -> F:
    """A view that changes something: a viewer is refused (403)."""

    @wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        user: Account | None = g.get("user")
        if user is None or user.role is not Role.EDITOR:
            abort(403)
        return view(*args, **kwargs)

    return cast(F, wrapper)
