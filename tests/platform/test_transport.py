"""The deadline transport: no phase of a call (connecting, resolving, the headers, the body)
waits past the call's deadline, however slowly the other side goes."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterable, Iterator
from typing import Any

import httpcore
import pytest

from responder.errors import PlatformUnavailable
from responder.platform.client import AbcClient
from responder.platform.transport import DeadlineBackend, until


class TricklingServer:
    """Answers every connection with a status line some 10 s long: a byte every 50 ms."""

    def __init__(self) -> None:
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.stopping = threading.Event()
        self.thread = threading.Thread(target=self._serve)
        self.thread.start()

    def _serve(self) -> None:
        self.listener.settimeout(0.05)
        while not self.stopping.is_set():
            try:
                conn, _ = self.listener.accept()
            except TimeoutError:
                continue
            with conn:
                conn.recv(65536)
                for byte in b"HTTP/1.1 200 " + b"O" * 200:
                    if self.stopping.wait(0.05):
                        break
                    try:
                        conn.sendall(bytes([byte]))
                    except OSError:  # the client hung up
                        break

    def close(self) -> None:
        self.stopping.set()
        self.thread.join()
        self.listener.close()


@pytest.fixture
def trickling() -> Iterator[TricklingServer]:
    server = TricklingServer()
    yield server
    server.close()


def test_trickling_headers_end_the_call_at_its_deadline(trickling: TricklingServer) -> None:
    deadline = time.monotonic() + 1.0
    client = AbcClient(f"http://127.0.0.1:{trickling.port}/v1", "k", max_attempts=1)
    with client, pytest.raises(PlatformUnavailable, match="did not answer"):
        client.connections(deadline=deadline)
    assert time.monotonic() < deadline + 2.0  # generous slack for a busy machine


class RecordingBackend(httpcore.NetworkBackend):
    """Connects nowhere: records the timeout it was given, or blocks until released."""

    def __init__(self, *, block: bool = False) -> None:
        self.timeouts: list[float | None] = []
        self.release = threading.Event()
        self.block = block

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.NetworkStream:
        self.timeouts.append(timeout)
        if self.block:
            self.release.wait(30)
        return httpcore.MockStream([])


def test_connecting_to_an_address_waits_no_longer_than_the_deadline() -> None:
    inner = RecordingBackend()
    with until(time.monotonic() + 0.5, time.monotonic):
        DeadlineBackend(inner).connect_tcp("192.0.2.1", 443, timeout=3.0)
    [timeout] = inner.timeouts
    assert timeout is not None and timeout <= 0.5


def test_nothing_is_connected_once_the_deadline_has_passed() -> None:
    inner = RecordingBackend()
    with until(time.monotonic() - 0.1, time.monotonic), pytest.raises(httpcore.ConnectTimeout):
        DeadlineBackend(inner).connect_tcp("192.0.2.1", 443, timeout=3.0)
    assert inner.timeouts == []


def test_a_host_name_slow_to_resolve_or_connect_is_given_up_at_the_deadline() -> None:
    inner = RecordingBackend(block=True)
    deadline = time.monotonic() + 0.5
    try:
        with until(deadline, time.monotonic), pytest.raises(httpcore.ConnectTimeout):
            DeadlineBackend(inner).connect_tcp("api.abc.test", 443, timeout=3.0)
        assert time.monotonic() < deadline + 2.0
    finally:
        inner.release.set()


def test_outside_a_deadline_the_timeouts_apply_alone() -> None:
    inner = RecordingBackend()
    DeadlineBackend(inner).connect_tcp("192.0.2.1", 443, timeout=3.0)
    assert inner.timeouts == [3.0]
