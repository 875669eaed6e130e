"""An httpx transport on which no call outlives its deadline, whatever the server does.

httpx's timeouts bound each socket operation, not a call: a server that answers one byte
every few seconds keeps every read within its timeout and the call going for as long as it
likes. Here every operation on the socket (connecting, the TLS handshake, each write and each
read, of the headers and of the body) waits at most until the deadline of the call under way,
set by :func:`until` around it, and fails at once with httpx's timeout error of that phase
once it has passed. Resolving a host name counts too: it runs on a helper thread that the
caller stops waiting for at the deadline.

The deadline is the calling thread's (a context variable), so one transport serves many
sender threads. Outside :func:`until`, the per-operation timeouts apply alone.
"""

from __future__ import annotations

import ipaddress
import ssl
import threading
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

import httpcore
import httpx

_LEFT: ContextVar[Callable[[], float] | None] = ContextVar("responder_call_left", default=None)

# httpcore's errors as httpx raises them, most specific first (httpx's own mapping is private).
_ERRORS: tuple[tuple[type[Exception], type[httpx.TransportError]], ...] = (
    (httpcore.ConnectTimeout, httpx.ConnectTimeout),
    (httpcore.ReadTimeout, httpx.ReadTimeout),
    (httpcore.WriteTimeout, httpx.WriteTimeout),
    (httpcore.PoolTimeout, httpx.PoolTimeout),
    (httpcore.ConnectError, httpx.ConnectError),
    (httpcore.ReadError, httpx.ReadError),
    (httpcore.WriteError, httpx.WriteError),
    (httpcore.RemoteProtocolError, httpx.RemoteProtocolError),
    (httpcore.LocalProtocolError, httpx.LocalProtocolError),
    (httpcore.ProxyError, httpx.ProxyError),
    (httpcore.UnsupportedProtocol, httpx.UnsupportedProtocol),
    (httpcore.TimeoutException, httpx.TimeoutException),
    (httpcore.NetworkError, httpx.NetworkError),
    (httpcore.ProtocolError, httpx.ProtocolError),
)


@contextmanager
def until(at: float, clock: Callable[[], float]) -> Iterator[None]:
    """Within this block, no socket operation of this thread waits past ``at`` on ``clock``."""
    token = _LEFT.set(lambda: at - clock())
    try:
        yield
    finally:
        _LEFT.reset(token)


def bounded(timeout: float | None, late: type[Exception]) -> float | None:
    """``timeout`` cut to the time left before the deadline; raises ``late`` if none is left."""
    left = _LEFT.get()
    if left is None:
        return timeout
    seconds = left()
    if seconds <= 0:
        raise late("the deadline of the call has passed")
    return seconds if timeout is None else min(timeout, seconds)


class DeadlineTransport(httpx.BaseTransport):
    """httpx's connection pool over :class:`DeadlineBackend`: plain HTTP/1.1, no proxy."""

    def __init__(self, *, limits: httpx.Limits) -> None:
        self._pool = httpcore.ConnectionPool(
            ssl_context=httpx.create_ssl_context(),
            max_connections=limits.max_connections,
            max_keepalive_connections=limits.max_keepalive_connections,
            keepalive_expiry=limits.keepalive_expiry,
            network_backend=DeadlineBackend(httpcore.SyncBackend()),
        )

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        assert isinstance(request.stream, httpx.SyncByteStream)
        url = request.url
        core = httpcore.Request(
            method=request.method,
            url=httpcore.URL(
                scheme=url.raw_scheme, host=url.raw_host, port=url.port, target=url.raw_path
            ),
            headers=request.headers.raw,
            content=request.stream,
            extensions=request.extensions,
        )
        with _translated():
            response = self._pool.handle_request(core)
        assert isinstance(response.stream, Iterable)
        return httpx.Response(
            status_code=response.status,
            headers=response.headers,
            stream=_Body(response.stream),
            extensions=response.extensions,
        )

    def close(self) -> None:
        self._pool.close()


class DeadlineBackend(httpcore.NetworkBackend):
    """A network backend whose connections and streams honour the calling thread's deadline."""

    def __init__(self, inner: httpcore.NetworkBackend) -> None:
        self._inner = inner

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.NetworkStream:
        limit = bounded(timeout, httpcore.ConnectTimeout)

        def connect() -> httpcore.NetworkStream:
            return self._inner.connect_tcp(host, port, limit, local_address, socket_options)

        if _is_address(host):  # one address, one attempt: the socket's timeout bounds it
            return DeadlineStream(connect())
        # A name may take long to resolve and resolve to several addresses, each tried in turn
        # for the whole timeout: only waiting on another thread bounds all of it.
        return DeadlineStream(_in_time(connect, limit))

    def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.NetworkStream:
        limit = bounded(timeout, httpcore.ConnectTimeout)
        return DeadlineStream(self._inner.connect_unix_socket(path, limit, socket_options))

    def sleep(self, seconds: float) -> None:
        self._inner.sleep(seconds)


class DeadlineStream(httpcore.NetworkStream):
    """A connection whose every read, write and handshake ends by the deadline."""

    def __init__(self, inner: httpcore.NetworkStream) -> None:
        self._inner = inner

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        return self._inner.read(max_bytes, bounded(timeout, httpcore.ReadTimeout))

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        # A request (a few hundred bytes) goes into the socket's buffer in one send.
        self._inner.write(buffer, bounded(timeout, httpcore.WriteTimeout))

    def close(self) -> None:
        self._inner.close()

    def start_tls(
        self,
        ssl_context: ssl.SSLContext,
        server_hostname: str | None = None,
        timeout: float | None = None,
    ) -> httpcore.NetworkStream:
        limit = bounded(timeout, httpcore.ConnectTimeout)
        return DeadlineStream(self._inner.start_tls(ssl_context, server_hostname, limit))

    def get_extra_info(self, info: str) -> Any:
        return self._inner.get_extra_info(info)


class _Body(httpx.SyncByteStream):
    def __init__(self, stream: Iterable[bytes]) -> None:
        self._stream = stream

    def __iter__(self) -> Iterator[bytes]:
        with _translated():
            yield from self._stream

    def close(self) -> None:
        close = getattr(self._stream, "close", None)
        if close is not None:
            close()


@contextmanager
def _translated() -> Iterator[None]:
    """Raise httpcore's errors as the httpx errors they stand for."""
    try:
        yield
    except Exception as exc:
        kind = next((theirs for ours, theirs in _ERRORS if isinstance(exc, ours)), None)
        if kind is None:
            raise
        raise kind(str(exc)) from exc


def _is_address(host: str) -> bool:
    try:
        ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return False
    return True


def _in_time(
    connect: Callable[[], httpcore.NetworkStream], limit: float | None
) -> httpcore.NetworkStream:
    """``connect()`` on a helper thread, waited for at most ``limit`` seconds.

    Raises httpcore's ConnectTimeout when it takes longer; a connection it makes after that is
    closed at once.
    """
    done = threading.Event()
    lock = threading.Lock()
    outcome: list[httpcore.NetworkStream | BaseException] = []
    abandoned = False

    def run() -> None:
        try:
            result: httpcore.NetworkStream | BaseException = connect()
        except BaseException as exc:  # handed to the waiting thread
            result = exc
        with lock:
            if abandoned and isinstance(result, httpcore.NetworkStream):
                result.close()
            outcome.append(result)
        done.set()

    threading.Thread(target=run, name="responder-connect", daemon=True).start()
    if not done.wait(limit):
        with lock:
            abandoned = not outcome
        if abandoned:
            raise httpcore.ConnectTimeout("no connection was made before the deadline")
    result = outcome[0]
    if isinstance(result, BaseException):
        raise result
    return result
