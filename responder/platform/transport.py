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

HTTP/1.1 itself is the standard library's ``http.client``, over a pool of kept-alive
connections taken last-in first-out: a call costs about half the CPU of httpx's own
transport (httpcore and h11), which was a quarter of a delivery's (docs/performance.md). A
kept-alive connection is checked once, with one non-blocking poll, before it is reused: one
the server closed while it was idle is dropped, so a reply is never written into a dead
connection and reported lost when it was never sent. A request is never sent twice here;
whether to try again is the client's decision (responder/platform/client.py).
"""

from __future__ import annotations

import http.client
import io
import ipaddress
import select
import socket
import ssl
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any, cast

import httpx

_LEFT: ContextVar[Callable[[], float] | None] = ContextVar("responder_call_left", default=None)

#: Opens a TCP connection to ``(host, port)``, waiting at most ``timeout`` seconds: the seam
#: the tests replace to see the time a connection is given, or to make one hang.
Opener = Callable[[str, int, float | None], socket.socket]

Origin = tuple[str, str, int]  # scheme, host, port


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
    """Plain HTTP/1.1 (and HTTPS), no proxy, at most ``limits.max_connections`` at a time.

    Answers are read whole before they are returned (the ABC API's are small JSON bodies), so
    the body's reads are bounded by the same deadline as the headers'.
    """

    def __init__(
        self,
        *,
        limits: httpx.Limits,
        ssl_context: ssl.SSLContext | None = None,
        opener: Opener | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._ssl = ssl_context
        self._opener = opener or _tcp
        self._clock = clock
        self._slots = (
            threading.BoundedSemaphore(limits.max_connections)
            if limits.max_connections is not None
            else None
        )
        self._keep = limits.max_keepalive_connections
        self._expiry = limits.keepalive_expiry
        self._lock = threading.Lock()
        self._idle: dict[Origin, list[tuple[float, _Connection]]] = {}  # last in, first out
        self._closed = False

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        timeouts: dict[str, float | None] = request.extensions.get("timeout", {})
        origin = (request.url.scheme, request.url.host, request.url.port or _port(request.url))
        if origin[0] not in ("http", "https"):
            raise httpx.UnsupportedProtocol(f"{origin[0]!r} is not http or https")
        message = _head(request) + request.read()
        with self._slot(timeouts.get("pool")):
            connection = self._reused(origin) or self._connect(origin, timeouts.get("connect"))
            try:
                status, headers, body = connection.exchange(message, request.method, timeouts)
            except BaseException:
                connection.close()
                raise
        self._put_back(origin, connection)
        return httpx.Response(status, headers=headers, stream=httpx.ByteStream(body))

    def close(self) -> None:
        with self._lock:
            self._closed = True
            idle, self._idle = self._idle, {}
        for connections in idle.values():
            for _, connection in connections:
                connection.close()

    @contextmanager
    def _slot(self, timeout: float | None) -> Iterator[None]:
        if self._slots is None:
            yield
            return
        wait = bounded(timeout, httpx.PoolTimeout)
        if not self._slots.acquire(timeout=wait):
            raise httpx.PoolTimeout("every connection to the API is in use")
        try:
            yield
        finally:
            self._slots.release()

    def _reused(self, origin: Origin) -> _Connection | None:
        """The most recently used idle connection that is still good, if any."""
        oldest = self._clock() - (self._expiry or 0.0)
        while True:
            with self._lock:
                connections = self._idle.get(origin)
                if not connections:
                    return None
                idle_since, connection = connections.pop()
            if (self._expiry is None or idle_since >= oldest) and connection.usable():
                return connection
            connection.close()

    def _connect(self, origin: Origin, timeout: float | None) -> _Connection:
        scheme, host, port = origin
        limit = bounded(timeout, httpx.ConnectTimeout)
        try:
            if _is_address(host):  # one address, one attempt: the socket's timeout bounds it
                sock = self._opener(host, port, limit)
            else:  # a name may take long to resolve, and each of its addresses gets the timeout
                sock = _in_time(lambda: self._opener(host, port, limit), limit)
        except TimeoutError as exc:
            raise httpx.ConnectTimeout(str(exc) or "the connection timed out") from exc
        except OSError as exc:
            raise httpx.ConnectError(str(exc)) from exc
        if scheme == "https":
            sock = self._tls(sock, host, timeout)
        return _Connection(sock)

    def _tls(self, sock: socket.socket, host: str, timeout: float | None) -> socket.socket:
        if self._ssl is None:
            self._ssl = httpx.create_ssl_context()
        try:
            # One deadline for the whole handshake: CPython's ssl counts it down across reads.
            sock.settimeout(bounded(timeout, httpx.ConnectTimeout))
            return self._ssl.wrap_socket(sock, server_hostname=host)
        except BaseException as exc:
            sock.close()
            if isinstance(exc, TimeoutError):
                raise httpx.ConnectTimeout(str(exc) or "the TLS handshake timed out") from exc
            if isinstance(exc, OSError):  # ssl.SSLError among them: a certificate refused
                raise httpx.ConnectError(str(exc)) from exc
            raise

    def _put_back(self, origin: Origin, connection: _Connection) -> None:
        if connection.closed:
            return
        with self._lock:
            connections = self._idle.setdefault(origin, [])
            keep = not self._closed and (self._keep is None or len(connections) < self._keep)
            if keep:
                connections.append((self._clock(), connection))
        if not keep:
            connection.close()


class _Connection:
    """One kept-alive connection whose every read and write is bounded by the deadline."""

    def __init__(self, sock: socket.socket) -> None:
        self._socket = _DeadlineSocket(sock)
        self.closed = False

    def exchange(
        self, message: bytes, method: str, timeouts: dict[str, float | None]
    ) -> tuple[int, list[tuple[bytes, bytes]], bytes]:
        """Send a whole request and read its whole answer: status, raw headers, raw body."""
        self._socket.timeouts(write=timeouts.get("write"), read=timeouts.get("read"))
        try:
            # One write for the head and the body: two would wait on the peer's delayed ACK.
            self._socket.sendall(message)
        except TimeoutError as exc:
            raise httpx.WriteTimeout(str(exc) or "writing the request timed out") from exc
        except OSError as exc:
            raise httpx.WriteError(str(exc)) from exc
        response = http.client.HTTPResponse(cast(socket.socket, self._socket), method=method)
        try:
            response.begin()
            body = response.read()
        except (TimeoutError, httpx.ReadTimeout) as exc:
            raise httpx.ReadTimeout(str(exc) or "reading the answer timed out") from exc
        except (http.client.HTTPException, ConnectionResetError) as exc:
            raise httpx.RemoteProtocolError(str(exc) or type(exc).__name__) from exc
        except OSError as exc:
            raise httpx.ReadError(str(exc)) from exc
        finally:
            response.close()
        if response.will_close:
            self.close()
        headers = [
            (name.encode("latin-1"), value.encode("latin-1"))
            for name, value in response.getheaders()
        ]
        return response.status, headers, body

    def usable(self) -> bool:
        """Idle as it should be: neither closed by the server nor sending unasked bytes."""
        return not self.closed and not self._socket.readable()

    def close(self) -> None:
        self.closed = True
        self._socket.close()


def _head(request: httpx.Request) -> bytes:
    """The request line and headers (httpx has set Host, and Content-Length for a body)."""
    lines = [b"%s %s HTTP/1.1" % (request.method.encode("ascii"), request.url.raw_path)]
    lines.extend(b"%s: %s" % pair for pair in request.headers.raw)
    if any(b"\r" in line or b"\n" in line or b"\0" in line for line in lines):
        # A line break in a value would start a header of its own.
        raise httpx.LocalProtocolError("a request header contains a line break")
    return b"\r\n".join(lines) + b"\r\n\r\n"


class _DeadlineSocket:
    """A socket whose writes, and reads through :meth:`makefile` (as ``http.client`` reads an
    answer), each wait no longer than the time left before the calling thread's deadline."""

    def __init__(self, sock: socket.socket) -> None:
        self._sock = sock
        self._write: float | None = None
        self._read: float | None = None

    def timeouts(self, *, write: float | None, read: float | None) -> None:
        self._write, self._read = write, read

    def sendall(self, data: bytes) -> None:
        # One deadline for the whole of it: CPython counts a socket's sendall timeout down;
        # over TLS a request of a few hundred bytes is one record, so one send.
        self._sock.settimeout(bounded(self._write, httpx.WriteTimeout))
        self._sock.sendall(data)

    def makefile(self, mode: str) -> io.BufferedReader:
        assert mode == "rb"
        return io.BufferedReader(_DeadlineReader(self))

    def recv_into(self, buffer: memoryview) -> int:
        self._sock.settimeout(bounded(self._read, httpx.ReadTimeout))
        return self._sock.recv_into(buffer)

    def readable(self) -> bool:
        try:
            ready, _, _ = select.select([self._sock], [], [], 0)
        except (OSError, ValueError):  # closed under us
            return True
        return bool(ready)

    def close(self) -> None:
        self._sock.close()


class _DeadlineReader(io.RawIOBase):
    def __init__(self, sock: _DeadlineSocket) -> None:
        self._sock = sock

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        return self._sock.recv_into(memoryview(buffer).cast("B"))


def _port(url: httpx.URL) -> int:
    return 443 if url.scheme == "https" else 80


def _tcp(host: str, port: int, timeout: float | None) -> socket.socket:
    sock = socket.create_connection((host, port), timeout=timeout)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return sock


def _is_address(host: str) -> bool:
    try:
        ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return False
    return True


def _in_time(connect: Callable[[], socket.socket], limit: float | None) -> socket.socket:
    """``connect()`` on a helper thread, waited for at most ``limit`` seconds.

    Raises TimeoutError when it takes longer; a connection it makes after that is closed at
    once.
    """
    done = threading.Event()
    lock = threading.Lock()
    outcome: list[socket.socket | BaseException] = []
    abandoned = False

    def run() -> None:
        try:
            result: socket.socket | BaseException = connect()
        except BaseException as exc:  # handed to the waiting thread
            result = exc
        with lock:
            if abandoned and isinstance(result, socket.socket):
                result.close()
            outcome.append(result)
        done.set()

    threading.Thread(target=run, name="responder-connect", daemon=True).start()
    if not done.wait(limit):
        with lock:
            abandoned = not outcome
        if abandoned:
            raise TimeoutError("no connection was made before the deadline")
    result = outcome[0]
    if isinstance(result, BaseException):
        raise result
    return result
