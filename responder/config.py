"""The service's configuration, in three layers: defaults, then the environment, then overrides.

This module is the only reader of the environment: ``ENVIRONMENT`` maps each variable to its
setting, :func:`load_config` reads them all and :func:`environment_setting` one (for the
commands that need a single value, such as a folder, and must not fail on an unrelated
variable). The README's configuration table lists them with their defaults. The few settings
without a variable are fixed by design (the 24-hour window, the budget period, the body limit)
or tuned only in tests. Secrets (the API key and the webhook secrets) are kept out of ``repr``
so they cannot reach a log by accident.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from datetime import timedelta
from pathlib import Path
from typing import Any

from responder.engine.durations import parse_duration
from responder.errors import ConfigError

DEFAULT_API_URL = "https://api.abcsalesbot.com/v1"


@dataclass(frozen=True)
class Config:
    api_key: str = field(default="", repr=False)
    api_url: str = DEFAULT_API_URL
    webhook_secrets: tuple[str, ...] = field(default=(), repr=False)
    rules_dir: Path = Path("rules")
    templates_dir: Path = Path("templates")
    store_url: str = "var/responder.db"
    # Where releases are written out to be loaded; None: beside an SQLite store's file, else
    # var/releases (responder.store.releases_folder).
    releases_dir: Path | None = None
    # How often each process looks for a newly published release.
    release_poll: timedelta = timedelta(seconds=1)
    # Publish the rules folder whenever a file in it is saved and passes check (responder
    # serve; on by default in the sandbox).
    watch_rules: bool | None = None
    dry_run: bool = False
    # Sandbox: talking to the local simulator; a webhook secret is then not required.
    sandbox: bool = False
    # The web console under /console (responder/console); its session cookies are signed with
    # console_secret (in the sandbox, one is made and kept in var/console-secret when unset).
    console: bool = True
    console_secret: str = field(default="", repr=False)

    max_body_bytes: int = 1024 * 1024
    timestamp_tolerance: timedelta = timedelta(seconds=300)
    escalation_pause: timedelta = timedelta(hours=24)
    takeover_pause: timedelta = timedelta(hours=12)
    reply_budget: int = 5
    budget_period: timedelta = timedelta(hours=1)
    windowed_channels: frozenset[str] = frozenset({"whatsapp"})
    window: timedelta = timedelta(hours=24)
    window_margin: timedelta = timedelta(minutes=10)
    # How long one job may keep trying; the lease outlives it so that a live holder is never
    # overtaken by a second process.
    job_deadline: timedelta = timedelta(seconds=60)
    lease: timedelta = timedelta(seconds=90)
    # Attempts of one job (the first included) while nothing about it is definite; then it
    # is recorded as failed.
    max_attempts: int = 3
    senders: int = 64
    # Not ready while a job has waited this long for a free sender (the senders are swamped).
    sender_wait: timedelta = timedelta(seconds=5)
    janitor_interval: timedelta = timedelta(seconds=5)
    connections_ttl: timedelta = timedelta(minutes=5)
    retention: timedelta = timedelta(days=30)
    connect_timeout: float = 3.0
    read_timeout: float = 10.0

    # How gunicorn serves it (read by responder/server/gunicorn_conf.py).
    bind: str = "127.0.0.1:8080"
    workers: int = 2
    # Each worker on a core of its own (responder/server/cores.py).
    pin_workers: bool = True
    threads: int = 8
    # A client must send a request's headers, then its body, within these (responder/server/
    # worker.py); until then it holds a socket, never a thread.
    header_timeout: timedelta = timedelta(seconds=10)
    body_timeout: timedelta = timedelta(seconds=10)
    log_level: str = "info"
    # "plain" (one line of text per record) or "json" (one JSON object per line).
    log_format: str = "plain"
    access_log: str = ""  # "-" for stdout; off when empty: a line per delivery costs CPU

    # Prometheus metrics at /metrics (responder/server/metrics.py); the folder where the
    # workers count (None: var/metrics/<bind address>, one per instance), and a bearer token
    # a scrape must send (empty: none asked for).
    metrics: bool = True
    metrics_dir: Path | None = None
    metrics_token: str = field(default="", repr=False)

    def metrics_folder(self) -> Path:
        """Where the gunicorn workers keep their metrics (emptied when the master starts)."""
        if self.metrics_dir is not None:
            return self.metrics_dir
        return Path("var") / "metrics" / re.sub(r"[^A-Za-z0-9.-]", "_", self.bind)

    def check(self) -> Config:
        """Refuse settings the service cannot run with; return self for chaining."""
        if not self.webhook_secrets and not self.sandbox:
            raise ConfigError(
                "ABC_WEBHOOK_SECRET is not set: without it no delivery can be verified. Set it to "
                "the secret shown for your webhook subscription (several, comma-separated, while "
                "rotating); for the local sandbox, run 'responder serve' without ABC_API_KEY."
            )
        if not self.api_key:
            raise ConfigError("ABC_API_KEY is not set: the service cannot send replies without it")
        if self.lease <= self.job_deadline:
            raise ConfigError(
                "RESPONDER_LEASE must be longer than RESPONDER_JOB_DEADLINE, or a slow job could "
                "be taken over while its first holder is still sending"
            )
        if self.senders < 1 or self.max_attempts < 1:
            raise ConfigError("RESPONDER_SENDERS and RESPONDER_MAX_ATTEMPTS must be at least 1")
        return self


# variable -> (field, parser)
def _secrets(text: str) -> tuple[str, ...]:
    return tuple(s.strip() for s in text.split(",") if s.strip())


def _flag(text: str) -> bool:
    value = text.strip().lower()
    if value in ("1", "true", "yes", "on"):
        return True
    if value in ("", "0", "false", "no", "off"):
        return False
    raise ValueError(f"'{text}' is not a yes or no: use true or false")


def _channels(text: str) -> frozenset[str]:
    return frozenset(c.strip().lower() for c in text.split(",") if c.strip())


def _log_format(text: str) -> str:
    value = text.strip().lower()
    if value not in ("plain", "json"):
        raise ValueError(f"'{text}' is not a log format: use plain or json")
    return value


_LOG_LEVELS = ("debug", "info", "warning", "error", "critical")


def _log_level(text: str) -> str:
    value = text.strip().lower()
    if value not in _LOG_LEVELS:
        raise ValueError(f"'{text}' is not a log level: use one of {', '.join(_LOG_LEVELS)}")
    return value


def _bind(text: str) -> str:
    """gunicorn's bind address: host:port, [v6]:port, or unix:/path."""
    value = text.strip()
    if value.startswith("unix:"):
        return value
    _, colon, port = value.rpartition(":")
    if not colon or not port.isdigit() or not 0 < int(port) < 65536:
        raise ValueError(f"'{text}' is not host:port, like 127.0.0.1:8080")
    return value


def _whole_number(text: str) -> int:
    try:
        return int(text.strip())
    except ValueError:
        raise ValueError(f"'{text}' is not a whole number, like 2") from None


def _positive_int(text: str) -> int:
    value = _whole_number(text)
    if value < 0:
        raise ValueError("must not be negative")
    return value


def _count(text: str) -> int:
    value = _whole_number(text)
    if value < 1:
        raise ValueError("must be at least 1")
    return value


ENVIRONMENT: Mapping[str, tuple[str, Any]] = {
    "ABC_API_KEY": ("api_key", str),
    "ABC_API_URL": ("api_url", lambda s: s.rstrip("/")),
    "ABC_WEBHOOK_SECRET": ("webhook_secrets", _secrets),
    "RESPONDER_RULES": ("rules_dir", Path),
    "RESPONDER_TEMPLATES": ("templates_dir", Path),
    "RESPONDER_STORE": ("store_url", str),
    "RESPONDER_RELEASES_DIR": ("releases_dir", Path),
    "RESPONDER_RELEASE_POLL": ("release_poll", parse_duration),
    "RESPONDER_WATCH_RULES": ("watch_rules", _flag),
    "RESPONDER_DRY_RUN": ("dry_run", _flag),
    "RESPONDER_SANDBOX": ("sandbox", _flag),
    "RESPONDER_CONSOLE": ("console", _flag),
    "RESPONDER_CONSOLE_SECRET": ("console_secret", str.strip),
    "RESPONDER_TIMESTAMP_TOLERANCE": ("timestamp_tolerance", parse_duration),
    "RESPONDER_ESCALATION_PAUSE": ("escalation_pause", parse_duration),
    "RESPONDER_TAKEOVER_PAUSE": ("takeover_pause", parse_duration),
    "RESPONDER_REPLY_BUDGET": ("reply_budget", _positive_int),
    "RESPONDER_WINDOWED_CHANNELS": ("windowed_channels", _channels),
    "RESPONDER_WINDOW_MARGIN": ("window_margin", parse_duration),
    "RESPONDER_JOB_DEADLINE": ("job_deadline", parse_duration),
    "RESPONDER_LEASE": ("lease", parse_duration),
    "RESPONDER_SENDERS": ("senders", _positive_int),
    "RESPONDER_MAX_ATTEMPTS": ("max_attempts", _positive_int),
    "RESPONDER_JANITOR_INTERVAL": ("janitor_interval", parse_duration),
    "RESPONDER_RETENTION": ("retention", parse_duration),
    "RESPONDER_BIND": ("bind", _bind),
    "RESPONDER_WORKERS": ("workers", _count),
    "RESPONDER_PIN_WORKERS": ("pin_workers", _flag),
    "RESPONDER_THREADS": ("threads", _count),
    "RESPONDER_HEADER_TIMEOUT": ("header_timeout", parse_duration),
    "RESPONDER_BODY_TIMEOUT": ("body_timeout", parse_duration),
    "RESPONDER_LOG_LEVEL": ("log_level", _log_level),
    "RESPONDER_ACCESS_LOG": ("access_log", str.strip),
    "RESPONDER_LOG_FORMAT": ("log_format", _log_format),
    "RESPONDER_METRICS": ("metrics", _flag),
    "RESPONDER_METRICS_DIR": ("metrics_dir", Path),
    "RESPONDER_METRICS_TOKEN": ("metrics_token", str.strip),
}


def load_config(
    environ: Mapping[str, str] | None = None,
    overrides: Mapping[str, Any] | None = None,
    *,
    check: bool = True,
) -> Config:
    """Defaults, then ``environ`` (default ``os.environ``), then ``overrides`` (field names).

    Raises ConfigError naming the variable for a value that cannot be read (one line for
    each such variable), and, unless
    ``check`` is false, for settings the service cannot run with (see :meth:`Config.check`).
    """
    values: dict[str, Any] = {}
    problems: list[str] = []
    for variable, (name, parse) in ENVIRONMENT.items():
        if raw := _environ(environ).get(variable):
            try:
                values[name] = _read(variable, raw, parse)
            except ConfigError as exc:
                problems.append(str(exc))
    if len(problems) > 1:  # every one at once: fixing them one start at a time is tedious
        raise ConfigError(
            "these settings cannot be used:\n" + "\n".join(f"  {p}" for p in problems)
        )
    if problems:
        raise ConfigError(problems[0])
    known = {f.name for f in fields(Config)}
    for name, value in (overrides or {}).items():
        if name not in known:
            raise ConfigError(f"unknown setting '{name}'")
        values[name] = value
    config = replace(Config(), **values)
    return config.check() if check else config


def environment_setting(name: str, environ: Mapping[str, str] | None = None) -> Any:
    """The value of the setting ``name`` (a Config field): from its variable, else the default.

    Reads that one variable only; raises ConfigError naming it when its value cannot be read.
    """
    for variable, (field_name, parse) in ENVIRONMENT.items():
        if field_name == name and (raw := _environ(environ).get(variable)):
            return _read(variable, raw, parse)
    return getattr(Config(), name)


# prometheus-client's own variable: where each process of a gunicorn instance counts its
# metrics (set by the master from Config.metrics_folder, read by every worker; see
# responder/server/metrics.py).
METRICS_MULTIPROCESS_VARIABLE = "PROMETHEUS_MULTIPROC_DIR"


def metrics_multiprocess_folder() -> str | None:
    """The folder the processes of this instance count their metrics in, if shared."""
    return _environ(None).get(METRICS_MULTIPROCESS_VARIABLE) or None


def share_metrics_folder(folder: Path) -> None:
    """Have the processes started from now on count their metrics in ``folder``."""
    os.environ.update({METRICS_MULTIPROCESS_VARIABLE: str(folder.resolve())})


#: Set by ``responder serve`` for the processes it starts (gunicorn and the simulator): its
#: own process id, so that they end with it (responder/lifeline.py). Not a setting.
STARTED_BY_VARIABLE = "RESPONDER_STARTED_BY"


def started_by() -> int | None:
    """The process id of the ``responder serve`` that started this process, if one did."""
    value = _environ(None).get(STARTED_BY_VARIABLE, "")
    return int(value) if value.isdigit() else None


def _environ(environ: Mapping[str, str] | None) -> Mapping[str, str]:
    return os.environ if environ is None else environ


def _read(variable: str, raw: str, parse: Any) -> Any:
    try:
        return parse(raw)
    except ValueError as exc:
        raise ConfigError(f"{variable} cannot be used: {exc}") from None
