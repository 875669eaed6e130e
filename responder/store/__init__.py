"""The state store: pick an engine from a URL.

``open_store("sqlite:///var/lib/responder/state.db")`` (or ``sqlite:relative/path.db``, or a
plain file path) opens the embedded SQLite store; ``open_store("redis://host:6379/0")`` (or
``rediss://`` for TLS, optionally ``?prefix=name``) the shared Redis store. Both implement
:class:`responder.ports.Store`.

May import ``responder.ports``, ``responder.model``, ``responder.errors``, sqlite3 and redis;
nothing of the engine, the platform or the server.
"""

from __future__ import annotations

import re
from pathlib import Path

from responder.errors import ConfigError
from responder.ports import AccountStore, InstanceStore, ReleaseStore, Store

__all__ = [
    "open_accounts",
    "open_instances",
    "open_releases",
    "open_store",
    "releases_folder",
]

_SCHEME = re.compile(r"^([A-Za-z][A-Za-z0-9+.-]*):")


def open_store(url: str, *, prefix: str | None = None) -> Store:
    """Open the store ``url`` names.

    ``prefix`` (Redis only) names the deployment's keys; it wins over a ``?prefix=`` in the
    URL (default ``responder``). Raises :class:`ConfigError` for a URL that names no
    supported store, and whatever the engine raises when opening
    (:class:`StoreUnavailable` when it cannot be reached or the file cannot be opened).
    """
    text, scheme = _split(url)
    if scheme in ("redis", "rediss"):
        from responder.store.redis_store import RedisStore

        return RedisStore(text, prefix=prefix)
    _no_prefix(prefix)
    from responder.store.sqlite import SQLiteStore

    return SQLiteStore(_sqlite_path(text, scheme))


def open_releases(url: str, *, prefix: str | None = None) -> ReleaseStore:
    """Open the published rule books kept beside the store ``url`` names (see open_store)."""
    text, scheme = _split(url)
    if scheme in ("redis", "rediss"):
        from responder.store.redis_releases import RedisReleases

        return RedisReleases(text, prefix=prefix)
    _no_prefix(prefix)
    from responder.store.sqlite_releases import SQLiteReleases

    return SQLiteReleases(_sqlite_path(text, scheme))


def open_accounts(url: str, *, prefix: str | None = None) -> AccountStore:
    """Open the console's accounts kept beside the store ``url`` names (see open_store)."""
    text, scheme = _split(url)
    if scheme in ("redis", "rediss"):
        from responder.store.redis_accounts import RedisAccounts

        return RedisAccounts(text, prefix=prefix)
    _no_prefix(prefix)
    from responder.store.sqlite_accounts import SQLiteAccounts

    return SQLiteAccounts(_sqlite_path(text, scheme))


def open_instances(url: str, *, prefix: str | None = None) -> InstanceStore:
    """Open the serving processes' records kept beside the store ``url`` names (see
    open_store)."""
    text, scheme = _split(url)
    if scheme in ("redis", "rediss"):
        from responder.store.redis_instances import RedisInstances

        return RedisInstances(text, prefix=prefix)
    _no_prefix(prefix)
    from responder.store.sqlite_instances import SQLiteInstances

    return SQLiteInstances(_sqlite_path(text, scheme))


def releases_folder(url: str, configured: Path | None = None) -> Path:
    """Where a process writes releases out to load them: ``configured`` if given, else a
    ``releases`` folder beside an SQLite store's file, else ``var/releases``."""
    if configured is not None:
        return configured
    text, scheme = _split(url)
    if scheme in ("redis", "rediss"):
        return Path("var/releases")
    return _sqlite_path(text, scheme).parent / "releases"


def _sqlite_path(text: str, scheme: str) -> Path:
    example = "sqlite:///absolute/path/state.db or sqlite:relative/path/state.db"
    if not text:
        raise ConfigError(f"The store URL is empty: give {example}, or redis://host:6379/0.")
    if scheme == "sqlite":
        rest = text[len("sqlite:") :]
        if rest.startswith("///"):
            rest = "/" + rest.lstrip("/")
        elif rest.startswith("//"):
            raise ConfigError(f"The store URL {text!r} has no usable path: write {example}.")
        if not rest or rest == ":memory:":
            raise ConfigError(
                f"The store URL {text!r} names no file: the store must live in a file "
                f"that every worker can open, e.g. {example}."
            )
        return Path(rest)
    if "://" in text or (scheme and len(scheme) > 1):
        raise ConfigError(
            f"The store URL {text!r} names no supported store: use {example}, "
            "or redis://host:6379/0 (rediss:// for TLS)."
        )
    return Path(text)


def _split(url: str) -> tuple[str, str]:
    """``url`` without its surrounding spaces, and its scheme in lower case ("" for a path)."""
    text = url.strip()
    scheme_match = _SCHEME.match(text)
    return text, scheme_match.group(1).lower() if scheme_match else ""


def _no_prefix(prefix: str | None) -> None:
    if prefix is not None:
        raise ConfigError("A key prefix only applies to a Redis store, not to SQLite.")
