"""HTTP client for the ABC Sales AI API.

One :class:`AbcClient` holds one pooled transport (an :class:`httpx.BaseTransport`, the seam
the tests replace) and builds each :class:`httpx.Request` itself: an :class:`httpx.Client`
would add cookie handling, redirect and auth layers and URL merging that these calls never
need, for a third of a reply's CPU. It is safe to share between sender threads.

Every call takes an absolute ``deadline`` on the client's ``clock``: no call outlives it,
however slowly the server answers (the socket operations of the default transport,
:mod:`responder.platform.transport`, all end by it), and retries (exponential backoff with
full jitter) never sleep past it.

What is retried, and what is not:

* connect errors, pool timeouts, 429 and 503 on any call: the request certainly did not take
  effect (or the platform asked us to come back);
* read timeouts, dropped connections, 500, 502 and 504 on GETs, which are idempotent;
* on the reply POST those last ones raise :class:`OutcomeUnknown` at once: the reply may have
  gone out, so the caller reads the conversation before deciding to send again.

The API key is sent as a Bearer token and appears in no exception message, repr or log line;
an excerpt of a response body that echoes it is masked.
"""

from __future__ import annotations

import email.utils
import importlib.metadata
import logging
import random
import time
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from types import TracebackType
from typing import Any, Literal
from urllib.parse import quote

import httpx

from responder.errors import (
    ConfigError,
    OutcomeUnknown,
    PlatformRejected,
    PlatformUnavailable,
    RateLimited,
    RetryableError,
    WindowClosed,
)
from responder.model import Connection, Message
from responder.platform import api_bodies
from responder.platform.transport import DeadlineTransport, until

log = logging.getLogger("responder.client")

_EXCERPT = 300
_MAX_PAGES = 1000


def _version() -> str:
    try:
        return importlib.metadata.version("responder")
    except importlib.metadata.PackageNotFoundError:
        return "0"


DEFAULT_USER_AGENT = f"abc-auto-responder/{_version()}"


class AbcClient:
    """Calls the ABC API's connection, conversation and reply endpoints.

    ``base_url`` includes the version (``https://api.abcsalesbot.com/v1``). ``sleep`` and
    ``clock`` are injectable so that retries can be observed without waiting; ``rng`` draws
    the jitter. At most ``max_attempts`` requests are made per call. A ``transport`` given
    (tests) replaces the one that holds every call to its deadline.

    Raises :class:`ConfigError` when the URL is not http(s) or the key is empty or holds
    whitespace (it could not travel in a header).
    """

    def __init__(
        self,
        base_url: str,
        api_key: str,
        *,
        connect_timeout: float = 3.0,
        read_timeout: float = 10.0,
        max_connections: int = 100,
        user_agent: str = DEFAULT_USER_AGENT,
        transport: httpx.BaseTransport | None = None,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
        backoff_base: float = 0.5,
        backoff_cap: float = 8.0,
        max_attempts: int = 6,
        rng: random.Random | None = None,
        observe: Callable[[str, str], None] | None = None,
    ) -> None:
        """``observe(endpoint, status)`` is told of every answer (responder/events.py)."""
        url = httpx.URL(base_url)
        if url.scheme not in ("http", "https") or not url.host:
            raise ConfigError(
                f"The ABC API URL {base_url!r} is not an http:// or https:// address."
            )
        if not api_key or any(c.isspace() or not c.isprintable() for c in api_key):
            raise ConfigError(
                "The ABC API key is empty or contains spaces or line breaks; set ABC_API_KEY "
                "to the key shown in the platform's settings."
            )
        self._api_key = api_key
        self._observe = observe or _ignore
        #: The ``Date`` header of the API's last answer: its clock, to compare ours with.
        self.last_date: str | None = None
        self._connect_timeout = connect_timeout
        self._read_timeout = read_timeout
        self._sleep = sleep
        self._clock = clock
        self._backoff_base = backoff_base
        self._backoff_cap = backoff_cap
        self._max_attempts = max(1, max_attempts)
        self._rng = rng or random.Random()  # noqa: S311 - jitter, not a secret
        self.base_url = str(url).rstrip("/")
        limits = httpx.Limits(
            max_connections=max_connections, max_keepalive_connections=max_connections
        )
        self._transport = transport or DeadlineTransport(limits=limits)
        self._headers = {
            "Authorization": f"Bearer {api_key}",
            "Accept": "application/json",
            "Accept-Encoding": "gzip, deflate",
            "User-Agent": user_agent,
        }

    def __repr__(self) -> str:
        return f"AbcClient(base_url={self.base_url!r})"

    def __enter__(self) -> AbcClient:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        """Close the pooled connections. The client cannot be used afterwards."""
        self._transport.close()

    # -- endpoints -------------------------------------------------------------------------

    def connections(self, *, deadline: float) -> list[Connection]:
        """The company's messaging channel connections.

        Raises :class:`PlatformUnavailable` or :class:`RateLimited` when retries run out or the
        deadline comes, :class:`PlatformRejected` on a 4xx (401: the key was refused).
        """
        response = self._request(
            "GET", "messaging-channel-connections", deadline=deadline, what="channel connections"
        )
        return api_bodies.parse_connections(self._json(response, "channel connections"))

    def conversation(self, lead_id: str, *, deadline: float) -> list[Message]:
        """Every message of the lead's conversation, oldest first, following ``next_cursor``.

        Raises as :meth:`connections` does.
        """
        path = f"leads/{_segment(lead_id)}/conversations"
        messages: list[Message] = []
        cursor: str | None = None
        seen: set[str] = set()
        for _ in range(_MAX_PAGES):
            params = {"cursor": cursor} if cursor else None
            response = self._request(
                "GET", path, params=params, deadline=deadline, what="the conversation"
            )
            page, cursor = api_bodies.parse_conversation(self._json(response, "the conversation"))
            messages.extend(page)
            # A cursor seen before would loop forever; the pages so far are all there is.
            if cursor is None or cursor in seen:
                break
            seen.add(cursor)
        return api_bodies.sort_messages(messages)

    def reply(
        self,
        lead_id: str,
        content: str,
        connection_id: int,
        *,
        attachment: str = "",
        deadline: float,
    ) -> None:
        """Send ``content`` to the lead through connection ``connection_id``, with the file
        whose storage reference is ``attachment`` when it is not empty.

        Raises :class:`WindowClosed` when the platform refuses because WhatsApp's 24-hour window
        is closed; :class:`OutcomeUnknown` when the request may have been delivered but its
        answer was lost (read timeout, dropped connection, 500/502/504); otherwise as
        :meth:`connections` does. Retried only when the reply certainly was not taken.
        """
        self._request(
            "POST",
            f"leads/{_segment(lead_id)}/conversations/reply",
            json=api_bodies.reply_payload(content, connection_id, attachment),
            deadline=deadline,
            what="the reply",
        )

    # -- machinery -------------------------------------------------------------------------

    def _request(
        self,
        method: Literal["GET", "POST"],
        path: str,
        *,
        deadline: float,
        what: str,
        params: Mapping[str, str] | None = None,
        json: Any = None,
    ) -> httpx.Response:
        idempotent = method == "GET"
        endpoint = path.rsplit("/", 1)[-1]  # the path's last part: never a lead's id
        attempt = 0
        while True:
            remaining = deadline - self._clock()
            if remaining <= 0:
                raise PlatformUnavailable(
                    f"No time was left to request {what} from the ABC API before the deadline."
                )
            attempt += 1
            try:
                with until(deadline, self._clock):
                    response = self._send(method, path, params, json, remaining)
            except (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout) as exc:
                self._observe(endpoint, "unreachable")
                error: RetryableError = PlatformUnavailable(
                    f"The ABC API could not be reached for {what} ({_describe(exc)})."
                )
            except httpx.TransportError as exc:
                self._observe(endpoint, "no_answer")
                if not idempotent:
                    raise OutcomeUnknown(
                        f"The answer to {what} was lost ({_describe(exc)}); it may or may not "
                        "have been delivered."
                    ) from None
                error = PlatformUnavailable(
                    f"The ABC API did not answer the request for {what} ({_describe(exc)})."
                )
            else:
                self.last_date = response.headers.get("date")
                self._observe(endpoint, str(response.status_code))
                failure = self._check(response, idempotent=idempotent, what=what)
                if failure is None:
                    return response
                error = failure
            self._pause_before_retry(error, attempt=attempt, deadline=deadline, what=what)

    def _check(
        self, response: httpx.Response, *, idempotent: bool, what: str
    ) -> RetryableError | None:
        """None for a success, the retryable error for a retryable answer; raises the rest."""
        status = response.status_code
        if 200 <= status < 300:
            return None
        if status == 429:
            retry_after = _retry_after(response.headers.get("Retry-After"))
            return RateLimited(
                f"The ABC API is rate limiting requests for {what} (429).", retry_after
            )
        if status == 503 or (status >= 500 and idempotent):
            return PlatformUnavailable(f"The ABC API answered {status} to the request for {what}.")
        if status >= 500:
            raise OutcomeUnknown(
                f"The ABC API answered {status} to {what}; a gateway may have passed it on, so "
                "it may or may not have been delivered."
            )
        body = self._excerpt(response)
        if status == 401:
            raise PlatformRejected(
                "The ABC API refused the API key (401 Unauthorized); check ABC_API_KEY.",
                status,
                body,
            )
        if status == 403:
            raise PlatformRejected(
                f"The ABC API key is not allowed to request {what} (403 Forbidden).", status, body
            )
        if not idempotent and api_bodies.is_window_rejection(status, body):
            raise WindowClosed(
                "The platform refused the reply: WhatsApp's 24-hour window is closed for this "
                f"lead ({status}: {body}).",
                status,
                body,
            )
        raise PlatformRejected(
            f"The ABC API refused the request for {what} with {status}: {body or '(no body)'}",
            status,
            body,
        )

    def _pause_before_retry(
        self, error: RetryableError, *, attempt: int, deadline: float, what: str
    ) -> None:
        """Sleep before the next attempt, or raise ``error`` when none should be made."""
        if attempt >= self._max_attempts:
            raise error
        retry_after = error.retry_after if isinstance(error, RateLimited) else None
        if retry_after is not None:
            wait = retry_after
        else:
            ceiling = min(self._backoff_cap, self._backoff_base * 2 ** (attempt - 1))
            wait = self._rng.uniform(0.0, ceiling)
        if self._clock() + wait >= deadline:
            raise error
        log.warning("retrying %s in %.2f s (attempt %d failed): %s", what, wait, attempt, error)
        self._sleep(wait)

    def _send(
        self,
        method: str,
        path: str,
        params: Mapping[str, str] | None,
        json: Any,
        remaining: float,
    ) -> httpx.Response:
        connect = min(self._connect_timeout, remaining)
        read = min(self._read_timeout, remaining)
        timeout = {"connect": connect, "read": read, "write": read, "pool": connect}
        request = httpx.Request(
            method,
            f"{self.base_url}/{path}",
            params=params,
            json=json,
            headers=self._headers,
            extensions={"timeout": timeout},
        )
        response = self._transport.handle_request(request)
        try:
            response.read()
        finally:
            response.close()
        return response

    def _excerpt(self, response: httpx.Response) -> str:
        text = " ".join(response.text.split())
        if self._api_key in text:
            text = text.replace(self._api_key, "***")
        return text[:_EXCERPT]

    def _json(self, response: httpx.Response, what: str) -> object:
        try:
            return response.json()
        except ValueError:
            raise PlatformUnavailable(
                f"The ABC API answered the request for {what} with something that is not JSON."
            ) from None


def _segment(value: str) -> str:
    """One URL path segment: a lead id can never reach another path.

    Everything but letters, digits and ``-._~`` is percent-encoded (``/``, ``?``, ``#``,
    ``%`` among them), and so are the dots of a segment made only of dots: ``.`` and ``..``
    would otherwise be resolved as the path's own segments, by httpx before sending.
    """
    encoded = quote(str(value), safe="")
    return encoded.replace(".", "%2E") if encoded and not encoded.strip(".") else encoded


def _describe(exc: httpx.TransportError) -> str:
    detail = str(exc).strip()
    name = type(exc).__name__
    return f"{name}: {detail}" if detail else name


def _retry_after(value: str | None) -> float | None:
    """Seconds from a Retry-After header (delta seconds or an HTTP date); None if unreadable."""
    if value is None or not value.strip():
        return None
    text = value.strip()
    try:
        seconds = float(text)
    except ValueError:
        try:
            when = email.utils.parsedate_to_datetime(text)
        except (TypeError, ValueError):
            return None
        if when.tzinfo is None:
            when = when.replace(tzinfo=UTC)
        seconds = (when - datetime.now(UTC)).total_seconds()
    return max(0.0, seconds) if seconds == seconds else None


def _ignore(endpoint: str, status: str) -> None:
    pass
