"""``python -m responder.simulator``: the simulator in the foreground, configured by flags."""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Sequence

from responder.lifeline import end_with_serve
from responder.simulator.server import Simulator


def main(argv: Sequence[str] | None = None) -> int:
    """Serve the simulator in the foreground until interrupted; 1 if it cannot listen."""
    args = _parser().parse_args(argv)
    end_with_serve()  # when responder serve started it
    sim = Simulator(
        api_key=args.api_key,
        webhook_url=args.webhook,
        webhook_secret=args.secret,
        latency=args.latency,
        host=args.host,
        port=args.port,
        quiet=not args.verbose,
        log_command=args.log_command,
    )
    try:
        sim.start()
    except OSError as exc:
        print(
            f"The simulator cannot listen on {args.host}:{args.port}: {exc.strerror}.",
            file=sys.stderr,
        )
        return 1
    print(f"ABC API simulator listening on {sim.base_url}", flush=True)
    if args.webhook:
        print(f"Webhook deliveries go to {args.webhook}", flush=True)
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        pass
    finally:
        sim.stop()
    return 0


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m responder.simulator", description="A local ABC Sales AI API simulator."
    )
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8081)
    parser.add_argument("--webhook", default=None, help="where to POST webhook deliveries")
    parser.add_argument("--secret", default="sim-secret", help="webhook signing secret")
    parser.add_argument("--api-key", default="sim-key", help="the API key clients must send")
    parser.add_argument("--latency", type=float, default=0.0, help="seconds added to each call")
    parser.add_argument(
        "--log-command",
        default="responder log",
        help="the command that shows the service's decisions, named to 'responder send'",
    )
    parser.add_argument("--verbose", action="store_true", help="log every request")
    return parser
