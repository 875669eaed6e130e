"""Can the service keep up with bursts? An end-to-end load test on this machine.

Run ``python bench/service.py`` (about two and a half minutes; ``--rates 100,200`` and
``--duration 10`` shorten it). Everything listens on 127.0.0.1 and is stopped at the end, also
on Ctrl-C. In one run it starts:

* a fake ABC API in its own process (bench/fake_api.py): one event loop answering every API
  call after 200 ms (``--latency``) on connections it keeps open, as the platform does;
  ``--api simulator`` uses the project's simulator instead, which closes every connection
  (so each reply pays a new connection);
* the service exactly as in production: gunicorn with ``responder.server.gunicorn_conf``, the
  repository's ``rules/`` and ``templates/``, a SQLite store in a temporary folder
  (``--store redis`` a Redis store at ``--redis-url`` under a fresh key prefix, removed after);
* later, in place of the service, a bare Flask app that only answers 202 to ``POST /webhook``,
  under the same gunicorn settings: the ceiling the web stack alone allows.

``--console both`` serves the service twice, with the console on and then off, at the same
rates: the console must add nothing to a delivery's work. Between the two halves the machine
itself may drift, so ``--console alternate`` serves both side by side instead (each with its
own store, the one not measured idle) and, at each rate, runs ``--rounds`` rounds (3 by
default) of console on and console off, the order swapped every round (on, off / off, on /
on, off ...). It prints each round's CPU per delivery of both and their ratio, and the median
on/off ratio over the rounds with its range; the target is a median of at most 1.10x.
``--worker gthread`` serves both apps with gunicorn's thread worker instead of the service's
own (responder/server/worker.py), to compare the two.

The bare app's CPU per delivery drifts from one phase to the next as much as the service's
(by a quarter over a morning on a shared machine), so a ratio of two phases minutes apart
says little. ``--ceiling alternate`` serves the service and the bare app side by side and, at
each rate, runs ``--rounds`` rounds of both, the order swapped every round; it prints each
round's ratio, and the CPU target is checked on the median of the rounds.

For each rate (default 100, 200 and 400 deliveries/s, each for ``--duration`` seconds) an
open-loop generator sends signed ``conversation_created`` deliveries at fixed instants,
whatever the answers: every delivery on its own connection, each from a new lead asking
"What are your opening hours?" (registered in the simulator beforehand, so every delivery
must be answered by the ``opening-hours`` rule). It prints, per rate:

* acks: time from starting to send a delivery to having its answer (p50/p99), and how many
  were not 202;
* replies: how many deliveries got their reply accepted by the simulator, and the time from
  sending the delivery to the simulator accepting the reply (p50/p99);
* CPU per delivery (user + system, from ``/proc``) of the gunicorn processes, the simulator
  and the generator, and the share of the machine's cores used;
* the generator's achieved rate and lateness against its schedule, to show it is not the
  bottleneck.

and, per rate, the service's CPU per delivery against the bare app's (the ratio).

``--profile SECONDS`` samples one service worker with py-spy (``--gil``: only the thread
holding the GIL, i.e. where the CPU goes) for that long during the first measured rate, and
prints the functions with the most samples, by own time and including callees.

The targets (at 400/s): every reply sent, delivery-to-reply p99 <= 300 ms, ack p99 <= 20 ms,
no reply sent twice, none after the lead's 24-hour window, CPU per delivery <= 2x the bare
app's. Exit status 1 when a target is missed at a rate that was run.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import itertools
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import IO

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # run as a script from anywhere
    sys.path.insert(0, str(ROOT))

import httpx  # noqa: E402
import redis  # noqa: E402
from flask import Flask, jsonify, request  # noqa: E402
from flask.typing import ResponseReturnValue  # noqa: E402

from responder.platform.deliveries import EVENT_CONVERSATION_CREATED, build_delivery  # noqa: E402

SECRET = "bench-secret"
API_KEY = "sim-key"
TEXT = "What are your opening hours?"
HOST = "127.0.0.1"
TICKS = os.sysconf("SC_CLK_TCK")

TARGET_RATE = 400
TARGET_ACK_P99_MS = 20.0
TARGET_REPLY_P99_MS = 300.0
TARGET_CPU_RATIO = 2.0
TARGET_CONSOLE_RATIO = 1.10  # the median over the rounds of --console alternate
# The service's name as a target (with the console on, when it is compared with it off).
SERVICE, CONSOLE_OFF = "service", "console off"
CEILING = "flask-202"  # the bare app, as a target
WINDOW_S = 24 * 3600.0
# The generator is "not the bottleneck" when it sends on time: p99 lateness under this.
GENERATOR_LATE_P99_MS = 5.0
WARMUP = 100  # deliveries sent at 50/s to each server before the measured rates


# -- processes -----------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        port: int = sock.getsockname()[1]
        return port


class Process:
    """A child process whose output goes to a temporary file (a full pipe would block it)."""

    def __init__(self, name: str, argv: Sequence[str], env: dict[str, str]) -> None:
        self.name = name
        self.log: IO[bytes] = tempfile.TemporaryFile()  # noqa: SIM115 - closed in stop()
        self.popen = subprocess.Popen(
            list(argv), env=env, cwd=ROOT, stdout=self.log, stderr=subprocess.STDOUT
        )

    @property
    def pid(self) -> int:
        return self.popen.pid

    def pids(self) -> list[int]:
        """This process and its children (gunicorn's workers)."""
        try:
            children = Path(f"/proc/{self.pid}/task/{self.pid}/children").read_text().split()
        except OSError:
            children = []
        return [self.pid, *(int(c) for c in children)]

    def alive(self) -> bool:
        return self.popen.poll() is None

    def output(self) -> str:
        self.log.seek(0)
        return self.log.read().decode(errors="replace")

    def stop(self) -> None:
        if self.alive():
            self.popen.send_signal(signal.SIGTERM)
            try:
                self.popen.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.popen.kill()
                self.popen.wait()
        self.log.close()


def kernel_share(pids: Sequence[int]) -> tuple[float, int]:
    """System CPU seconds and context switches (voluntary and not) of the processes, summed
    over all their threads: what thread hand-offs cost beyond the Python that runs."""
    system, switches = 0.0, 0
    for pid in pids:
        with contextlib.suppress(OSError):
            stat = Path(f"/proc/{pid}/stat").read_text()
            system += int(stat.rsplit(")", 1)[1].split()[12]) / TICKS
        for task in Path(f"/proc/{pid}/task").glob("*"):
            with contextlib.suppress(OSError):
                for line in (task / "status").read_text().splitlines():
                    if "ctxt_switches:" in line:
                        switches += int(line.split(":", 1)[1])
    return system, switches


def cpu_seconds(pids: Sequence[int]) -> dict[int, float]:
    """User + system CPU seconds of each process (all its threads), from /proc/<pid>/stat."""
    result = {}
    for pid in pids:
        try:
            stat = Path(f"/proc/{pid}/stat").read_text()
        except OSError:
            continue
        fields = stat.rsplit(")", 1)[1].split()
        result[pid] = (int(fields[11]) + int(fields[12])) / TICKS  # utime, stime
    return result


def wait_until_up(url: str, process: Process, timeout: float = 30.0) -> None:
    give_up = time.monotonic() + timeout
    while time.monotonic() < give_up:
        if not process.alive():
            raise RuntimeError(f"{process.name} exited:\n{process.output()[-3000:]}")
        with contextlib.suppress(httpx.HTTPError):
            if httpx.get(url, timeout=1).status_code == 200:
                return
        time.sleep(0.1)
    raise RuntimeError(f"{process.name} did not answer {url} within {timeout:.0f} s")


def start_simulator(port: int, latency: float) -> Process:
    process = Process(
        "simulator",
        [
            sys.executable,
            "-m",
            "responder.simulator",
            "--host",
            HOST,
            "--port",
            str(port),
            "--secret",
            SECRET,
            "--api-key",
            API_KEY,
            "--latency",
            str(latency),
        ],
        dict(os.environ),
    )
    wait_until_up(f"http://{HOST}:{port}/_sim/state", process)
    return process


# gunicorn's own thread worker, for a comparison with the service's worker (``--worker``).
GTHREAD = ("-k", "gthread", "--threads", os.environ.get("RESPONDER_THREADS", "8"))


def start_fake_api(port: int, latency: float) -> Process:
    process = Process(
        "fake-api",
        [
            *(sys.executable, "-m", "bench.fake_api", "--host", HOST, "--port", str(port)),
            *("--latency", str(latency), "--api-key", API_KEY),
        ],
        dict(os.environ),
    )
    wait_until_up(f"http://{HOST}:{port}/_fake/count", process)
    return process


def start_gunicorn(
    name: str, app: str, port: int, env: dict[str, str], extra: Sequence[str] = ()
) -> Process:
    env = {
        **os.environ,
        **env,
        "RESPONDER_BIND": f"{HOST}:{port}",
        "RESPONDER_LOG_LEVEL": "warning",
    }
    env.pop("RESPONDER_ACCESS_LOG", None)
    process = Process(
        name,
        [
            *(sys.executable, "-m", "gunicorn", "-c", "python:responder.server.gunicorn_conf"),
            *extra,
            app,
        ],
        env,
    )
    wait_until_up(f"http://{HOST}:{port}/healthz", process)
    return process


def ceiling_app() -> Flask:
    """The ceiling: Flask under the same gunicorn settings, answering 202 and nothing else."""
    app = Flask("ceiling")

    @app.post("/webhook")
    def webhook() -> ResponseReturnValue:
        request.get_data(cache=False)
        return jsonify(status="accepted"), 202

    @app.get("/healthz")
    def healthz() -> ResponseReturnValue:
        return jsonify(status="alive")

    return app


# -- deliveries ----------------------------------------------------------------------------


def http_request(port: int, body: bytes, headers: dict[str, str]) -> bytes:
    """One raw HTTP/1.1 POST /webhook, built before the timed phase."""
    lines = [
        "POST /webhook HTTP/1.1",
        f"Host: {HOST}:{port}",
        "Connection: close",
        f"Content-Length: {len(body)}",
    ]
    lines += [f"{name}: {value}" for name, value in headers.items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


def registered_deliveries(
    sim_url: str, lead_ids: Sequence[str]
) -> list[tuple[bytes, dict[str, str]]]:
    """Have the simulator record each lead's message and sign its delivery (not sent)."""

    def one(client: httpx.Client, lead_id: str) -> tuple[bytes, dict[str, str]]:
        answer = client.post(
            f"{sim_url}/_sim/say",
            json={"lead": lead_id, "text": TEXT, "name": f"Lead {lead_id}", "deliver": False},
        )
        answer.raise_for_status()
        data = answer.json()
        return data["body"].encode("utf-8"), dict(data["headers"])

    with (
        httpx.Client(timeout=10, limits=httpx.Limits(max_connections=8)) as client,
        ThreadPoolExecutor(8) as pool,
    ):
        return list(pool.map(lambda lead_id: one(client, lead_id), lead_ids))


def unregistered_deliveries(lead_ids: Sequence[str]) -> list[tuple[bytes, dict[str, str]]]:
    """Signed deliveries built here (for the fake API and the ceiling app): each lead's
    message has the lead's number as its id, and was written now."""
    deliveries = []
    now = datetime.now().astimezone().isoformat()
    for lead_id in lead_ids:
        message = {
            "id": int(lead_id),
            "lead_id": lead_id,
            "content": TEXT,
            "direction": "inbound",
            "sender_type": "lead",
            "messaging_channel_id": "whatsapp",
            "messaging_channel_connection_id": 123,
            "created_at": now,
        }
        lead = {"id": lead_id, "name": f"Lead {lead_id}"}
        deliveries.append(build_delivery(EVENT_CONVERSATION_CREATED, message, lead, secret=SECRET))
    return deliveries


# -- the open-loop generator ---------------------------------------------------------------


@dataclass
class Sent:
    scheduled: float  # perf_counter
    started: float = 0.0  # perf_counter when it began to connect
    started_wall: float = 0.0  # time.time() at the same moment, to compare with the simulator
    acked: float = 0.0
    status: int = 0


async def _send(port: int, raw: bytes, record: Sent) -> None:
    record.started, record.started_wall = time.perf_counter(), time.time()
    writer = None
    try:
        reader, writer = await asyncio.open_connection(HOST, port)
        writer.write(raw)
        head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), timeout=30)
        record.status = int(head[9:12])
        length = 0
        for line in head.split(b"\r\n"):
            if line.lower().startswith(b"content-length:"):
                length = int(line.split(b":", 1)[1])
        await asyncio.wait_for(reader.readexactly(length), timeout=30)
        record.acked = time.perf_counter()
    except (TimeoutError, OSError, asyncio.IncompleteReadError, ValueError):
        record.status = -1
    finally:
        if writer is not None:
            writer.close()
            with contextlib.suppress(OSError):
                await writer.wait_closed()


async def _open_loop(port: int, requests: Sequence[bytes], rate: float) -> list[Sent]:
    start = time.perf_counter() + 0.05
    records = [Sent(scheduled=start + i / rate) for i in range(len(requests))]
    tasks = []
    for raw, record in zip(requests, records, strict=True):
        delay = record.scheduled - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        tasks.append(asyncio.create_task(_send(port, raw, record)))
    await asyncio.gather(*tasks)
    return records


def open_loop(port: int, requests: Sequence[bytes], rate: float) -> tuple[list[Sent], float]:
    """Send ``requests`` at ``rate`` per second on fixed instants; returns the records and
    the generator's own CPU seconds."""
    cpu = time.process_time()
    records = asyncio.run(_open_loop(port, requests, rate))
    return records, time.process_time() - cpu


# -- measuring -----------------------------------------------------------------------------


def percentile(values: Sequence[float], fraction: float) -> float:
    """Nearest-rank percentile; NaN for no values."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    rank = max(1, min(len(ordered), round(fraction * len(ordered) + 0.5)))
    return ordered[rank - 1]


class Api:
    """What the bench reads from the API the service replies to: how many reply attempts
    arrived, and each accepted reply's lead and time."""

    def __init__(self, client: httpx.Client, url: str, *, fake: bool) -> None:
        self.client, self.url, self.fake = client, url, fake

    def attempts(self) -> int:
        if self.fake:
            return int(self.client.get(f"{self.url}/_fake/count").text)
        # POST /_sim/faults with nothing to change is the simulator's cheap counters read.
        count: int = self.client.post(f"{self.url}/_sim/faults", json={}).json()["reply_attempts"]
        return count

    def replies(self) -> list[tuple[str, float]]:
        """(lead id, Unix time) of each reply accepted (since the last call, for the fake)."""
        if self.fake:
            found = self.client.get(f"{self.url}/_fake/replies", timeout=60).json()
            return [(str(lead), float(at)) for lead, at, _ in found]
        state = self.client.get(f"{self.url}/_sim/state", timeout=60).json()
        return [
            (
                str(reply["lead_id"]),
                datetime.fromisoformat(reply["created_at"].replace("Z", "+00:00")).timestamp(),
            )
            for reply in state["replies"]
        ]

    def wait_for_replies(self, expected: int, timeout: float) -> None:
        """Until ``expected`` reply attempts arrived and have had time to finish, or
        ``timeout``."""
        give_up = time.monotonic() + timeout
        last, since = -1, time.monotonic()
        while time.monotonic() < give_up:
            seen = self.attempts()
            if seen >= expected:
                time.sleep(0.5)  # the last attempts are still waiting out the latency
                return
            if seen != last:
                last, since = seen, time.monotonic()
            elif time.monotonic() - since > 10:
                return  # nothing new for 10 s: the rest is not coming
            time.sleep(0.25)


@dataclass
class Result:
    target: str
    rate: int
    records: list[Sent]
    generator_cpu: float
    server_cpu: float
    server_system: float
    server_switches: int
    server_cpu_per_process: list[float]
    wall: float
    sim_cpu: float = 0.0
    reply_ms: list[float] = field(default_factory=list)
    replied: int = 0
    duplicates: int = 0
    after_window: int = 0
    round: int | None = None  # the round of an alternate run, None otherwise

    @property
    def label(self) -> str:
        return self.target if self.round is None else f"{self.target} #{self.round}"

    @property
    def sent(self) -> int:
        return len(self.records)

    @property
    def ack_ms(self) -> list[float]:
        return [(r.acked - r.started) * 1000 for r in self.records if r.status > 0]

    @property
    def not_accepted(self) -> int:
        return sum(r.status != 202 for r in self.records)

    @property
    def late_ms(self) -> list[float]:
        return [(r.started - r.scheduled) * 1000 for r in self.records]

    @property
    def achieved_rate(self) -> float:
        span = self.records[-1].started - self.records[0].started
        return (len(self.records) - 1) / span if span > 0 else float("nan")

    @property
    def total_cpu(self) -> float:
        return self.server_cpu + self.sim_cpu + self.generator_cpu

    def per_delivery_ms(self, seconds: float) -> float:
        return seconds / self.sent * 1000


def run_phase(
    target: str,
    server: Process,
    port: int,
    rate: int,
    deliveries: Sequence[tuple[bytes, dict[str, str]]],
    lead_ids: Sequence[str],
    api: Api | None,
    api_process: Process | None,
    profile: Callable[[], None] | None = None,
) -> Result:
    """One rate against ``server``; ``api`` (None: the ceiling, which sends nothing) is
    where the replies go. ``profile`` is started as the phase starts, in a thread."""
    requests = [http_request(port, body, headers) for body, headers in deliveries]
    written = time.time()  # the messages were written just before (their created_at)
    pids = server.pids()
    if api is not None:
        api.replies()  # forget earlier phases' replies (the fake API hands each out once)
    attempts_before = api.attempts() if api is not None else 0
    server_before = cpu_seconds(pids)
    kernel_before = kernel_share(pids)
    api_before = cpu_seconds([api_process.pid]) if api_process is not None else {}
    profiler = threading.Thread(target=profile, daemon=True) if profile else None
    wall = time.perf_counter()
    if profiler is not None:
        profiler.start()
    records, generator_cpu = open_loop(port, requests, rate)
    if api is not None:
        api.wait_for_replies(attempts_before + len(requests), timeout=30)
    wall = time.perf_counter() - wall
    server_after = cpu_seconds(pids)
    kernel_after = kernel_share(pids)
    api_after = cpu_seconds([api_process.pid]) if api_process is not None else {}
    if profiler is not None:
        profiler.join()
    per_process = [server_after[p] - server_before[p] for p in pids if p in server_after]
    result = Result(
        target=target,
        rate=rate,
        records=records,
        generator_cpu=generator_cpu,
        server_cpu=sum(per_process),
        server_cpu_per_process=per_process,
        server_system=kernel_after[0] - kernel_before[0],
        server_switches=kernel_after[1] - kernel_before[1],
        wall=wall,
    )
    if api is not None:
        result.sim_cpu = sum(api_after.values()) - sum(api_before.values())
        first: dict[str, float] = {}
        sends = Counter[str]()
        for lead_id, at in api.replies():
            sends[lead_id] += 1
            first.setdefault(lead_id, at)
            result.after_window += at > written + WINDOW_S
        wanted = set(lead_ids)
        result.duplicates = sum(n - 1 for lead, n in sends.items() if lead in wanted)
        for lead_id, record in zip(lead_ids, records, strict=True):
            if lead_id in first:
                result.replied += 1
                result.reply_ms.append((first[lead_id] - record.started_wall) * 1000)
    return result


# -- report --------------------------------------------------------------------------------


def show(results: Sequence[Result], cores: int) -> None:
    def f(value: float, digits: int = 1) -> str:
        return f"{value:.{digits}f}"

    columns: list[tuple[str, Callable[[Result], str]]] = [
        ("target", lambda r: r.label),
        ("rate/s", lambda r: str(r.rate)),
        ("sent", lambda r: str(r.sent)),
        ("sent/s", lambda r: f(r.achieved_rate)),
        ("late p99 ms", lambda r: f(percentile(r.late_ms, 0.99), 2)),
        ("late max ms", lambda r: f(max(r.late_ms), 2)),
        ("ack p50 ms", lambda r: f(percentile(r.ack_ms, 0.50), 2)),
        ("ack p99 ms", lambda r: f(percentile(r.ack_ms, 0.99), 2)),
        ("not 202", lambda r: str(r.not_accepted)),
        ("replies", lambda r: f"{r.replied}/{r.sent}" if r.target == SERVICE else "-"),
        ("reply p50 ms", lambda r: f(percentile(r.reply_ms, 0.50)) if r.reply_ms else "-"),
        ("reply p99 ms", lambda r: f(percentile(r.reply_ms, 0.99)) if r.reply_ms else "-"),
        ("server cpu ms/d", lambda r: f(r.per_delivery_ms(r.server_cpu), 2)),
        ("of it sys", lambda r: f(r.per_delivery_ms(r.server_system), 2)),
        ("switches/d", lambda r: f(r.server_switches / r.sent, 1)),
        ("dup", lambda r: str(r.duplicates) if r.target == SERVICE else "-"),
        ("after window", lambda r: str(r.after_window) if r.target == SERVICE else "-"),
        ("api cpu ms/d", lambda r: f(r.per_delivery_ms(r.sim_cpu), 2) if r.sim_cpu else "-"),
        ("gen cpu ms/d", lambda r: f(r.per_delivery_ms(r.generator_cpu), 2)),
        ("cores busy", lambda r: f"{r.total_cpu / r.wall:.2f}/{cores}"),
    ]
    rows = [[name for name, _ in columns]] + [[cell(r) for _, cell in columns] for r in results]
    widths = [max(len(row[i]) for row in rows) for i in range(len(columns))]
    for row in rows:
        print("  ".join(cell.rjust(width) for cell, width in zip(row, widths, strict=True)))
    print()
    for r in results:
        split = ", ".join(f"{c:.2f}" for c in r.server_cpu_per_process)
        refused = Counter(rec.status for rec in r.records if rec.status != 202)
        if refused:
            statuses = ", ".join(
                f"{count} x {'no answer' if status < 0 else status}"
                for status, count in sorted(refused.items())
            )
            print(f"{r.label} at {r.rate}/s: not accepted: {statuses}")
        print(
            f"{r.label} at {r.rate}/s: CPU seconds per gunicorn process (master first): "
            f"{split}; phase lasted {r.wall:.1f} s"
        )


def _server_ms(result: Result) -> float:
    """The server's CPU milliseconds per delivery of the phase."""
    return result.per_delivery_ms(result.server_cpu)


def cpu_ratios(results: Sequence[Result]) -> list[tuple[int, int | None, float, float]]:
    """(rate, round, service CPU ms per delivery, bare app's) for each rate both were run at,
    and with ``--ceiling alternate`` for each round (None without rounds), in the order run."""
    bare = {(r.rate, r.round): r for r in results if r.target == CEILING}
    return [
        (r.rate, r.round, _server_ms(r), _server_ms(bare[r.rate, r.round]))
        for r in results
        if r.target == SERVICE and (r.rate, r.round) in bare
    ]


def console_rounds(results: Sequence[Result]) -> dict[int, list[tuple[int, float, float]]]:
    """Per rate, (round, server CPU ms per delivery with the console on, with it off) of each
    round of ``--console alternate`` in which both were run; {} without rounds."""
    by_round: dict[tuple[int, int], dict[str, Result]] = {}
    for r in results:
        if r.round is not None:
            by_round.setdefault((r.rate, r.round), {})[r.target] = r
    rounds: dict[int, list[tuple[int, float, float]]] = {}
    for (rate, number), pair in sorted(by_round.items()):
        if SERVICE in pair and CONSOLE_OFF in pair:
            on, off = _server_ms(pair[SERVICE]), _server_ms(pair[CONSOLE_OFF])
            rounds.setdefault(rate, []).append((number, on, off))
    return rounds


def _first(round_: int) -> str:
    """Which target an alternate round measured first: the order swaps every round."""
    return "service" if round_ % 2 else "bare app"


def _median_of(ratios: Sequence[float]) -> tuple[float, str]:
    """The median of the rounds' ratios, and how to say it with their range."""
    median = statistics.median(ratios)
    summary = (
        f"median {median:.2f}x, range {min(ratios):.2f}x to {max(ratios):.2f}x "
        f"over {len(ratios)} rounds"
    )
    return median, summary


def _ratio(on_ms: float, off_ms: float) -> float:
    return on_ms / off_ms if off_ms else float("inf")


def console_verdict(rate: int, rounds: Sequence[tuple[int, float, float]]) -> tuple[str, bool, str]:
    """The check of the console's cost at ``rate``: the median on/off ratio of the rounds."""
    median, summary = _median_of([_ratio(on, off) for _, on, off in rounds])
    return (
        f"console on costs <= {TARGET_CONSOLE_RATIO:.2f}x console off at {rate}/s "
        "(median of the rounds)",
        median <= TARGET_CONSOLE_RATIO,
        summary,
    )


def show_console_rounds(results: Sequence[Result]) -> None:
    """Each round's server CPU per delivery with the console on and off, and their ratio."""
    for rate, rounds in console_rounds(results).items():
        for number, on, off in rounds:
            first = "on" if number % 2 else "off"
            print(
                f"console at {rate}/s, round {number} ({first} first): server CPU per delivery "
                f"on {on:.2f} ms, off {off:.2f} ms, on/off {_ratio(on, off):.2f}x"
            )


def _by_rate(
    ratios: Sequence[tuple[int, int | None, float, float]],
) -> dict[int, list[tuple[float, float]]]:
    grouped: dict[int, list[tuple[float, float]]] = {}
    for rate, _, service_ms, bare_ms in ratios:
        grouped.setdefault(rate, []).append((service_ms, bare_ms))
    return grouped


def cpu_verdict(rate: int, pairs: Sequence[tuple[float, float]]) -> tuple[str, bool, str]:
    """The CPU target at ``rate``: the service's CPU per delivery against the bare app's in
    the same run, or the median ratio of the rounds of ``--ceiling alternate``."""
    label = f"CPU per delivery <= {TARGET_CPU_RATIO:g}x the bare app's at {rate}/s"
    ratios = [_ratio(service_ms, bare_ms) for service_ms, bare_ms in pairs]
    if len(pairs) == 1:
        (service_ms, bare_ms), ratio = pairs[0], ratios[0]
        value = f"{service_ms:.2f} ms vs {bare_ms:.2f} ms: {ratio:.2f}x"
        return label, ratio <= TARGET_CPU_RATIO, value
    median, summary = _median_of(ratios)
    return f"{label} (median of the rounds)", median <= TARGET_CPU_RATIO, summary


def verdicts(results: Sequence[Result]) -> list[tuple[str, bool, str]]:
    checks = []
    checks += [console_verdict(rate, rounds) for rate, rounds in console_rounds(results).items()]
    checks += [cpu_verdict(rate, pairs) for rate, pairs in _by_rate(cpu_ratios(results)).items()]
    for r in results:
        late = percentile(r.late_ms, 0.99)
        checks.append(
            (
                f"generator on time at {r.rate}/s ({r.label}): "
                f"lateness p99 <= {GENERATOR_LATE_P99_MS:.0f} ms",
                late <= GENERATOR_LATE_P99_MS,
                f"{late:.2f} ms, {r.achieved_rate:.1f}/s achieved",
            )
        )
        if r.target != SERVICE:
            continue
        ack = percentile(r.ack_ms, 0.99)
        at = f"at {r.rate}/s" if r.round is None else f"at {r.rate}/s (#{r.round})"
        reply = percentile(r.reply_ms, 0.99) if r.reply_ms else float("inf")
        checks += [
            (
                f"every delivery accepted {at}",
                r.not_accepted == 0,
                f"{r.not_accepted} not 202",
            ),
            (
                f"ack p99 <= {TARGET_ACK_P99_MS:.0f} ms {at}",
                ack <= TARGET_ACK_P99_MS,
                f"{ack:.2f} ms",
            ),
            (f"every reply sent {at}", r.replied == r.sent, f"{r.replied}/{r.sent}"),
            (f"no reply sent twice {at}", r.duplicates == 0, f"{r.duplicates} twice"),
            (
                f"no reply after the window {at}",
                r.after_window == 0,
                f"{r.after_window} after",
            ),
            (
                f"delivery-to-reply p99 <= {TARGET_REPLY_P99_MS:.0f} ms {at}",
                reply <= TARGET_REPLY_P99_MS,
                f"{reply:.1f} ms",
            ),
        ]
    return checks


def machine() -> str:
    model = "unknown CPU"
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    return f"{os.cpu_count()} cores ({len(os.sched_getaffinity(0))} usable), {model}"


def load_average() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


@contextlib.contextmanager
def stopping(processes: list[Process]) -> Iterator[None]:
    """Stop every started process on the way out, Ctrl-C included."""
    previous = signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    try:
        yield
    finally:
        for process in reversed(processes):
            process.stop()
        signal.signal(signal.SIGTERM, previous)


def py_spy_profile(pid: int, seconds: float, out: Path) -> Callable[[], None]:
    """A function that samples process ``pid`` with py-spy for ``seconds`` into ``out``
    (collapsed stacks, only the thread holding the GIL)."""
    py_spy = Path(sys.executable).with_name("py-spy")

    def run() -> None:
        subprocess.run(
            [
                *(str(py_spy), "record", "--pid", str(pid), "--duration", f"{seconds:g}"),
                *("--rate", "200", "--gil", "--nonblocking", "--format", "raw"),
                *("--output", str(out)),
            ],
            check=False,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )

    return run


def _short(frame: str) -> str:
    """``f (/long/path/to/module.py:12)`` -> ``f (module.py:12)``."""
    name, _, where = frame.partition(" (")
    return f"{name} ({where.rsplit('/', 1)[-1]}" if where else name


# The frames worth naming in the "total" list: this project's and the libraries a delivery
# goes through (not the thread and event-loop frames every sample starts with).
_OWN_CODE = ("(responder/", "/responder/", "/httpx/", "/httpcore/", "/flask/", "/werkzeug/")


def _own(frame: str) -> bool:
    return any(part in frame for part in _OWN_CODE)


def profile_top(raw: Path, count: int = 15) -> str:
    """The ``count`` functions with the most samples in a py-spy raw profile: own samples
    (the function itself was running) and total (it or its callees, for the project's and
    its web and HTTP libraries' functions)."""
    own: Counter[str] = Counter()
    total: Counter[str] = Counter()
    samples = 0
    for line in raw.read_text().splitlines():
        stack, _, number = line.rpartition(" ")
        if not stack or not number.isdigit():
            continue
        n = int(number)
        samples += n
        frames = stack.split(";")
        own[_short(frames[-1])] += n
        named = {_short(f).rsplit(":", 1)[0] + ")" for f in frames if _own(f)}
        for frame in named:
            total[frame] += n
    if not samples:
        return "no samples (is py-spy allowed to read the worker's memory?)"
    lines = [f"{samples} samples with the GIL held", "", "own %  function"]
    lines += [f"{n / samples * 100:5.1f}  {name}" for name, n in own.most_common(count)]
    lines += ["", "total %  function (with callees)"]
    lines += [f"{n / samples * 100:7.1f}  {name}" for name, n in total.most_common(count + 10)]
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--rates", default="100,200,400", help="deliveries per second, comma-separated"
    )
    parser.add_argument("--duration", type=float, default=12.0, help="seconds per rate")
    parser.add_argument("--latency", type=float, default=0.2, help="the API's latency, s")
    parser.add_argument("--no-ceiling", action="store_true", help="skip the bare Flask app")
    parser.add_argument(
        "--ceiling",
        choices=("after", "alternate"),
        default="after",
        help="measure the bare Flask app after the service (the default), or beside it in "
        "alternate rounds (see --rounds), the CPU target checked on the median ratio",
    )
    parser.add_argument(
        "--api",
        choices=("fake", "simulator"),
        default="fake",
        help="reply to the keep-alive fake API (default) or to the project's simulator",
    )
    parser.add_argument("--store", choices=("sqlite", "redis"), default="sqlite")
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6379/0")
    parser.add_argument(
        "--profile",
        type=float,
        metavar="SECONDS",
        help="sample one service worker with py-spy this long during the first rate",
    )
    parser.add_argument(
        "--profile-raw", type=Path, help="keep py-spy's collapsed stacks in this file"
    )
    parser.add_argument(
        "--worker",
        choices=("responder", "gthread"),
        default="responder",
        help="serve both apps with the service's worker (production) or gunicorn's thread worker",
    )
    parser.add_argument(
        "--console",
        choices=("on", "off", "both", "alternate"),
        default="on",
        help="serve with the console on (the default), off, both one after the other, or "
        "both side by side measured in alternate rounds (see --rounds), to show the console "
        "adds nothing to a delivery's work",
    )
    parser.add_argument(
        "--rounds",
        type=int,
        default=3,
        help="with --console alternate or --ceiling alternate: rounds of both at each rate, the "
        "order swapped every round (default 3)",
    )
    args = parser.parse_args(argv)
    variants = {
        "on": [(SERVICE, "true")],
        "off": [(SERVICE, "false")],
        "both": [(SERVICE, "true"), (CONSOLE_OFF, "false")],
        "alternate": [(SERVICE, "true"), (CONSOLE_OFF, "false")],
    }[args.console]
    try:
        rates = [int(r) for r in args.rates.split(",") if r.strip()]
    except ValueError:
        parser.error("--rates takes whole numbers separated by commas, like 100,200,400")
    if not rates or min(rates) <= 0 or not 1 <= args.duration <= 60:
        parser.error("give positive rates and a duration between 1 and 60 seconds")
    if not 1 <= args.rounds <= 20:
        parser.error("--rounds takes a whole number from 1 to 20")
    alternate_ceiling = args.ceiling == "alternate"
    if alternate_ceiling and (args.no_ceiling or args.console not in ("on", "off")):
        parser.error("--ceiling alternate needs the bare app and --console on or off")

    extra = GTHREAD if args.worker == "gthread" else ()
    cores = len(os.sched_getaffinity(0))
    print(f"machine: {machine()}; load average before: {load_average()}")
    print(
        f"rates {rates}/s for {args.duration:g} s each; "
        f"API latency {args.latency * 1000:.0f} ms ({args.api}); store {args.store}; "
        f"gunicorn worker {args.worker}, workers={os.environ.get('RESPONDER_WORKERS', '2')} "
        f"threads={os.environ.get('RESPONDER_THREADS', '8')}\n"
    )

    processes: list[Process] = []
    results: list[Result] = []
    prefix = f"bench-{uuid.uuid4().hex}"
    with (
        stopping(processes),
        tempfile.TemporaryDirectory(prefix="responder-bench-") as tmp,
        httpx.Client(timeout=10) as client,
    ):
        api_port = free_port()
        api_url = f"http://{HOST}:{api_port}"
        fake = args.api == "fake"
        if fake:
            api_process = start_fake_api(api_port, args.latency)
        else:
            api_process = start_simulator(api_port, args.latency)
        processes.append(api_process)
        api = Api(client, api_url, fake=fake)

        def deliveries_for(lead_ids: Sequence[str]) -> list[tuple[bytes, dict[str, str]]]:
            if fake:
                return unregistered_deliveries(lead_ids)
            return registered_deliveries(api_url, lead_ids)

        raw_profile = Path(tmp) / "profile.txt"

        def start_service(number: int, target: str, console: str) -> tuple[Process, int]:
            """Serve the service (with its own store) and warm it up (first connections,
            first SQLite pages, lazy imports); the warm-up is not measured."""
            store = str(Path(tmp) / f"responder-{number}.db")
            if args.store == "redis":
                separator = "&" if "?" in args.redis_url else "?"
                store = f"{args.redis_url}{separator}prefix={prefix}-{number}"
            service_port = free_port()
            service = start_gunicorn(
                target,
                "responder.server.web:create_app()",
                service_port,
                {
                    "ABC_API_KEY": API_KEY,
                    "ABC_API_URL": f"{api_url}/v1",
                    "ABC_WEBHOOK_SECRET": SECRET,
                    "RESPONDER_STORE": store,
                    "RESPONDER_CONSOLE": console,
                    "RESPONDER_CONSOLE_SECRET": "bench-console-secret",
                    "RESPONDER_RULES": str(ROOT / "rules"),
                    "RESPONDER_TEMPLATES": str(ROOT / "templates"),
                    "RESPONDER_METRICS_DIR": str(Path(tmp) / f"metrics-{number}"),
                },
                extra,
            )
            processes.append(service)
            warm_ids = [str(900_000 + 10_000 * number + i) for i in range(WARMUP)]
            run_phase(
                "warm-up", service, service_port, 50, deliveries_for(warm_ids), warm_ids, api, None
            )
            return service, service_port

        blocks = itertools.count(1)  # each measured phase's leads are new: a block of ids each

        def measure(
            target: str, service: Process, port: int, rate: int, round_: int | None = None
        ) -> Result:
            """One measured phase at ``rate`` against ``service``, with new leads; the first
            measured phase of the run is profiled when --profile asks."""
            count = int(rate * args.duration)
            first_id = 1_000_000 * next(blocks)
            lead_ids = [str(first_id + i) for i in range(count)]
            label = target if round_ is None else f"{target} #{round_}"
            print(f"{label} at {rate}/s: preparing {count} deliveries ...", flush=True)
            deliveries = deliveries_for(lead_ids)
            time.sleep(1)  # let the API's request threads wind down
            profile = None
            if args.profile and not results:
                worker = service.pids()[1:][:1] or service.pids()
                profile = py_spy_profile(worker[0], args.profile, raw_profile)
            print(f"{label} at {rate}/s: sending ...", flush=True)
            result = run_phase(
                target, service, port, rate, deliveries, lead_ids, api, api_process, profile
            )
            result.round = round_
            return result

        def start_ceiling() -> tuple[Process, int]:
            """Serve the bare app and warm it up as the service is."""
            port = free_port()
            ceiling = start_gunicorn("ceiling", "bench.service:ceiling_app()", port, {}, extra)
            processes.append(ceiling)
            warm_ids = [str(8_000_000 + i) for i in range(WARMUP)]
            warm = unregistered_deliveries(warm_ids)
            run_phase("warm-up", ceiling, port, 50, warm, warm_ids, None, None)
            return ceiling, port

        def measure_ceiling(
            ceiling: Process, port: int, rate: int, round_: int | None = None
        ) -> Result:
            lead_ids = [str(9_000_000 + i) for i in range(int(rate * args.duration))]
            deliveries = unregistered_deliveries(lead_ids)
            result = run_phase(CEILING, ceiling, port, rate, deliveries, lead_ids, None, None)
            result.round = round_
            return result

        if alternate_ceiling:
            # Both served at once, so that the rounds follow each other within seconds.
            target, console = variants[0]
            service, port = start_service(0, target, console)
            ceiling, ceiling_port = start_ceiling()
            for rate in rates:
                for round_ in range(1, args.rounds + 1):
                    for first in (True, False) if round_ % 2 else (False, True):
                        if first:
                            results.append(measure(target, service, port, rate, round_))
                        else:
                            print(f"bare Flask #{round_} at {rate}/s: sending ...", flush=True)
                            results.append(measure_ceiling(ceiling, ceiling_port, rate, round_))
            service.stop()
            ceiling.stop()
        elif args.console == "alternate":
            # Both served at once, so that rounds follow each other within seconds.
            served = [(t, *start_service(n, t, c)) for n, (t, c) in enumerate(variants)]
            for rate in rates:
                for round_ in range(1, args.rounds + 1):
                    for target, service, port in served if round_ % 2 else served[::-1]:
                        results.append(measure(target, service, port, rate, round_))
            for _, service, _ in served:
                service.stop()
        else:
            for number, (target, console) in enumerate(variants):
                service, port = start_service(number, target, console)
                for rate in rates:
                    results.append(measure(target, service, port, rate))
                service.stop()
        if args.store == "redis":
            cleanup = redis.Redis.from_url(args.redis_url)
            keys = list(cleanup.scan_iter(match=f"{prefix}-*", count=1000))
            for start in range(0, len(keys), 1000):
                cleanup.delete(*keys[start : start + 1000])
            cleanup.close()

        if not args.no_ceiling and not alternate_ceiling:
            ceiling, ceiling_port = start_ceiling()
            for rate in rates:
                print(f"bare Flask at {rate}/s: sending ...", flush=True)
                results.append(measure_ceiling(ceiling, ceiling_port, rate))
            ceiling.stop()
        print(
            f"\nload average after: {load_average()} "
            "(other work on the machine skews all figures)\n"
        )
        show(results, cores)
        print()
        for rate, nth, service_ms, bare_ms in cpu_ratios(results):
            which = "" if nth is None else f", round {nth} ({_first(nth)} first)"
            print(
                f"CPU per delivery at {rate}/s{which}: service {service_ms:.2f} ms, "
                f"bare Flask {bare_ms:.2f} ms, ratio {_ratio(service_ms, bare_ms):.2f}x"
            )
        show_console_rounds(results)
        if args.profile:
            print("\nprofile of one service worker at", rates[0], "/s:")
            print(profile_top(raw_profile) if raw_profile.exists() else "py-spy wrote nothing")
            if args.profile_raw and raw_profile.exists():
                shutil.copyfile(raw_profile, args.profile_raw)
        checks = verdicts(results)
        print()
        for label, ok, value in checks:
            print(f"{'PASS' if ok else 'FAIL'}  {label}: {value}")
        if TARGET_RATE not in rates:
            print(f"(the targets are set for {TARGET_RATE}/s, which was not run)")
        return 0 if all(ok for _, ok, _ in checks) else 1


if __name__ == "__main__":
    try:
        sys.exit(main())
    except KeyboardInterrupt:
        print("interrupted; everything started has been stopped", file=sys.stderr)
        sys.exit(130)
