"""The ``responder`` commands that read the decision log: log and unanswered.

Times are shown in the business's time zone (the rules folder's ``timezone``), named. What
a lead wrote is printed as text with its control characters escaped, never interpreted.
"""

from __future__ import annotations

import argparse
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from responder.activity import search
from responder.engine.durations import parse_duration
from responder.engine.loader import read_settings
from responder.model import Outcome, utcnow
from responder.server.logs import escape_controls
from responder.store import open_store

if TYPE_CHECKING:
    from responder.cli import Commands

STORE_HELP = "the store (default: $RESPONDER_STORE or var/responder.db)"
RULES_HELP = (
    "folder of rule files whose timezone the times are shown in "
    "(default: $RESPONDER_RULES or ./rules)"
)


def add_activity_commands(commands: Commands) -> None:
    """Add ``log`` and ``unanswered`` to the ``responder`` parser."""
    log = commands.add_parser("log", help="print recent decisions, newest first")
    log.add_argument("--lead", help="only this lead")
    log.add_argument("--outcome", choices=[o.value for o in Outcome], help="only this outcome")
    log.add_argument("--rule", help="only this rule")
    log.add_argument(
        "--text", help="only messages containing this (case, accents and punctuation aside)"
    )
    _since(log)
    log.add_argument("--limit", type=int, default=20)
    log.add_argument("--store", help=STORE_HELP)
    log.add_argument("--rules", type=Path, help=RULES_HELP)
    log.set_defaults(command=_log)

    unanswered = commands.add_parser(
        "unanswered",
        help="the most frequent messages no rule matched (or only a fallback): "
        "the keywords your rules miss",
    )
    _since(unanswered, default="7d")
    unanswered.add_argument("--limit", type=int, default=20)
    unanswered.add_argument("--store", help=STORE_HELP)
    unanswered.add_argument("--rules", type=Path, help=RULES_HELP)
    unanswered.set_defaults(command=_unanswered)


def _since(command: argparse.ArgumentParser, default: str | None = None) -> None:
    shown = f" (default {default})" if default else ""
    command.add_argument(
        "--since",
        default=default,
        metavar="DURATION",
        help=f"only the last DURATION, e.g. 2h or 7d{shown}",
    )


def _start(text: str | None) -> datetime | None:
    if text is None:
        return None
    try:
        return utcnow() - parse_duration(text)
    except (ValueError, OverflowError) as exc:
        raise SystemExit(f"responder: --since: {exc}") from None


def _missing(store: str) -> bool:
    if ":" not in store and not Path(store).exists():  # a plain SQLite path
        print(f"no decisions recorded yet (there is no store at {store})")
        return True
    return False


def _log(args: argparse.Namespace) -> int:
    since = _start(args.since)
    if _missing(args.store):
        return 0
    store = open_store(args.store)
    try:
        outcome = Outcome(args.outcome) if args.outcome else None
        page = search(
            store,
            lead_id=args.lead,
            outcome=outcome,
            rule=args.rule,
            text=args.text,
            since=since,
            limit=args.limit,
        )
    finally:
        store.close()
    if not page.records:
        filtered = args.lead or args.outcome or args.rule or args.text or args.since
        print("no decisions match" if filtered else "no decisions recorded yet")
        return 0
    zone = read_settings(args.rules).timezone
    print(f"times in {zone.key if zone else 'UTC'}")
    for record in page.records:
        local = record.at.astimezone(zone or UTC)
        when, what, rule = f"{local:%Y-%m-%d %H:%M:%S}", record.outcome.value, record.rule
        release = f"  [release {record.release}]" if record.release is not None else ""
        language = f"  [language {record.language}]" if record.language else ""
        print(
            escape_controls(
                f"{when}  lead {record.lead_id:<10} {what:<19} {rule or '-':<16} {record.reason}"
                f"{release}{language}"
            )
        )
        if record.text:
            print(f"{'':21}said:  {record.text[:200]!r}")
        if record.reply:
            print(f"{'':21}reply: {record.reply[:200]!r}")
    return 0


def _unanswered(args: argparse.Namespace) -> int:
    since = _start(args.since)
    if _missing(args.store):
        return 0
    store = open_store(args.store)
    try:
        groups = store.unanswered(since=since, limit=args.limit)
    finally:
        store.close()
    period = f" in the last {args.since}" if args.since else ""
    if not groups:
        print(f"every message{period} matched a rule")
        return 0
    zone = read_settings(args.rules).timezone
    print(
        f"messages no rule matched{period}, most frequent first; times in "
        f"{zone.key if zone else 'UTC'}"
    )
    for group in groups:
        local = group.last_seen.astimezone(zone or UTC)
        print(
            escape_controls(
                f"{group.count:>5}x  last {local:%Y-%m-%d %H:%M}  lead {group.lead_id:<10} "
                f"{group.text[:200]!r}"
            )
        )
    return 0
