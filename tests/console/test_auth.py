"""Who gets into the console, through Flask's test client: logins, their limits, sessions,
CSRF, roles, and a console that is switched off or has no account yet."""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient

from responder.accounts import Role
from responder.console.accounts import add_account, remove_account
from responder.server.web import create_app
from responder.simulator import Simulator
from responder.store import open_accounts
from tests.console.conftest import PASSWORD, VIEWER_PASSWORD, add_people, console_config


@pytest.fixture
def app(sim: Simulator, book: Path) -> Iterator[Flask]:
    add_people(book)
    app = create_app(console_config(sim, book))
    yield app
    app.extensions["responder"].close()


def token(client: FlaskClient, path: str = "/console/login") -> str:
    page = client.get(path)
    found = re.search(r'name="csrf_token" value="([^"]+)"', page.get_data(as_text=True))
    assert found, page.get_data(as_text=True)
    return found.group(1)


def log_in(client: FlaskClient, name: str = "sam", password: str = PASSWORD) -> int:
    response = client.post(
        "/console/login", data={"name": name, "password": password, "csrf_token": token(client)}
    )
    return response.status_code


def test_every_page_asks_for_a_login(app: Flask) -> None:
    client = app.test_client()
    for path in ("/console/", "/console/rules", "/console/publish", "/console/releases"):
        response = client.get(path)
        assert response.status_code == 302 and "/console/login" in response.headers["Location"]


def test_a_right_password_gets_in_and_a_wrong_one_does_not(app: Flask) -> None:
    client = app.test_client()
    assert log_in(client, "sam", "not the password") == 401
    assert client.get("/console/rules").status_code == 302
    assert log_in(client) == 302
    assert client.get("/console/rules").status_code == 200


def test_failed_logins_are_limited_per_account_even_with_the_right_password(app: Flask) -> None:
    client = app.test_client()
    for _ in range(5):
        assert log_in(client, "sam", "guess") == 401
    assert log_in(client, "sam", PASSWORD) == 429
    assert log_in(client, "vic", VIEWER_PASSWORD) == 302  # another account is not locked


def test_failed_logins_are_limited_per_address(app: Flask) -> None:
    client = app.test_client()
    for attempt in range(20):
        assert log_in(client, f"nobody{attempt}", "guess") == 401
    assert log_in(client, "vic", VIEWER_PASSWORD) == 429


def test_the_session_cookie_is_httponly_lax_and_secure_unless_local_http(app: Flask) -> None:
    local = app.test_client()
    local.get("/console/login")
    cookie = local.get_cookie("responder_console", path="/console")
    assert cookie is not None and cookie.http_only and cookie.same_site == "Lax"
    assert not cookie.secure
    remote = app.test_client()
    response = remote.get("/console/login", base_url="https://console.example")
    header = response.headers["Set-Cookie"]
    assert "Secure" in header and "HttpOnly" in header and "SameSite=Lax" in header


def test_a_change_without_the_csrf_token_is_refused(app: Flask, book: Path) -> None:
    client = app.test_client()
    log_in(client)
    before = (book / "rules" / "faq.yaml").read_text()
    response = client.post(
        "/console/rules/switch", data={"file": "faq.yaml", "index": "0", "on": "0"}
    )
    assert response.status_code == 400
    assert (book / "rules" / "faq.yaml").read_text() == before
    good = token(client, "/console/rules")
    response = client.post(
        "/console/rules/switch",
        data={"file": "faq.yaml", "index": "0", "on": "0", "csrf_token": good},
    )
    assert response.status_code == 302
    assert "enabled: false" in (book / "rules" / "faq.yaml").read_text()


def test_a_viewer_sees_every_page_but_changes_nothing(app: Flask, book: Path) -> None:
    client = app.test_client()
    log_in(client, "vic", VIEWER_PASSWORD)
    for path in ("/console/rules", "/console/publish", "/console/releases"):
        assert client.get(path).status_code == 200
    good = token(client, "/console/rules")
    for path, data in (
        ("/console/publish", {}),
        ("/console/rules/switch", {"file": "faq.yaml", "index": "0", "on": "0"}),
        ("/console/releases/1/rollback", {}),
    ):
        assert client.post(path, data={**data, "csrf_token": good}).status_code == 403
    assert "enabled: false" not in (book / "rules" / "faq.yaml").read_text()


def test_removing_an_account_ends_its_sessions(app: Flask, book: Path) -> None:
    client = app.test_client()
    log_in(client)
    assert client.get("/console/rules").status_code == 200
    accounts = open_accounts(str(book / "responder.db"))
    remove_account(accounts, "sam", by="test")
    accounts.close()
    assert client.get("/console/rules").status_code == 302


def test_passwords_and_the_session_secret_never_reach_the_log(
    app: Flask, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    client = app.test_client()
    log_in(client, "sam", "a wrong password here")
    log_in(client)
    logged = caplog.text
    assert PASSWORD not in logged and "a wrong password here" not in logged
    assert str(app.secret_key) not in logged


def test_without_an_account_the_console_only_says_how_to_make_one(
    sim: Simulator, book: Path
) -> None:
    app = create_app(console_config(sim, book))
    try:
        page = app.test_client().get("/console/login").get_data(as_text=True)
    finally:
        app.extensions["responder"].close()
    assert "responder users add YOUR-NAME --role editor" in page
    assert 'name="password"' not in page


def test_the_console_can_be_switched_off(sim: Simulator, book: Path) -> None:
    app = create_app(console_config(sim, book, console=False))
    try:
        assert app.test_client().get("/console/login").status_code == 404
    finally:
        app.extensions["responder"].close()


def test_a_delivery_gets_no_session_cookie(app: Flask) -> None:
    response = app.test_client().post("/webhook", data=b"{}")
    assert "Set-Cookie" not in response.headers


def test_outside_the_sandbox_a_missing_secret_keeps_everyone_out(
    sim: Simulator, book: Path
) -> None:
    add_people(book)
    app = create_app(console_config(sim, book, console_secret=""))
    try:
        page = app.test_client().get("/console/login")
    finally:
        app.extensions["responder"].close()
    assert page.status_code == 503
    assert "RESPONDER_CONSOLE_SECRET" in page.get_data(as_text=True)


def test_the_sandbox_makes_its_session_secret_once_and_keeps_it_private(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from responder.config import Config
    from responder.console.security import SANDBOX_SECRET, session_secret

    monkeypatch.chdir(tmp_path)
    first = session_secret(Config(sandbox=True))
    assert len(first) >= 32
    assert session_secret(Config(sandbox=True)) == first  # every worker signs alike
    assert (tmp_path / SANDBOX_SECRET).stat().st_mode & 0o077 == 0
    assert session_secret(Config(sandbox=True, console_secret="configured")) == "configured"
    assert session_secret(Config()) == ""  # outside the sandbox only configuration gives one


def test_on_a_redis_store_accounts_logins_and_publishing_work_alike(
    sim: Simulator, book: Path, redis_url: str, redis_prefixes: Callable[[], str]
) -> None:
    store = f"{redis_url}?prefix={redis_prefixes()}"
    accounts = open_accounts(store)
    add_account(accounts, "sam", Role.EDITOR, PASSWORD, by="test")
    accounts.close()
    rules = book / "rules" / "faq.yaml"
    app = create_app(console_config(sim, book, store_url=store))
    try:
        client = app.test_client()
        assert log_in(client, "sam", "wrong password") == 401
        assert log_in(client) == 302
        rules.write_text(rules.read_text().replace("cooldown: 10m", "cooldown: 20m"))
        published = client.post(
            "/console/publish", data={"csrf_token": token(client, "/console/publish")}
        )
        assert published.status_code == 302
        assert app.extensions["responder"].releases.live_number() == 2
        page = client.get("/console/releases").get_data(as_text=True)
        assert "sam published release 2" in page
    finally:
        app.extensions["responder"].close()
