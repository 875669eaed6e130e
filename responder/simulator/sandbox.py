"""The sandbox: the service against a local ABC API simulator, for a first run and for demos.

``responder serve`` without ``ABC_API_KEY`` starts the simulator in a child process, points
the service at it with a fresh webhook secret, and prints how to talk to it;
``responder send`` then plays the lead from a second terminal.
"""

from __future__ import annotations

import secrets
import socket
import subprocess
import sys
import time
from collections.abc import Mapping

import httpx

from responder.config import environment_setting

SIMULATOR_KEY = "sim-key"


def start(env: Mapping[str, str], port: int) -> tuple[subprocess.Popen[bytes], dict[str, str]]:
    """Start the simulator on 127.0.0.1:``port``; return it and the service's environment."""
    bind = environment_setting("bind", env)
    secret = secrets.token_hex(16)
    command = [
        *(sys.executable, "-m", "responder.simulator", "--port", str(port)),
        *("--webhook", f"http://{bind}/webhook"),
        *("--secret", secret, "--api-key", SIMULATOR_KEY),
    ]
    simulator = subprocess.Popen(command, env=dict(env))  # noqa: S603
    _wait_for_port(simulator, port)
    service_env = {
        **env,
        "ABC_API_KEY": SIMULATOR_KEY,
        "ABC_API_URL": f"http://127.0.0.1:{port}/v1",
        "ABC_WEBHOOK_SECRET": secret,
        "RESPONDER_SANDBOX": "1",
        "RESPONDER_BIND": bind,
    }
    print(
        f"\nSandbox mode (no ABC_API_KEY): replies go to the local ABC API simulator on port "
        f"{port}, nothing leaves this machine.\n"
        f"From a second terminal, talk to the service as a lead would:\n\n"
        f'    .venv/bin/responder send "what are your opening hours?" --lead 42\n\n'
        f"and see its decisions with  .venv/bin/responder log\n",
        flush=True,
    )
    return simulator, service_env


def stop(simulator: subprocess.Popen[bytes]) -> None:
    simulator.terminate()
    try:
        simulator.wait(timeout=5)
    except subprocess.TimeoutExpired:
        simulator.kill()
        simulator.wait()


def send(simulator: str, *, lead: str, text: str, profile: Mapping[str, str], wait: float) -> int:
    """Have the simulator deliver ``text`` from ``lead``; print the reply when it comes."""
    base = simulator.rstrip("/")
    try:
        with httpx.Client(timeout=10.0) as client:
            before = _replies(client, base, lead)
            answer = client.post(f"{base}/_sim/say", json={"lead": lead, "text": text, **profile})
            if answer.status_code != 200:
                print(f"The simulator refused: {answer.text}", file=sys.stderr)
                return 1
            status = answer.json().get("webhook_status")
            print(f"delivered; the service answered HTTP {status}")
            give_up = time.monotonic() + wait
            while time.monotonic() < give_up:
                replies = _replies(client, base, lead)
                if len(replies) > len(before):
                    for reply in replies[len(before) :]:
                        print(f"bot> {reply.get('content', '')}")
                        if reply.get("s3_attachment"):
                            print(f"     (attachment: {reply['s3_attachment']})")
                    return 0
                time.sleep(0.1)
    except httpx.HTTPError as exc:
        problem = f"The simulator at {base} cannot be reached ({exc}). Is 'make run' running?"
        print(problem, file=sys.stderr)
        return 1
    print(f"(no reply within {wait:g} s: run 'responder log --lead {lead}' to see why)")
    return 0


def _replies(client: httpx.Client, base: str, lead: str) -> list[dict[str, object]]:
    state = client.get(f"{base}/_sim/state").json()
    return [r for r in state.get("replies", []) if str(r.get("lead_id")) == lead]


def _wait_for_port(process: subprocess.Popen[bytes], port: int, timeout: float = 10.0) -> None:
    give_up = time.monotonic() + timeout
    while time.monotonic() < give_up:
        if process.poll() is not None:
            raise SystemExit(f"The simulator could not start (is port {port} free?)")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return
        except OSError:
            time.sleep(0.05)
    process.kill()
    raise SystemExit(f"The simulator did not start listening on port {port}")
