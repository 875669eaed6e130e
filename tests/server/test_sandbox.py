"""``responder serve`` in sandbox mode, as a new user runs it: started, talked to with
``responder send``, stopped with a signal and started again on the same store."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from responder.model import Outcome
from responder.store import open_store
from tests.harness import ROOT, free_port, wait_for


class Sandbox:
    """``responder serve`` without ABC_API_KEY, on ports of its own, in ``folder``."""

    def __init__(self, folder: Path, *, bind_port: int, sim_port: int) -> None:
        self.folder = folder
        self.bind_port, self.sim_port = bind_port, sim_port
        self.store = folder / "state.db"
        env = {k: v for k, v in os.environ.items() if not k.startswith(("ABC_", "RESPONDER_"))}
        self.env = {
            **env,
            "RESPONDER_BIND": f"127.0.0.1:{bind_port}",
            "RESPONDER_STORE": str(self.store),
            "RESPONDER_RULES": str(ROOT / "rules"),
            "RESPONDER_TEMPLATES": str(ROOT / "templates"),
            "RESPONDER_WATCH_RULES": "false",
        }
        self.log = tempfile.TemporaryFile()  # noqa: SIM115 - closed in close()
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> subprocess.Popen[bytes]:
        self.process = subprocess.Popen(
            [*serve_command(), "--simulator-port", str(self.sim_port)],
            env=self.env,
            cwd=self.folder,
            stdout=self.log,
            stderr=subprocess.STDOUT,
        )
        return self.process

    def start_all(self) -> set[int]:
        """Start, and wait for every process: the simulator, gunicorn's master, two workers."""
        process = self.start()
        self.wait_ready()
        wait_for(
            lambda: len(descendants(process.pid)) >= 4,
            timeout=30,
            what="the simulator, gunicorn's master and its two workers",
        )
        return descendants(process.pid)

    def wait_ready(self) -> None:
        def ready() -> bool:
            assert self.process is not None
            if self.process.poll() is not None:
                raise AssertionError(f"responder serve exited: {self.output()[-3000:]}")
            try:
                url = f"http://127.0.0.1:{self.bind_port}/readyz"
                return httpx.get(url, timeout=1).status_code == 200
            except httpx.HTTPError:
                return False

        wait_for(ready, timeout=60, what="responder serve to be ready")

    def send(self, text: str, lead: str, *extra: str) -> subprocess.CompletedProcess[str]:
        simulator = f"http://127.0.0.1:{self.sim_port}"
        return subprocess.run(
            [*responder(), "send", text, "--lead", lead, "--simulator", simulator, *extra],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
            cwd=self.folder,
        )

    def terminate(self) -> int:
        assert self.process is not None
        self.process.send_signal(signal.SIGTERM)
        return self.process.wait(timeout=60)

    def output(self) -> str:
        self.log.seek(0)
        return self.log.read().decode(errors="replace")

    def close(self) -> None:
        # TERM, not KILL: serve stops gunicorn and the simulator on TERM, and a killed serve
        # would leave them running after the test.
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.log.close()


def responder() -> list[str]:
    return [sys.executable, "-m", "responder.cli"]


def serve_command() -> list[str]:
    return [*responder(), "serve"]


@pytest.fixture
def sandbox(tmp_path: Path) -> Iterator[Sandbox]:
    box = Sandbox(tmp_path, bind_port=free_port(), sim_port=free_port())
    try:
        yield box
    finally:
        box.close()


def descendants(pid: int) -> set[int]:
    """Every process below ``pid`` now (from /proc)."""
    found: set[int] = set()
    todo = [pid]
    while todo:
        parent = todo.pop()
        for task in Path(f"/proc/{parent}/task").glob("*"):
            try:
                children = (task / "children").read_text().split()
            except OSError:
                continue
            for child in map(int, children):
                if child not in found:
                    found.add(child)
                    todo.append(child)
    return found


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def port_free(port: int) -> bool:
    with socket.socket() as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def test_after_a_restart_a_new_message_is_answered_and_every_hint_names_the_store(
    sandbox: Sandbox,
) -> None:
    sandbox.start()
    sandbox.wait_ready()
    first = sandbox.send("what are your opening hours?", "42")
    assert first.returncode == 0 and "bot> " in first.stdout, first.stdout + first.stderr
    assert sandbox.terminate() == 0

    sandbox.start()  # the same store, a new simulator: message ids must not repeat
    sandbox.wait_ready()
    second = sandbox.send("how much is it?", "77")
    assert second.returncode == 0 and "bot> " in second.stdout, second.stdout + second.stderr

    # Not waiting for the reply: the hint names the log of this service, with its options.
    untold = sandbox.send("what are your opening hours?", "78", "--wait", "0")
    hint = f"log --store {sandbox.store} --rules {ROOT / 'rules'} --lead 78"
    assert hint in untold.stdout, untold.stdout
    banner = sandbox.output()
    assert f"send --simulator http://127.0.0.1:{sandbox.sim_port} " in banner
    assert f"log --store {sandbox.store} --rules {ROOT / 'rules'}\n" in banner
    assert "Rule authors write, try and publish replies at  http://127.0.0.1:" in banner
    assert f"users add YOUR-NAME --role editor --store {sandbox.store})" in banner

    store = open_store(str(sandbox.store))
    try:
        for lead in ("42", "77"):
            [record] = store.decisions(lead_id=lead)
            assert record.outcome is Outcome.SENT
    finally:
        store.close()


def test_sigterm_stops_gunicorn_its_workers_and_the_simulator(sandbox: Sandbox) -> None:
    started = sandbox.start_all()
    assert sandbox.terminate() == 0
    assert [pid for pid in started if alive(pid)] == []
    assert port_free(sandbox.bind_port) and port_free(sandbox.sim_port)


@pytest.mark.parametrize(
    ("busy", "named"),
    [("service", "RESPONDER_BIND"), ("simulator", "--simulator-port")],
)
def test_a_busy_port_stops_serve_at_once_naming_the_setting(
    sandbox: Sandbox, busy: str, named: str
) -> None:
    port = sandbox.bind_port if busy == "service" else sandbox.sim_port
    with socket.create_server(("127.0.0.1", port)):
        process = sandbox.start()
        assert process.wait(timeout=30) == 1
    output = sandbox.output()
    assert f"port {port} on 127.0.0.1 is in use" in output and named in output, output
    assert "Traceback" not in output and "gunicorn" not in output
    assert port_free(sandbox.bind_port) and port_free(sandbox.sim_port)


def running(pid: int) -> bool:
    """Alive and not a zombie waiting for whoever adopted it to reap it."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rpartition(")")[2].split()[0] != "Z"


def test_a_killed_serve_takes_gunicorn_its_workers_and_the_simulator_with_it(
    sandbox: Sandbox,
) -> None:
    started = sandbox.start_all()
    assert sandbox.process is not None
    sandbox.process.kill()  # nothing in serve gets to run
    sandbox.process.wait()
    wait_for(
        lambda: not any(running(pid) for pid in started),
        timeout=45,
        what="gunicorn, its workers and the simulator to end",
    )
    assert port_free(sandbox.bind_port) and port_free(sandbox.sim_port)
