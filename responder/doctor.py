"""``responder doctor``: is this configuration ready to serve? One line per check.

Each check ends ``OK``, ``WARN`` (works, but look) or ``FAIL`` (the service cannot work like
this), with a sentence saying what was found and, for a problem, what to change. Checks that
need something an earlier one found missing are left out rather than failed twice. No check
changes anything but old rows the service would prune anyway (the store's write test), and
no line shows a secret.
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime

from responder.config import Config, load_config
from responder.engine import authoring
from responder.engine.rulebook import RuleBook
from responder.errors import ConfigError, PlatformRejected, ResponderError, RetryableError
from responder.model import Connection, utcnow
from responder.platform.client import AbcClient
from responder.store import open_store

OK, WARN, FAIL = "OK", "WARN", "FAIL"
# The ABC API gets this long to answer the doctor, retries included.
API_DEADLINE = 15.0
# Clocks this far apart are worth a warning; beyond the timestamp tolerance deliveries are
# refused as stale.
CLOCK_WARN_SECONDS = 30.0


@dataclass(frozen=True)
class Check:
    status: str
    name: str
    detail: str

    def __str__(self) -> str:
        return f"{self.status:<4}  {self.name}: {self.detail}"


def diagnose(environ: Mapping[str, str] | None = None) -> Iterator[Check]:
    """Run every check on the configuration from ``environ`` (default: the environment)."""
    try:
        config = load_config(environ, check=False)
    except ConfigError as exc:
        yield Check(FAIL, "configuration", str(exc))
        return
    yield from _settings(config)
    yield _store(config)
    book_check, book = _rules(config)
    yield book_check
    if not config.api_key:
        return
    try:
        client = AbcClient(
            config.api_url,
            config.api_key,
            connect_timeout=config.connect_timeout,
            read_timeout=config.read_timeout,
            max_attempts=1,  # an answer, not a retry: the doctor reports what it found
        )
    except ConfigError as exc:
        yield Check(FAIL, "ABC API", str(exc))
        return
    try:
        api_check, connections = _api(client)
        yield api_check
        if connections is not None:
            yield _clock(client.last_date, config)
            yield _channels(connections, config, book)
    finally:
        client.close()


def connections(environ: Mapping[str, str] | None = None) -> list[Connection]:
    """The company's channel connections, as the configured API key sees them.

    Raises ConfigError when the key or URL is missing or unusable, PlatformRejected when the
    API refuses, RetryableError when it cannot be reached.
    """
    config = load_config(environ, check=False)
    if not config.api_key:
        raise ConfigError("ABC_API_KEY is not set: set it to the company's API key")
    client = AbcClient(config.api_url, config.api_key, max_attempts=1)
    try:
        return client.connections(deadline=time.monotonic() + API_DEADLINE)
    finally:
        client.close()


def _settings(config: Config) -> Iterator[Check]:
    if config.webhook_secrets:
        count = len(config.webhook_secrets)
        yield Check(OK, "webhook secret", f"{count} set (ABC_WEBHOOK_SECRET)")
    else:
        yield Check(
            FAIL,
            "webhook secret",
            "ABC_WEBHOOK_SECRET is not set: no delivery could be verified; set it to the "
            "secret shown for the webhook subscription",
        )
    if not config.api_key:
        yield Check(FAIL, "API key", "ABC_API_KEY is not set: set it to the company's API key")
        return
    try:  # the other rules the service starts with (lease, senders...)
        Config.check(config if config.webhook_secrets else _with_secret(config))
    except ConfigError as exc:
        yield Check(FAIL, "settings", str(exc))
    else:
        yield Check(OK, "settings", "every setting can be used")


def _with_secret(config: Config) -> Config:
    return replace(config, webhook_secrets=("checked above",))


def _store(config: Config) -> Check:
    try:
        store = open_store(config.store_url)
    except ResponderError as exc:
        return Check(FAIL, "store", f"cannot be opened: {exc} (RESPONDER_STORE)")
    try:
        store.ping()
        store.prune(now=utcnow(), retention=config.retention)  # a write, harmless
    except ResponderError as exc:
        return Check(FAIL, "store", f"not usable: {exc} (RESPONDER_STORE)")
    finally:
        store.close()
    return Check(OK, "store", "reachable and writable")


def _rules(config: Config) -> tuple[Check, RuleBook | None]:
    try:
        report = authoring.check(config.rules_dir, config.templates_dir)
    except ResponderError as exc:
        return Check(FAIL, "rules", str(exc)), None
    if not report.ok:
        count = len(report.errors)
        detail = f"{count} error(s) in {config.rules_dir}: run 'responder check' to see them"
        return Check(FAIL, "rules", detail), report.book
    rules = len(report.book.all_rules) if report.book else 0
    warnings = f", {len(report.warnings)} warning(s)" if report.warnings else ""
    return Check(OK, "rules", f"{rules} rules pass check{warnings}"), report.book


def _api(client: AbcClient) -> tuple[Check, list[Connection] | None]:
    try:
        found = client.connections(deadline=time.monotonic() + API_DEADLINE)
    except PlatformRejected as exc:
        return Check(FAIL, "API key", str(exc)), None
    except RetryableError as exc:
        return Check(FAIL, "ABC API", f"cannot be reached: {exc} (ABC_API_URL)"), None
    return Check(OK, "API key", f"works: {len(found)} channel connection(s)"), found


def _clock(date: str | None, config: Config) -> Check:
    now = datetime.now(UTC)
    if date is None:
        if now.year < 2024:
            return Check(FAIL, "clock", f"this machine's clock says {now:%Y-%m-%d}: set it")
        return Check(OK, "clock", "the API sent no time to compare with")
    try:
        theirs = parsedate_to_datetime(date)
    except (TypeError, ValueError):
        return Check(OK, "clock", "the API's time could not be read")
    apart = abs((now - theirs).total_seconds())
    if apart > config.timestamp_tolerance.total_seconds():
        return Check(
            FAIL,
            "clock",
            f"{apart:.0f} s apart from the ABC API's: every delivery would be refused as stale; "
            "set this machine's clock (NTP)",
        )
    if apart > CLOCK_WARN_SECONDS:
        return Check(WARN, "clock", f"{apart:.0f} s apart from the ABC API's; check NTP")
    return Check(OK, "clock", "agrees with the ABC API's")


def _channels(found: list[Connection], config: Config, book: RuleBook | None) -> Check:
    connected = {c.channel for c in found if c.connected}
    windowed = set(config.windowed_channels)
    if book is not None and book.all_rules and all(r.channels for r in book.all_rules):
        windowed &= set().union(*(r.channels for r in book.all_rules))  # the rules' channels
    if not windowed:
        return Check(OK, "channels", "the rules answer no windowed channel")
    if connected & windowed:
        names = ", ".join(sorted(connected & windowed))
        return Check(OK, "channels", f"connected: {names}")
    expected = ", ".join(sorted(windowed))
    return Check(
        WARN,
        "channels",
        f"no connected {expected} channel: replies on it would have nowhere to go "
        "(connect it in the platform's settings)",
    )
