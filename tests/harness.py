"""Running the real service for tests: over real HTTP on loopback, against the simulator.

:func:`serve_in_thread` serves ``create_app()`` with werkzeug's threaded server (fast to start,
one process); :class:`Gunicorn` runs the service exactly as production does, in worker
processes, for the tests about concurrency across processes and killed workers.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
from flask import Flask
from werkzeug.serving import make_server

from responder.model import DecisionRecord
from responder.ports import Store
from responder.server.service import Service
from responder.server.web import create_app
from responder.simulator import Simulator

ROOT = Path(__file__).resolve().parent.parent
SECRET = "sim-secret"
API_KEY = "sim-key"


def service_config(sim: Simulator, tmp_path: Path, **overrides: Any) -> dict[str, Any]:
    """Settings for a service that talks to ``sim``, fast enough for tests."""
    return {
        "api_key": API_KEY,
        "api_url": sim.base_url,
        "webhook_secrets": (SECRET,),
        "rules_dir": ROOT / "rules",
        "templates_dir": ROOT / "templates",
        "store_url": str(tmp_path / "responder.db"),
        "janitor_interval": timedelta(seconds=0.2),
        "job_deadline": timedelta(seconds=8),
        "lease": timedelta(seconds=10),
        "senders": 8,
        **overrides,
    }


@dataclass
class Running:
    url: str
    app: Flask

    @property
    def service(self) -> Service:
        service: Service = self.app.extensions["responder"]
        return service

    @property
    def store(self) -> Store:
        return self.service.store


@contextmanager
def serve_in_thread(config: Mapping[str, Any]) -> Iterator[Running]:
    app = create_app(config)
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
    thread.start()
    try:
        yield Running(f"http://127.0.0.1:{server.server_port}", app)
    finally:
        server.shutdown()
        thread.join()
        server.server_close()
        app.extensions["responder"].close()


def wait_for(check: Callable[[], Any], *, timeout: float = 15.0, what: str = "condition") -> Any:
    """Poll ``check`` until it returns something truthy; fail the test after ``timeout``."""
    give_up = time.monotonic() + timeout
    while True:
        result = check()
        if result:
            return result
        if time.monotonic() > give_up:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.02)


def outcomes(
    store: Store, lead_id: str, count: int = 1, timeout: float = 15.0
) -> list[DecisionRecord]:
    """Wait until ``count`` decisions are recorded for the lead; return them oldest first."""
    found = wait_for(
        lambda: (lambda r: r if len(r) >= count else None)(
            list(store.decisions(lead_id=lead_id, limit=100))
        ),
        timeout=timeout,
        what=f"{count} decision(s) for lead {lead_id}",
    )
    return list(reversed(found))


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


class SilentServer:
    """A TCP server on loopback that accepts every connection and never answers (a hung Redis,
    say); connections stay open until :meth:`close`."""

    def __init__(self) -> None:
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.listener.settimeout(0.05)
        self.port: int = self.listener.getsockname()[1]
        self.accepted: list[socket.socket] = []
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._accept, name="silent-server")
        self._thread.start()

    def _accept(self) -> None:
        while not self._stopping.is_set():
            try:
                conn, _ = self.listener.accept()
            except TimeoutError:
                continue
            self.accepted.append(conn)

    def close(self) -> None:
        self._stopping.set()
        self._thread.join()
        for conn in self.accepted:
            conn.close()
        self.listener.close()

    def __enter__(self) -> SilentServer:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()


class Gunicorn:
    """The service under gunicorn (``responder.server.gunicorn_conf``), configured by environment."""

    def __init__(self, env: Mapping[str, str], *, workers: int = 2) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        # The workers' metrics in a folder of the test's, not in the repository's var/.
        self.metrics_dir = tempfile.mkdtemp(prefix="responder-metrics-")
        self.env = {
            **os.environ,
            "RESPONDER_METRICS_DIR": self.metrics_dir,
            "RESPONDER_LOG_LEVEL": "warning",
            **env,
            "RESPONDER_BIND": f"127.0.0.1:{self.port}",
            "RESPONDER_WORKERS": str(workers),
        }
        self.process: subprocess.Popen[bytes] | None = None
        # A file, not a pipe: a pipe nobody reads could fill up and block gunicorn.
        self.log = tempfile.TemporaryFile()  # noqa: SIM115 - closed in stop()
        self._output = ""

    def start(self, *, wait_for_http: bool = True) -> Gunicorn:
        """Start gunicorn; wait until /readyz answers, or with ``wait_for_http=False`` only
        until the port accepts connections (no request reaches the service)."""
        self.process = subprocess.Popen(
            # app:app, as the Dockerfile runs it (cwd is the repository root).
            [
                sys.executable,
                "-m",
                "gunicorn",
                "-c",
                "python:responder.server.gunicorn_conf",
                "app:app",
            ],
            env=self.env,
            cwd=ROOT,
            stdout=self.log,
            stderr=subprocess.STDOUT,
        )
        if wait_for_http:
            wait_for(self._ready, timeout=30, what="gunicorn to answer /readyz")
        else:
            wait_for(self._listening, timeout=30, what="gunicorn to listen")
        return self

    def _listening(self) -> bool:
        assert self.process is not None
        if self.process.poll() is not None:
            raise AssertionError(f"gunicorn exited: {self.output()[-2000:]}")
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=1):
                return True
        except OSError:
            return False

    def _ready(self) -> bool:
        assert self.process is not None
        if self.process.poll() is not None:
            raise AssertionError(f"gunicorn exited: {self.output()[-2000:]}")
        try:
            return httpx.get(f"{self.url}/readyz", timeout=1).status_code == 200
        except httpx.HTTPError:
            return False

    def worker_pids(self) -> list[int]:
        assert self.process is not None
        out = subprocess.run(
            ["pgrep", "-P", str(self.process.pid)], capture_output=True, text=True, check=False
        ).stdout
        return [int(pid) for pid in out.split()]

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        if not self.log.closed:
            self._output = self.output()  # still there once stopped
            self.log.close()
        shutil.rmtree(self.metrics_dir, ignore_errors=True)

    def output(self) -> str:
        """Everything gunicorn and the service printed (up to now, or until stopped)."""
        if self.log.closed:
            return self._output
        self.log.seek(0)
        return self.log.read().decode(errors="replace")

    def __enter__(self) -> Gunicorn:
        return self.start()

    def __exit__(self, *_: object) -> None:
        self.stop()
