"""The sandbox: the service against a local ABC API simulator, for a first run and for demos.

``responder serve`` without ``ABC_API_KEY`` starts the simulator in a child process, points
the service at it with a fresh webhook secret, and prints how to talk to it;
``responder send`` then plays the lead from a second terminal.

Every command it prints carries the options the service was started with (the simulator's
port, the store, the rules folder), so that it reaches this service and no other instance
running on the same machine; the simulator names the log command to ``responder send`` too.
"""

from __future__ import annotations

import os
import secrets
import shlex
import socket
import subprocess
import sys
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import httpx

from responder.config import Config, environment_setting
from responder.errors import ConfigError

SIMULATOR_KEY = "sim-key"
DEFAULT_SIMULATOR_PORT = 8081


@dataclass(frozen=True)
class Hints:
    """The commands a user of this sandbox runs, with the options it was started with."""

    send: str
    log: str
    users: str  # creating the console's first account


def hints(env: Mapping[str, str], port: int) -> Hints:
    """The ``responder send``, ``log`` and ``users add`` commands that reach the service
    started with ``env`` and the simulator on ``port``."""
    program = _program()
    send = f"{program} send"
    if port != DEFAULT_SIMULATOR_PORT:
        send += f" --simulator http://127.0.0.1:{port}"
    log = f"{program} log"
    users = f"{program} users add YOUR-NAME --role editor"
    for option, setting in (("--store", "store_url"), ("--rules", "rules_dir")):
        value = environment_setting(setting, env)
        if value != getattr(Config(), setting):
            log += f" {option} {shlex.quote(str(value))}"
            if setting == "store_url":
                users += f" {option} {shlex.quote(str(value))}"
    return Hints(send, log, users)


def check_port_free(host: str, port: int, change: str) -> None:
    """Raise ConfigError naming ``change`` (the setting to change) when ``host:port`` is taken.

    Checked before anything starts: a service or simulator that cannot listen would leave the
    hints reaching whatever else holds the port, such as another instance.
    """
    with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET) as probe:
        # As gunicorn binds: a port whose last connections are closing (TIME_WAIT) is free.
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError as exc:
            raise ConfigError(
                f"port {port} on {host} is in use ({exc.strerror}): stop what holds it, or "
                f"change {change}"
            ) from None


def start(env: Mapping[str, str], port: int) -> tuple[subprocess.Popen[bytes], dict[str, str]]:
    """Start the simulator on 127.0.0.1:``port``; return it and the service's environment.

    Raises ConfigError naming the option when the port is in use.
    """
    check_port_free("127.0.0.1", port, "--simulator-port (e.g. --simulator-port 9081)")
    bind = environment_setting("bind", env)
    secret = secrets.token_hex(16)
    told = hints(env, port)
    command = [
        *(sys.executable, "-m", "responder.simulator", "--port", str(port)),
        *("--webhook", f"http://{bind}/webhook"),
        *("--secret", secret, "--api-key", SIMULATOR_KEY, "--log-command", told.log),
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
        f'    {told.send} "what are your opening hours?" --lead 42\n\n'
        f"and see its decisions with  {told.log}\n",
        flush=True,
    )
    if environment_setting("console", env):
        print(
            f"Rule authors write, try and publish replies at  http://{bind}/console\n"
            f"(create the first account with  {told.users})\n",
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
    """Have the simulator deliver ``text`` from ``lead``; print the reply when it comes, else
    the command that shows why (the simulator names it, with the service's options)."""
    base = simulator.rstrip("/")
    try:
        with httpx.Client(timeout=10.0) as client:
            before = _replies(client, base, lead)
            answer = client.post(f"{base}/_sim/say", json={"lead": lead, "text": text, **profile})
            if answer.status_code != 200:
                print(f"The simulator refused: {answer.text}", file=sys.stderr)
                return 1
            said = answer.json()
            status = said.get("webhook_status")
            log = f"{said.get('log_command') or 'responder log'} --lead {shlex.quote(lead)}"
            print(f"delivered; the service answered HTTP {status}")
            if said.get("webhook_answer") == "duplicate":
                print(
                    "The service took it for a message it had already handled, so it did not "
                    f"answer it again: run '{log}' to see which"
                )
                return 0
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
    print(f"(no reply within {wait:g} s: run '{log}' to see why)")
    return 0


def _program() -> str:
    """How the user ran ``responder`` (``.venv/bin/responder`` from the project folder)."""
    argv0 = Path(sys.argv[0])
    if argv0.name != "responder":
        return "responder"
    relative = os.path.relpath(argv0)
    return relative if not relative.startswith("..") else str(argv0)


def _replies(client: httpx.Client, base: str, lead: str) -> list[dict[str, object]]:
    state = client.get(f"{base}/_sim/state").json()
    return [r for r in state.get("replies", []) if str(r.get("lead_id")) == lead]


def _wait_for_port(process: subprocess.Popen[bytes], port: int, timeout: float = 10.0) -> None:
    give_up = time.monotonic() + timeout
    while time.monotonic() < give_up:
        if process.poll() is not None:
            raise ConfigError(
                f"the simulator could not start on port {port}: change --simulator-port"
            )
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return
        except OSError:
            time.sleep(0.05)
    process.kill()
    process.wait()
    raise ConfigError(f"the simulator did not start listening on port {port}")
