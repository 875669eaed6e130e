"""The console: web pages under ``/console`` where the people who own the replies write,
check, publish and roll back the rules.

A Flask blueprint beside the webhook, registered by :func:`register` (``create_app`` does,
unless ``RESPONDER_CONSOLE=false``). It reads and writes the rules folder and the store's
releases and accounts; nothing on the way of a delivery reads anything of it (its session is
opened for ``/console`` paths only: see :mod:`responder.console.security`).

Pages: Rules (and editing one), Try it, Publish, Releases, Activity (and Unanswered), Leads,
in the order of :data:`MENU`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from flask import (
    Blueprint,
    Flask,
    current_app,
    flash,
    g,
    redirect,
    render_template,
    request,
    url_for,
)
from flask.typing import ResponseReturnValue
from flask_wtf.csrf import CSRFError, generate_csrf
from werkzeug.exceptions import HTTPException

from responder.accounts import Account, Role
from responder.config import Config
from responder.console import accounts, security
from responder.errors import StoreUnavailable
from responder.model import Pause, utcnow
from responder.ports import AccountStore, ReleaseStore
from responder.store import open_accounts, releases_folder

# (endpoint, label) in the order of the menu.
MENU = (
    ("console.rules", "Rules"),
    ("console.try_it", "Try it"),
    ("console.publish", "Publish"),
    ("console.releases", "Releases"),
    ("console.activity", "Activity"),
    ("console.leads", "Leads"),
)
OPEN_VIEWS = frozenset({"console.login", "console.static"})


@dataclass
class Console:
    """What the console's views work with."""

    config: Config
    accounts: AccountStore
    releases: ReleaseStore
    service: Any  # responder.server.service.Service: the live book and its release

    @property
    def releases_dir(self) -> Path:
        return releases_folder(self.config.store_url, self.config.releases_dir)

    @property
    def zone(self) -> ZoneInfo:
        """The business's time zone: that of the rule book served here, else UTC."""
        zone = self.service.responder.book.settings.timezone
        return zone if zone is not None else ZoneInfo("UTC")


def console() -> Console:
    found: Console = current_app.extensions["responder.console"]
    return found


blueprint = Blueprint(
    "console",
    __name__,
    url_prefix=security.PREFIX,
    template_folder="templates",
    static_folder="static",
)


def register(app: Flask, service: Any) -> None:
    """Serve the console from ``app``, working with ``service``'s store and releases."""
    config: Config = service.config
    secret = security.session_secret(config)
    if secret:
        app.secret_key = secret
    app.session_interface = security.ConsoleSessions()
    app.config.update(
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_NAME="responder_console",
        PERMANENT_SESSION_LIFETIME=timedelta(hours=12),
        WTF_CSRF_TIME_LIMIT=None,  # valid as long as the session: an author may type for hours
    )
    app.extensions["responder.console"] = Console(
        config, open_accounts(config.store_url), service.releases, service
    )
    from responder.console import (  # noqa: F401  (their routes)
        views_activity,
        views_leads,
        views_releases,
        views_rules,
        views_try,
    )

    app.register_blueprint(blueprint)


@blueprint.before_request
def _guard() -> ResponseReturnValue | None:
    """Every page but the login asks for a logged-in account; every POST for a CSRF token."""
    if not current_app.secret_key:
        return render_template("setup.html", secret_missing=True), 503
    if request.endpoint == "console.static":
        return None
    if request.method == "POST":
        security.check_csrf()
    state = console()
    if not state.accounts.accounts():
        return render_template("setup.html", secret_missing=False), 200
    g.user = security.current_user(state.accounts)
    if g.user is None and request.endpoint not in OPEN_VIEWS:
        return redirect(url_for("console.login", next=request.path))
    return None


@blueprint.after_request
def _headers(response: Any) -> Any:
    response.headers.setdefault("Cache-Control", "no-store")
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    response.headers.setdefault("X-Frame-Options", "DENY")
    response.headers.setdefault(
        "Content-Security-Policy",
        "default-src 'self'; img-src 'self' data:; style-src 'self'; frame-ancestors 'none'",
    )
    response.headers.setdefault("Referrer-Policy", "same-origin")
    return response


@blueprint.context_processor
def _page_values() -> dict[str, Any]:
    user: Account | None = g.get("user")
    return {
        "everyone_paused": _everyone_paused() if user is not None else None,
        "csrf_token": generate_csrf,
        "menu": MENU,
        "user": user,
        "is_editor": user is not None and user.role is Role.EDITOR,
    }


def _everyone_paused() -> Pause | None:
    """The pause for everyone running now, for the red banner of every page (None when the
    store cannot say: the page saying the store is down must still render)."""
    try:
        pauses = console().service.store.pauses(now=utcnow())
    except StoreUnavailable:
        return None
    return next((p for p in pauses if p.everyone), None)


@blueprint.errorhandler(CSRFError)
def _csrf_refused(exc: CSRFError) -> ResponseReturnValue:
    message = "This page was open too long or came from elsewhere. Reload it and try again."
    return render_template("error.html", title="Not done", message=message), 400


@blueprint.errorhandler(StoreUnavailable)
def _store_down(exc: StoreUnavailable) -> ResponseReturnValue:
    current_app.logger.error("console: store unavailable: %s", exc)
    message = (
        "The store cannot be reached right now, so nothing was changed. Try again in a minute."
    )
    return render_template("error.html", title="Not available", message=message), 503


@blueprint.errorhandler(HTTPException)
def _http_error(exc: HTTPException) -> ResponseReturnValue:
    messages = {
        403: "Only editors can change the rules. Ask an editor, or to be made one.",
        404: "There is no such page.",
        405: "That cannot be done from this page.",
    }
    message = messages.get(exc.code or 0, exc.description or "That did not work.")
    return render_template("error.html", title="Not done", message=message), exc.code or 500


@blueprint.get("/")
def home() -> ResponseReturnValue:
    return redirect(url_for("console.rules"))


@blueprint.route("/login", methods=["GET", "POST"])
def login() -> ResponseReturnValue:
    if request.method == "GET":
        return render_template("login.html", name="", message="")
    state = console()
    name = request.form.get("name", "").strip()
    password = request.form.get("password", "")
    address = request.remote_addr or "unknown"
    limited = security.login_limited(state.accounts, name, address)
    if limited is not None:
        return render_template("login.html", name=name, message=limited.message), 429
    account = accounts.verify(state.accounts, name, password)
    if account is None:
        security.note_failure(state.accounts, name, address)
        message = "That name and password do not match an account. Check both and try again."
        return render_template("login.html", name=name, message=message), 401
    security.log_in(account)
    flash(f"Welcome, {account.name}.")
    target = request.args.get("next", "")
    if not target.startswith(security.PREFIX + "/") or target.startswith("//"):
        target = url_for("console.rules")
    return redirect(target)


@blueprint.post("/logout")
def logout() -> ResponseReturnValue:
    from flask import session

    session.clear()
    return redirect(url_for("console.login"))


__all__ = ["MENU", "Console", "blueprint", "console", "register"]
