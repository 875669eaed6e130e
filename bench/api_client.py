"""What a reply costs to send: CPU per API call, the service's client against two references,
in the same run.

* ``AbcClient``: the service's client and transport (responder/platform/), as a sender
  thread calls it;
* ``httpx.Client``: httpx with its own transport (httpcore and h11), the same request;
* ``http.client``: the standard library alone, one kept-alive connection per thread, the
  floor for a Python HTTP/1.1 call.

Each sends ``--calls`` replies at ``--rate`` per second from ``--threads`` threads (as the
service's sender pool does) to the keep-alive fake API (bench/fake_api.py), started here with
``--latency`` seconds per answer, and reports the process's CPU seconds (user and system) per
call. Run ``python bench/api_client.py``; the variants run in turn, ``--rounds`` times each,
in alternation, and the best round of each is printed, then every round.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import queue
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # run as a script from anywhere
    sys.path.insert(0, str(ROOT))

import httpx  # noqa: E402

from responder.platform.client import AbcClient  # noqa: E402

HOST = "127.0.0.1"
KEY = "bench-key"
TEXT = "Hello! We open at 8 tomorrow morning; the gluten-free loaves are out by 9."


def cpu() -> float:
    return sum(os.times()[:2])


def service(base: str, threads: int) -> Callable[[int], None]:
    client = AbcClient(f"{base}/v1", KEY, max_connections=threads + 4)

    def call(n: int) -> None:
        client.reply(str(n), TEXT, 123, deadline=time.monotonic() + 5)

    return call


def plain_httpx(base: str, threads: int) -> Callable[[int], None]:
    limits = httpx.Limits(max_connections=threads + 4, max_keepalive_connections=threads + 4)
    client = httpx.Client(
        base_url=f"{base}/v1/", headers={"Authorization": f"Bearer {KEY}"}, limits=limits
    )

    def call(n: int) -> None:
        payload = {"message": TEXT, "messaging_channel_connection_id": 123}
        client.post(f"leads/{n}/conversations/reply", json=payload).raise_for_status()

    return call


def stdlib(base: str, threads: int) -> Callable[[int], None]:
    idle: queue.LifoQueue[http.client.HTTPConnection] = queue.LifoQueue()
    port = int(base.rsplit(":", 1)[1])
    headers = {"Authorization": f"Bearer {KEY}", "Content-Type": "application/json"}

    def call(n: int) -> None:
        try:
            connection = idle.get_nowait()
        except queue.Empty:
            connection = http.client.HTTPConnection(HOST, port, timeout=5)
        body = json.dumps({"message": TEXT, "messaging_channel_connection_id": 123})
        connection.request("POST", f"/v1/leads/{n}/conversations/reply", body, headers)
        response = connection.getresponse()
        response.read()
        if response.status >= 300:
            raise RuntimeError(f"the fake API answered {response.status}")
        idle.put(connection)

    return call


VARIANTS: dict[str, Callable[[str, int], Callable[[int], None]]] = {
    "AbcClient (the service)": service,
    "httpx.Client, its own transport": plain_httpx,
    "http.client (the floor)": stdlib,
}


def run(call: Callable[[int], None], *, calls: int, rate: float, threads: int) -> float:
    """CPU seconds per call, the calls made on schedule from a pool of ``threads``."""
    with ThreadPoolExecutor(threads) as pool:
        for n in range(20):  # connections opened, imports done: not counted
            pool.submit(call, n).result()
        start, before = time.monotonic(), cpu()
        futures = []
        for n in range(calls):
            wait = start + n / rate - time.monotonic()
            if wait > 0:
                time.sleep(wait)
            futures.append(pool.submit(call, n))
        for future in futures:
            future.result()
        return (cpu() - before) / calls


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind((HOST, 0))
        return int(probe.getsockname()[1])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--calls", type=int, default=1500)
    parser.add_argument("--rate", type=float, default=100.0, help="calls per second")
    parser.add_argument("--threads", type=int, default=64, help="as RESPONDER_SENDERS")
    parser.add_argument("--latency", type=float, default=0.2, help="the API's latency, s")
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()

    port = free_port()
    api = subprocess.Popen(
        [
            *(sys.executable, "-m", "bench.fake_api", "--host", HOST, "--port", str(port)),
            *("--latency", str(args.latency), "--api-key", KEY),
        ],
        cwd=ROOT,
    )
    try:
        base = f"http://{HOST}:{port}"
        deadline = time.monotonic() + 10
        while True:
            try:
                socket.create_connection((HOST, port), timeout=1).close()
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.05)
        print(
            f"{args.calls} replies at {args.rate:g}/s from {args.threads} threads, API latency "
            f"{args.latency:g} s; load average before: {os.getloadavg()[0]:.2f}\n"
        )
        rounds: dict[str, list[float]] = {name: [] for name in VARIANTS}
        for _ in range(args.rounds):
            for name, make in VARIANTS.items():
                call = make(base, args.threads)
                per_call = run(call, calls=args.calls, rate=args.rate, threads=args.threads)
                rounds[name].append(per_call)
        floor = min(rounds["http.client (the floor)"])
        for name, seconds in rounds.items():
            each = ", ".join(f"{s * 1000:.2f}" for s in seconds)
            best = min(seconds)
            print(
                f"{name:<34} {best * 1000:6.2f} ms CPU per call ({best / floor:.2f}x the "
                f"floor); rounds: {each}"
            )
        print(f"\nload average after: {os.getloadavg()[0]:.2f}")
    finally:
        api.terminate()
        api.wait()
    return 0


if __name__ == "__main__":
    sys.exit(main())
