"""What answering a burst once costs the sending side: ``settings: gather`` on and off.

Run ``python bench/gather.py`` (a few seconds; ``--leads 500`` for more). In one run, on a
real SQLite store in a temporary folder, with an in-memory ABC API that answers at once and
a clock that only moves when told: ``--leads`` leads each write three messages one second
apart, every message is received (signed, verified, claimed) and its job handled, and the
leaders set aside come back when their burst has gone quiet. It prints, side by side:

* off: the same rule book without ``gather`` (today's path, one reply per message), the
  reference;
* on: ``gather: 4s`` (one reply per lead; each message also joins or opens a burst, the
  leader closes it and every member is recorded in one step).

For each: wall time per message (receive and handle, all store work included), the replies
sent, and the ratio of on to off.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # run as a script from anywhere
    sys.path.insert(0, str(ROOT))

from responder.config import Config  # noqa: E402
from responder.engine.loader import load_rulebook  # noqa: E402
from responder.engine.rulebook import RuleBook  # noqa: E402
from responder.model import Connection, Job, Message  # noqa: E402
from responder.pipeline import Responder  # noqa: E402
from responder.platform.deliveries import EVENT_CONVERSATION_CREATED, build_delivery  # noqa: E402
from responder.store.sqlite import SQLiteStore  # noqa: E402

SECRET = "bench-secret"
NOW = datetime(2026, 3, 4, 3, 0, tzinfo=UTC)
RULES = """
settings:
  cooldown: 0s
{gather}
rules:
  - name: deliver-shah-alam
    all: [deliver, shah alam]
    text: "Yes, we deliver to Shah Alam."
  - name: deliver
    keywords: [deliver]
    text: "We deliver around KL."
  - name: hello
    fallback: true
    text: "Hello! How can we help?"
"""
BURST = ("hi", "do you deliver", "to Shah Alam?")


class Api:
    """The ABC API answering at once: one connected channel, replies counted."""

    def __init__(self) -> None:
        self.replies = 0

    def connections(self, *, deadline: float) -> list[Connection]:
        return [Connection(123, "Main", "whatsapp", default=True, connected=True)]

    def conversation(self, lead_id: str, *, deadline: float) -> list[Message]:
        return []

    def reply(
        self,
        lead_id: str,
        content: str,
        connection_id: int,
        *,
        attachment: str = "",
        deadline: float,
    ) -> None:
        self.replies += 1


def book(folder: Path, gather: str) -> RuleBook:
    rules, templates = folder / "rules", folder / "templates"
    rules.mkdir(parents=True)
    templates.mkdir()
    (rules / "rules.yaml").write_text(RULES.format(gather=gather), encoding="utf-8")
    return load_rulebook(rules, templates)


def run(folder: Path, rules: RuleBook, leads: int) -> tuple[float, int, int]:
    """Seconds of work, messages, replies."""
    now = [NOW]
    jobs: list[Job] = []
    waiting: list[tuple[Job, datetime]] = []
    api = Api()
    store = SQLiteStore(folder / "state.db")
    responder = Responder(
        config=Config(api_key="k", webhook_secrets=(SECRET,)),
        book=rules,
        store=store,
        api=api,
        owner="bench",
        dispatch=jobs.append,
        clock=lambda: now[0],
        monotonic=time.monotonic,
        later=lambda job, at: waiting.append((job, at)),
    )
    ids = iter(range(1, 10**9))
    work = 0.0

    for second, text in enumerate(BURST):
        now[0] = NOW + timedelta(seconds=second)
        for lead in range(leads):
            data = {
                "id": next(ids),
                "lead_id": str(lead),
                "content": text,
                "direction": "inbound",
                "sender_type": "lead",
                "messaging_channel_connection_id": 123,
                "messaging_channel_id": "whatsapp",
                "created_at": now[0].isoformat(),
            }
            profile = {"id": str(lead), "name": "Aisyah"}
            body, headers = build_delivery(
                EVENT_CONVERSATION_CREATED,
                data,
                profile,
                secret=SECRET,
                timestamp=now[0].timestamp(),
            )
            start = time.perf_counter()
            responder.receive(body, headers)
            responder.handle(jobs.pop())
            work += time.perf_counter() - start
    while waiting:
        waiting.sort(key=lambda pair: pair[1])
        job, at = waiting.pop(0)
        now[0] = max(now[0], at)
        start = time.perf_counter()
        responder.handle(job)
        work += time.perf_counter() - start
    assert store.pending() == 0, "every message has its outcome"
    store.close()
    return work, leads * len(BURST), api.replies


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--leads", type=int, default=300)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-gather-") as tmp:
        results: dict[str, tuple[float, int, int]] = {}
        # Twice each, alternating, and the faster run kept: the first run warms caches.
        for turn in range(2):
            for name, gather in (("off", ""), ("on", "  gather: 4s")):
                folder = Path(tmp) / f"{name}{turn}"
                found = run(folder, book(folder, gather), args.leads)
                if name not in results or found[0] < results[name][0]:
                    results[name] = found
    print(f"{args.leads} leads x {len(BURST)} messages, SQLite store, API answering at once")
    print(f"{'gather':<8}{'ms/message':>12}{'replies':>10}")
    for name, (work, messages, replies) in results.items():
        print(f"{name:<8}{work / messages * 1000:>12.3f}{replies:>10}")
    off, on = results["off"][0], results["on"][0]
    print(f"on/off: {on / off:.2f}x the work per message")
    return 0


if __name__ == "__main__":
    sys.exit(main())
