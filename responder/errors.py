"""The one exception tree of the responder.

Every error the package raises on purpose is a :class:`ResponderError`. The first split says
what a caller may do about it: try the same thing again later, or give up on it::

    ResponderError
    ├── RetryableError            the same call may succeed later
    │   ├── PlatformUnavailable   ABC API unreachable, or answered 502/503/504
    │   ├── RateLimited           ABC API answered 429 (``retry_after`` in seconds, if given)
    │   ├── OutcomeUnknown        a reply request went out, its answer did not come back:
    │   │                         it may have been delivered, so verify before sending again
    │   └── StoreUnavailable      the state store cannot be reached
    └── FinalError                retrying cannot help
        ├── ConfigError           the service's configuration is wrong; it refuses to start
        ├── RuleBookError         rules or templates do not validate (``problems`` lists them)
        ├── TemplateError         a reply template failed to render for one message
        ├── DeliveryRejected      a webhook delivery is refused (``status`` is the HTTP answer)
        │   ├── BadSignature      401: signature missing or not made with a known secret
        │   ├── StaleDelivery     401: timestamp outside the tolerance (replay protection)
        │   ├── PayloadTooLarge   413
        │   └── MalformedDelivery 400: not JSON, not an object, or unusable fields
        └── PlatformRejected      ABC API answered a 4xx that retrying will not change
            └── WindowClosed      WhatsApp's 24-hour window is closed for this lead

Messages are written for the person who will read them in a log or a terminal; they never
contain the API key or a webhook secret.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from responder.engine.problems import Problem


class ResponderError(Exception):
    """Root of every error the responder raises on purpose."""


class RetryableError(ResponderError):
    """The operation may succeed if tried again later."""


class FinalError(ResponderError):
    """Trying the same operation again cannot succeed."""


class PlatformUnavailable(RetryableError):
    """The ABC API could not be reached, or answered 502, 503 or 504."""


class RateLimited(RetryableError):
    """The ABC API answered 429; ``retry_after`` is its Retry-After in seconds, if any."""

    def __init__(self, message: str, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class OutcomeUnknown(RetryableError):
    """A request went out but its answer was lost: it may or may not have taken effect."""


class StoreUnavailable(RetryableError):
    """The state store (SQLite file or Redis server) cannot be reached."""


class ConfigError(FinalError):
    """The configuration is invalid; the message says which setting and why."""


class RuleBookError(FinalError):
    """The rule book does not validate. ``problems`` holds every problem found, in order."""

    def __init__(self, problems: Sequence[Problem]) -> None:
        self.problems = tuple(problems)
        errors = [p for p in self.problems if p.is_error]
        super().__init__(
            f"{len(errors)} problem(s) in the rules:\n" + "\n".join(str(p) for p in errors)
        )


class TemplateError(FinalError):
    """A template could not be rendered for one message (sandbox refusal, runtime error)."""


class DeliveryRejected(FinalError):
    """A webhook delivery is refused; ``status`` is the HTTP status to answer with."""

    status = 400


class BadSignature(DeliveryRejected):
    """The signature header is missing or matches none of the configured secrets."""

    status = 401


class StaleDelivery(DeliveryRejected):
    """The delivery timestamp is missing, unreadable or outside the tolerance."""

    status = 401


class PayloadTooLarge(DeliveryRejected):
    """The body exceeds the size limit."""

    status = 413


class MalformedDelivery(DeliveryRejected):
    """The body is not a JSON object, or a field the service needs is unusable."""

    status = 400


class PlatformRejected(FinalError):
    """The ABC API refused a request with a status that retrying will not change."""

    def __init__(self, message: str, status: int, body: str = "") -> None:
        super().__init__(message)
        self.status = status
        self.body = body


class WindowClosed(PlatformRejected):
    """The platform refused a reply because WhatsApp's 24-hour window is closed."""
