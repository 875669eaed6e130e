"""Connecting to Redis: the URL (with its ``?prefix=``), the key prefix, the client's
timeouts and retries, and the server version the store needs."""

from __future__ import annotations

from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import redis
from redis.backoff import ExponentialWithJitterBackoff
from redis.retry import Retry

from responder.errors import ConfigError

MIN_VERSION = (6, 2)


def parse_version(text: str) -> tuple[int, ...]:
    """``"7.0.15"`` -> ``(7, 0, 15)``; parts that are not numbers end the tuple."""
    parts: list[int] = []
    for part in text.strip().split("."):
        digits = ""
        for char in part:
            if not char.isdigit():
                break
            digits += char
        if not digits:
            break
        parts.append(int(digits))
        if len(digits) != len(part):
            break
    return tuple(parts)


def check_version(text: str) -> None:
    """Raise :class:`ConfigError` unless ``text`` names Redis 6.2 or newer."""
    version = parse_version(text)
    if not version:
        raise ConfigError(
            f"The Redis server reports no version this store understands ({text!r}): "
            "Redis 6.2 or newer is required."
        )
    if version < MIN_VERSION:
        raise ConfigError(f"Redis {text} is too old: 6.2 or newer is required.")


def split_prefix(url: str) -> tuple[str, str | None]:
    """Take the ``prefix`` query parameter out of a Redis URL: ``(url without it, prefix)``."""
    parts = urlsplit(url)
    query = parse_qsl(parts.query, keep_blank_values=True)
    prefixes = [value for name, value in query if name == "prefix"]
    rest = urlencode([(name, value) for name, value in query if name != "prefix"])
    return urlunsplit(parts._replace(query=rest)), (prefixes[-1] if prefixes else None)


def check_prefix(prefix: str) -> str:
    if not prefix or any(c.isspace() or c in "*?[]{}" for c in prefix):
        raise ConfigError(
            f"The Redis key prefix {prefix!r} cannot be used: give a non-empty name without "
            "spaces or any of * ? [ ] { }."
        )
    return prefix


def connect(url: str, timeout: float) -> redis.Redis:
    """A client for ``url`` (connecting lazily); ConfigError when the URL cannot be used.

    One call waits about ``timeout`` seconds at most for a server that does not answer: a
    timeout is never tried again. redis-py retries the connection, its handshake and the
    command each under the same policy, one inside the other, so retrying timeouts made a
    server that accepts connections and never answers hold every call for nine of them.
    """
    try:
        return redis.Redis.from_url(
            url,
            decode_responses=True,
            # RESP2 talks to every server version, so an old one gets the version message
            # of RedisStore._open rather than a failed HELLO handshake.
            protocol=2,
            socket_timeout=timeout,
            socket_connect_timeout=timeout,
            health_check_interval=15,
            # A connection that dropped (a restart, an idle connection closed) is tried again
            # at once, on a fresh one. A repeated script is harmless: a repeated accept or
            # finish answers "already done" (the job stays persisted and leased), a repeated
            # reservation refuses.
            retry=Retry(
                ExponentialWithJitterBackoff(base=0.05, cap=0.2),
                retries=1,
                supported_errors=(redis.exceptions.ConnectionError,),
            ),
        )
    except (ValueError, TypeError) as exc:
        raise ConfigError(f"The Redis URL cannot be used: {exc}.") from exc
