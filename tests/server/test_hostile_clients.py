"""Clients that connect and stop sending cannot stop `responder serve`, the production command.

Each test runs the real command (gunicorn with the service's worker) against the simulator as
the ABC API, opens connections that send part of a request and then nothing, and checks that
signed deliveries are still acknowledged and answered, and that the stalled connections are
closed at their deadlines.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

import httpx
import pytest

from responder.model import Outcome
from responder.simulator import Simulator
from responder.store import open_store
from tests.harness import API_KEY, ROOT, SECRET, free_port, outcomes, wait_for

HALF_SENT = 256
QUESTION = "What are your opening hours?"


@pytest.fixture
def sim() -> Iterator[Simulator]:
    with Simulator(api_key=API_KEY, webhook_secret=SECRET) as simulator:
        yield simulator


@contextmanager
def responder_serve(sim: Simulator, db: Path, **env: str) -> Iterator[str]:
    """``responder serve`` on a free port, talking to ``sim``; yields its base URL."""
    port = free_port()
    environ = {
        **os.environ,
        "ABC_API_KEY": API_KEY,
        "ABC_API_URL": sim.base_url,
        "ABC_WEBHOOK_SECRET": SECRET,
        "RESPONDER_STORE": str(db),
        "RESPONDER_RULES": str(ROOT / "rules"),
        "RESPONDER_TEMPLATES": str(ROOT / "templates"),
        "RESPONDER_BIND": f"127.0.0.1:{port}",
        "RESPONDER_WORKERS": "2",
        "RESPONDER_THREADS": "8",
        "RESPONDER_LOG_LEVEL": "warning",
        **env,
    }
    url = f"http://127.0.0.1:{port}"
    with tempfile.TemporaryFile() as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "responder.cli", "serve"],
            env=environ,
            cwd=ROOT,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

        def ready() -> bool:
            if process.poll() is not None:
                log.seek(0)
                raise AssertionError(f"responder serve exited: {log.read().decode()[-2000:]}")
            try:
                return httpx.get(f"{url}/readyz", timeout=1).status_code == 200
            except httpx.HTTPError:
                return False

        try:
            wait_for(ready, timeout=30, what="responder serve to be ready")
            sim.webhook_url = f"{url}/webhook"
            yield url
        finally:
            os.killpg(process.pid, signal.SIGTERM)
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()


def stall(url: str, count: int, stack: ExitStack) -> list[socket.socket]:
    """``count`` connections, half stopping inside the headers and half inside the body."""
    port = int(url.rsplit(":", 1)[1])
    stalled = []
    for i in range(count):
        conn = stack.enter_context(socket.create_connection(("127.0.0.1", port), timeout=5))
        if i % 2:
            conn.sendall(b"POST /webhook HTTP/1.1\r\nHost: x\r\n")
        else:
            conn.sendall(
                b"POST /webhook HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                b'Content-Length: 1000\r\n\r\n{"event_type":'
            )
        stalled.append(conn)
    return stalled


def answer_of(conn: socket.socket) -> bytes:
    """What the server sent on ``conn`` before it closed it."""
    received = b""
    while chunk := conn.recv(4096):
        received += chunk
    return received


def test_deliveries_are_answered_while_hundreds_of_clients_stall(
    sim: Simulator, tmp_path: Path
) -> None:
    db = tmp_path / "state.db"
    # Deadlines far beyond the test: the stalled clients stay connected throughout.
    deadlines = {"RESPONDER_HEADER_TIMEOUT": "2m", "RESPONDER_BODY_TIMEOUT": "2m"}
    with responder_serve(sim, db, **deadlines) as url, ExitStack() as stack:
        stalled = stall(url, HALF_SENT, stack)
        with httpx.Client(timeout=1.0) as client:  # the acknowledgement must come within 1 s
            assert client.get(f"{url}/healthz").status_code == 200
            for lead in range(10):
                delivery = sim.say(str(lead), QUESTION, deliver=False)
                assert isinstance(delivery, dict)
                response = client.post(
                    f"{url}/webhook", content=delivery["body"], headers=delivery["headers"]
                )
                assert response.status_code == 202, response.text
        store = open_store(str(db))
        try:
            for lead in range(10):
                assert [r.outcome for r in outcomes(store, str(lead))] == [Outcome.SENT]
                assert len(sim.replies(str(lead))) == 1
        finally:
            store.close()
        for conn in stalled:  # still held open, never answered
            conn.setblocking(False)
            with pytest.raises(BlockingIOError):
                conn.recv(1)


def test_stalled_clients_are_told_408_and_closed_at_their_deadlines(
    sim: Simulator, tmp_path: Path
) -> None:
    deadlines = {"RESPONDER_HEADER_TIMEOUT": "1s", "RESPONDER_BODY_TIMEOUT": "1s"}
    with responder_serve(sim, tmp_path / "state.db", **deadlines) as url, ExitStack() as stack:
        for conn in stall(url, 2, stack):
            answer = answer_of(conn)  # returns once the server has closed the connection
            assert answer.startswith(b"HTTP/1.1 408 "), answer
            assert b"did not arrive in time" in answer


def test_a_chunked_body_over_the_limit_is_413_not_401(sim: Simulator, tmp_path: Path) -> None:
    def chunks() -> Iterator[bytes]:
        for _ in range(20):
            yield b"x" * 65536  # 1.25 MiB in all, no Content-Length

    with responder_serve(sim, tmp_path / "state.db") as url:
        answer = httpx.post(f"{url}/webhook", content=chunks(), timeout=5)
        assert answer.status_code == 413
