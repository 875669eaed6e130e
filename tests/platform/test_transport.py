"""The deadline transport: no phase of a call (connecting, resolving, the headers, the body)
waits past the call's deadline, however slowly the other side goes; kept-alive connections
are reused, and one the server closed is never written to."""

from __future__ import annotations

import gzip
import json
import socket
import ssl
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest

from responder.errors import OutcomeUnknown, PlatformUnavailable
from responder.platform.client import AbcClient
from responder.platform.transport import DeadlineTransport, until

LIMITS = httpx.Limits(max_connections=8, max_keepalive_connections=8)

Handler = Callable[[socket.socket, "Server"], None]


class Server:
    """A TCP server on 127.0.0.1 that runs ``handler`` on each connection, in its own thread."""

    def __init__(self, handler: Handler, *, wrap: ssl.SSLContext | None = None) -> None:
        self.handler = handler
        self.wrap = wrap
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.connections = 0
        self.stopping = threading.Event()
        self.hung_up = threading.Event()  # set whenever the server closes a connection
        self.threads: list[threading.Thread] = []
        self.thread = threading.Thread(target=self._accept)
        self.thread.start()

    def _accept(self) -> None:
        self.listener.settimeout(0.05)
        while not self.stopping.is_set():
            try:
                conn, _ = self.listener.accept()
            except TimeoutError:
                continue
            self.connections += 1
            thread = threading.Thread(target=self._serve, args=(conn,))
            self.threads.append(thread)
            thread.start()

    def _serve(self, conn: socket.socket) -> None:
        try:
            if self.wrap is not None:
                conn = self.wrap.wrap_socket(conn, server_side=True)
            with conn:
                self.handler(conn, self)
        except OSError:  # the client hung up, or refused the certificate
            pass
        self.hung_up.set()

    def close(self) -> None:
        self.stopping.set()
        self.thread.join()
        for thread in self.threads:
            thread.join()
        self.listener.close()


@pytest.fixture
def serve() -> Iterator[Callable[..., Server]]:
    servers: list[Server] = []

    def start(handler: Handler, **options: ssl.SSLContext) -> Server:
        server = Server(handler, **options)
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.close()


def read_request(conn: socket.socket) -> bytes:
    """One request's head and body (by its Content-Length); b"" once the client hung up."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = conn.recv(65536)
        if not chunk:
            return b""
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    length = next(
        (
            int(line.split(b":", 1)[1])
            for line in head.split(b"\r\n")
            if line.lower().startswith(b"content-length:")
        ),
        0,
    )
    while len(body) < length:
        body += conn.recv(65536)
    return head + b"\r\n\r\n" + body


def answer(body: bytes = b'{"ok": true}', *, extra: bytes = b"") -> bytes:
    return (
        b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
        + f"Content-Length: {len(body)}\r\n".encode()
        + extra
        + b"\r\n"
        + body
    )


def keep_alive(conn: socket.socket, server: Server) -> None:
    while read_request(conn):
        conn.sendall(answer())


def one_answer_then_hang_up(conn: socket.socket, server: Server) -> None:
    """Answers as if the connection stayed open, then closes it (an idle timeout, say)."""
    if read_request(conn):
        conn.sendall(answer())


def trickle(head: bytes, tail: bytes) -> Handler:
    def handler(conn: socket.socket, server: Server) -> None:
        read_request(conn)
        conn.sendall(head)
        for byte in tail:
            if server.stopping.wait(0.05):
                return
            conn.sendall(bytes([byte]))

    return handler


def client(server: Server, **options: object) -> httpx.Client:
    transport = DeadlineTransport(limits=LIMITS, **options)  # type: ignore[arg-type]
    return httpx.Client(base_url=f"http://127.0.0.1:{server.port}", transport=transport)


def test_trickling_headers_end_the_call_at_its_deadline(serve: Callable[..., Server]) -> None:
    server = serve(trickle(b"", b"HTTP/1.1 200 " + b"O" * 200))
    deadline = time.monotonic() + 1.0
    api = AbcClient(f"http://127.0.0.1:{server.port}/v1", "k", max_attempts=1)
    with api, pytest.raises(PlatformUnavailable, match="did not answer"):
        api.connections(deadline=deadline)
    assert time.monotonic() < deadline + 2.0  # generous slack for a busy machine


def test_a_trickling_body_ends_the_call_at_its_deadline(serve: Callable[..., Server]) -> None:
    head = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 400\r\n\r\n"
    server = serve(trickle(head, b" " * 400))
    deadline = time.monotonic() + 1.0
    with client(server) as http, until(deadline, time.monotonic), pytest.raises(httpx.ReadTimeout):
        http.get("/slow", timeout=5.0)
    assert time.monotonic() < deadline + 2.0


class RecordingOpener:
    """Connects nowhere: records the timeout it was given, or blocks until released."""

    def __init__(self, *, block: bool = False) -> None:
        self.timeouts: list[float | None] = []
        self.release = threading.Event()
        self.block = block

    def __call__(self, host: str, port: int, timeout: float | None) -> socket.socket:
        self.timeouts.append(timeout)
        if self.block:
            self.release.wait(30)
        raise ConnectionRefusedError("nothing listens here")


def test_connecting_to_an_address_waits_no_longer_than_the_deadline() -> None:
    opener = RecordingOpener()
    http = httpx.Client(transport=DeadlineTransport(limits=LIMITS, opener=opener))
    with until(time.monotonic() + 0.5, time.monotonic), pytest.raises(httpx.ConnectError):
        http.get("http://192.0.2.1/", timeout=3.0)
    [timeout] = opener.timeouts
    assert timeout is not None and timeout <= 0.5


def test_nothing_is_connected_once_the_deadline_has_passed() -> None:
    opener = RecordingOpener()
    http = httpx.Client(transport=DeadlineTransport(limits=LIMITS, opener=opener))
    with until(time.monotonic() - 0.1, time.monotonic), pytest.raises(httpx.TimeoutException):
        http.get("http://192.0.2.1/", timeout=3.0)
    assert opener.timeouts == []


def test_a_host_name_slow_to_resolve_or_connect_is_given_up_at_the_deadline() -> None:
    opener = RecordingOpener(block=True)
    http = httpx.Client(transport=DeadlineTransport(limits=LIMITS, opener=opener))
    deadline = time.monotonic() + 0.5
    try:
        with until(deadline, time.monotonic), pytest.raises(httpx.ConnectTimeout):
            http.get("http://api.abc.test/", timeout=3.0)
        assert time.monotonic() < deadline + 2.0
    finally:
        opener.release.set()


def test_outside_a_deadline_the_timeouts_apply_alone() -> None:
    opener = RecordingOpener()
    http = httpx.Client(transport=DeadlineTransport(limits=LIMITS, opener=opener))
    with pytest.raises(httpx.ConnectError):
        http.get("http://192.0.2.1/", timeout=httpx.Timeout(10.0, connect=3.0))
    assert opener.timeouts == [3.0]


def test_calls_reuse_one_kept_alive_connection(serve: Callable[..., Server]) -> None:
    server = serve(keep_alive)
    with client(server) as http:
        assert [http.post("/reply", json={"n": n}).json() for n in range(3)] == [{"ok": True}] * 3
    assert server.connections == 1


def test_a_connection_the_server_closed_while_idle_is_not_written_to(
    serve: Callable[..., Server],
) -> None:
    server = serve(one_answer_then_hang_up)
    api = AbcClient(f"http://127.0.0.1:{server.port}/v1", "k", max_attempts=1)
    with api:
        for n in range(2):
            server.hung_up.clear()
            # A reply is not idempotent: a write into the dead connection would be reported
            # as OutcomeUnknown (lost), and never sent.
            api.reply("42", f"hello {n}", 123, deadline=time.monotonic() + 5)
            assert server.hung_up.wait(5)
    assert server.connections == 2


def test_an_answer_lost_after_the_request_was_sent_is_reported_as_unknown(
    serve: Callable[..., Server],
) -> None:
    def hang_up_unanswered(conn: socket.socket, server: Server) -> None:
        read_request(conn)

    server = serve(hang_up_unanswered)
    api = AbcClient(f"http://127.0.0.1:{server.port}/v1", "k", max_attempts=3)
    with api, pytest.raises(OutcomeUnknown, match="may or may not"):
        api.reply("42", "hello", 123, deadline=time.monotonic() + 5)
    assert server.connections == 1  # sent once: never again by the transport


def test_a_chunked_compressed_answer_is_read_whole(serve: Callable[..., Server]) -> None:
    payload = gzip.compress(json.dumps({"data": list(range(1000))}).encode())

    def chunked(conn: socket.socket, server: Server) -> None:
        read_request(conn)
        head = b"HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\nTransfer-Encoding: chunked\r\n\r\n"
        pieces = [payload[i : i + 100] for i in range(0, len(payload), 100)]
        body = b"".join(b"%x\r\n%s\r\n" % (len(piece), piece) for piece in pieces)
        conn.sendall(head + body + b"0\r\n\r\n")
        read_request(conn)

    server = serve(chunked)
    with client(server) as http:
        assert http.get("/big").json() == {"data": list(range(1000))}


def test_connection_close_is_honoured(serve: Callable[..., Server]) -> None:
    def closing(conn: socket.socket, server: Server) -> None:
        read_request(conn)
        conn.sendall(answer(extra=b"Connection: close\r\n"))

    server = serve(closing)
    with client(server) as http:
        assert [http.get("/").status_code for _ in range(2)] == [200, 200]
    assert server.connections == 2


def test_no_more_connections_than_the_limit(serve: Callable[..., Server]) -> None:
    release = threading.Event()

    def slow(conn: socket.socket, server: Server) -> None:
        read_request(conn)
        release.wait(10)
        conn.sendall(answer())

    server = serve(slow)
    transport = DeadlineTransport(limits=httpx.Limits(max_connections=1))
    http = httpx.Client(base_url=f"http://127.0.0.1:{server.port}", transport=transport)
    first = threading.Thread(target=http.get, args=("/",))
    first.start()
    try:
        while server.connections == 0:
            time.sleep(0.01)
        with pytest.raises(httpx.PoolTimeout):
            http.get("/", timeout=httpx.Timeout(5.0, pool=0.2))
    finally:
        release.set()
        first.join()
        http.close()
    assert server.connections == 1


@pytest.fixture(scope="module")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    folder = tmp_path_factory.mktemp("tls")
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(
        [
            *("openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1"),
            *("-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1"),
            *("-keyout", str(key), "-out", str(cert)),
        ],
        check=True,
        capture_output=True,
    )
    return cert, key


def test_https_checks_the_certificate(
    serve: Callable[..., Server], certificate: tuple[Path, Path]
) -> None:
    cert, key = certificate
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    server = serve(keep_alive, wrap=context)
    url = f"https://127.0.0.1:{server.port}/"
    untrusting = httpx.Client(transport=DeadlineTransport(limits=LIMITS))
    with untrusting, pytest.raises(httpx.ConnectError, match="CERTIFICATE_VERIFY_FAILED"):
        untrusting.get(url)
    trusting = ssl.create_default_context(cafile=str(cert))
    with httpx.Client(transport=DeadlineTransport(limits=LIMITS, ssl_context=trusting)) as http:
        assert [http.get(url).json() for _ in range(2)] == [{"ok": True}] * 2
    assert server.connections == 2  # the refused one, then one kept alive


def test_a_line_break_in_a_header_is_refused_before_anything_is_sent(
    serve: Callable[..., Server],
) -> None:
    received: list[bytes] = []
    server = serve(lambda conn, server: received.append(read_request(conn)))
    with client(server) as http, pytest.raises(httpx.LocalProtocolError, match="line break"):
        http.get("/", headers={"X-Note": "a\r\nX-Injected: yes"})
    assert server.connections == 0 and received == []
