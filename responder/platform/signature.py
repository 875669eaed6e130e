"""Webhook signature and timestamp checks (no I/O).

The platform signs every delivery with HMAC-SHA256 over the raw request body and sends the
hex digest in ``X-AbcSalesAI-Signature``. The timestamp header is not part of the signed
bytes, so :func:`check_timestamp` only narrows the replay window; idempotency on the delivery
id does the rest.

Error messages are meant for the service log. They never contain a secret or a digest made
with one.
"""

from __future__ import annotations

import hashlib
import hmac
import math
from collections.abc import Sequence

from responder.errors import BadSignature, StaleDelivery

#: Epoch values at or above this are read as milliseconds. 1e11 seconds is the year 5138,
#: 1e11 milliseconds is March 1973: no real delivery is ambiguous between the two.
MILLISECONDS_THRESHOLD = 1e11

_PREFIX = "sha256="
_HEX_DIGITS = frozenset("0123456789abcdef")
_DIGEST_LENGTH = hashlib.sha256().digest_size * 2


def sign(body: bytes, secret: str) -> str:
    """Return the lowercase hex HMAC-SHA256 of ``body`` keyed with ``secret`` (UTF-8)."""
    return hmac.new(secret.encode("utf-8"), body, hashlib.sha256).hexdigest()


def verify_signature(body: bytes, header: str | None, secrets: Sequence[str]) -> None:
    """Check that ``header`` is the signature of ``body`` under one of ``secrets``.

    The header may carry a ``sha256=`` prefix and upper-case hex. Every secret is tried, so
    during a rotation the old and the new secret both verify. Comparisons are constant-time.

    Raises :class:`BadSignature` when the header is missing or empty, is not a hex SHA-256
    digest, no secret is configured, or no secret produces the same digest.
    """
    if header is None or not header.strip():
        raise BadSignature("The delivery has no signature header.")
    value = header.strip()
    if value[: len(_PREFIX)].lower() == _PREFIX:
        value = value[len(_PREFIX) :]
    value = value.lower()
    if len(value) != _DIGEST_LENGTH or not set(value) <= _HEX_DIGITS:
        raise BadSignature("The delivery's signature header is not a hex SHA-256 digest.")
    usable = [s for s in secrets if s]
    if not usable:
        raise BadSignature("No webhook secret is configured, so no delivery can be verified.")
    matched = False
    for secret in usable:
        # Every secret is compared, even after a match, so the time taken does not tell which
        # secret (old or new) signed the body.
        matched |= hmac.compare_digest(sign(body, secret), value)
    if not matched:
        raise BadSignature(
            f"The delivery's signature matches none of the {len(usable)} configured "
            "webhook secret(s)."
        )


def epoch_seconds(value: float) -> float:
    """Read a Unix time that may be in seconds or milliseconds (see ``MILLISECONDS_THRESHOLD``)."""
    return value / 1000.0 if abs(value) >= MILLISECONDS_THRESHOLD else value


def check_timestamp(header: str | None, *, now: float, tolerance: float = 300.0) -> None:
    """Check that the delivery timestamp is within ``tolerance`` seconds of ``now``.

    ``header`` is a Unix time, in seconds or milliseconds, integer or decimal. The unit is
    decided by magnitude: values of 1e11 and above are milliseconds, smaller ones seconds.
    ``now`` is Unix seconds. Both a too old and a too far future time are refused.

    Raises :class:`StaleDelivery` when the header is missing, not a finite number, or
    further than ``tolerance`` from ``now``.
    """
    if header is None or not header.strip():
        raise StaleDelivery("The delivery has no timestamp header.")
    try:
        raw = float(header.strip())
    except ValueError:
        raise StaleDelivery(
            "The delivery's timestamp header is not a Unix time in seconds or milliseconds."
        ) from None
    if not math.isfinite(raw):
        raise StaleDelivery("The delivery's timestamp header is not a finite number.")
    skew = now - epoch_seconds(raw)
    if abs(skew) > tolerance:
        when = "old" if skew > 0 else "in the future"
        raise StaleDelivery(
            f"The delivery's timestamp is {abs(skew):.0f} s {when}; at most "
            f"{tolerance:.0f} s is accepted."
        )
