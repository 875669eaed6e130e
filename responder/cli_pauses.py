"""The ``responder`` commands that pause the bot: pause, resume and pauses.

They use the store the service uses (``--store``, default ``$RESPONDER_STORE``): every
instance on that store honours a pause from the next message it handles. Times are shown in
the business's time zone (the rules folder's ``timezone``), named.
"""

from __future__ import annotations

import argparse
import getpass
import sys
from pathlib import Path
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from responder.engine.durations import parse_duration
from responder.engine.hours import show_moment
from responder.engine.loader import read_settings
from responder.errors import ResponderError
from responder.model import EVERYONE, Pause, utcnow
from responder.ports import Store
from responder.server.logs import escape_controls
from responder.store import open_store

if TYPE_CHECKING:
    from responder.cli import Commands

STORE_HELP = "the service's store (default: $RESPONDER_STORE or var/responder.db)"
RULES_HELP = (
    "folder of rule files whose timezone times are shown in (default: $RESPONDER_RULES or ./rules)"
)


class NoStore(ResponderError):
    """The store named is not there: a pause written elsewhere would silence nothing."""


def add_pause_commands(commands: Commands) -> None:
    """Add ``pause``, ``resume`` and ``pauses`` to the ``responder`` parser."""
    pause = commands.add_parser(
        "pause",
        help="stop the bot answering a lead, or everyone (--all), until resumed or --for a while",
    )
    _whom(pause)
    pause.add_argument(
        "--for", dest="duration", metavar="DURATION", help="how long, e.g. 30m, 2h or 3d"
    )
    pause.add_argument("--note", default="", help="why, for the others of the team")
    pause.add_argument("--by", metavar="NAME", help="who is pausing (default: your user name)")
    pause.set_defaults(command=_pause)

    resume = commands.add_parser("resume", help="let the bot answer a lead, or everyone, again")
    _whom(resume)
    resume.add_argument("--by", metavar="NAME", help="who is resuming (default: your user name)")
    resume.set_defaults(command=_resume)

    pauses = commands.add_parser("pauses", help="list who paused the bot, for whom and until when")
    _where(pauses)
    pauses.add_argument(
        "--history", action="store_true", help="every pausing and resuming, newest first"
    )
    pauses.add_argument("--limit", type=int, default=50, help="with --history: how many")
    pauses.set_defaults(command=_pauses)


def _whom(command: argparse.ArgumentParser) -> None:
    command.add_argument("lead", nargs="?", help="the lead's id, as the platform shows it")
    command.add_argument("--all", action="store_true", help="every lead")
    _where(command)


def _where(command: argparse.ArgumentParser) -> None:
    command.add_argument("--store", help=STORE_HELP)
    command.add_argument("--rules", type=Path, help=RULES_HELP)


def _pause(args: argparse.Namespace) -> int:
    lead = _lead(args)
    if lead is None:
        return 2
    now = utcnow()
    until = None
    if args.duration is not None:
        try:
            length = parse_duration(args.duration)
        except ValueError as exc:
            print(f"responder pause: --for: {exc}", file=sys.stderr)
            return 2
        if length.total_seconds() <= 0:
            print(
                "responder pause: --for needs a length longer than zero, like 30m or 2h",
                file=sys.stderr,
            )
            return 2
        until = now + length
    pause = Pause(lead, by=args.by or _user(), at=now, until=until, note=args.note)
    with _opened(args.store) as store:
        store.put_pause(pause)
    zone = _zone(args.rules)
    whom = "everyone" if pause.everyone else f"lead {lead}"
    when = f"until {show_moment(until, zone)}" if until else "until someone resumes it"
    print(escape_controls(f"The bot is paused for {whom} {when}, by {pause.by}."))
    print("Every instance stops answering from the next message; it is logged as 'paused'.")
    return 0


def _resume(args: argparse.Namespace) -> int:
    lead = _lead(args)
    if lead is None:
        return 2
    now = utcnow()
    zone = _zone(args.rules)
    with _opened(args.store) as store:
        automatic = None if lead == EVERYONE else store.lead_state(lead).paused_until
        ended = store.end_pause(lead, by=args.by or _user(), now=now)
    whom = "everyone" if lead == EVERYONE else f"lead {lead}"
    if ended is not None and ended.active(now):
        since = show_moment(ended.at, zone)
        print(escape_controls(f"The bot answers {whom} again (paused by {ended.by} at {since})."))
    else:
        print(escape_controls(f"The bot was not paused by anyone for {whom}."))
    if automatic is not None and now < automatic:
        print(f"Its automatic pause until {show_moment(automatic, zone)} has ended too.")
    if lead == EVERYONE:
        print("Leads paused one by one stay paused: 'responder pauses' lists them.")
    return 0


def _pauses(args: argparse.Namespace) -> int:
    if args.history:
        return _history(args)
    with _opened(args.store) as store:
        pauses = store.pauses(now=utcnow())
    if not pauses:
        print("Nobody has paused the bot: it answers everyone.")
        return 0
    zone = _zone(args.rules)
    for pause in pauses:
        print(describe(pause, zone))
    return 0


def _history(args: argparse.Namespace) -> int:
    with _opened(args.store) as store:
        changes = store.pause_changes(limit=args.limit)
    if not changes:
        print("Nobody has paused the bot yet.")
        return 0
    zone = _zone(args.rules)
    for change in changes:
        whom = "everyone" if change.lead_id == EVERYONE else f"lead {change.lead_id}"
        line = f"{show_moment(change.at, zone)}  {change.by} "
        if change.action == "resume":
            line += f"resumed {whom}"
        else:
            until = show_moment(change.until, zone) if change.until else "resumed"
            line += f"paused {whom} until {until}"
            line += f"  note: {change.note!r}" if change.note else ""
        print(escape_controls(line))
    return 0


def describe(pause: Pause, zone: ZoneInfo | None) -> str:
    """One line per pause: for whom, until when, who, when and the note, control characters
    escaped (the note quoted)."""
    whom = "EVERYONE" if pause.everyone else f"lead {pause.lead_id}"
    until = show_moment(pause.until, zone) if pause.until else "resumed"
    line = f"{whom:<14} until {until}  by {pause.by} at {show_moment(pause.at, zone)}"
    return escape_controls(f"{line}  note: {pause.note!r}" if pause.note else line)


def _lead(args: argparse.Namespace) -> str | None:
    """The lead the command is about (EVERYONE for --all); None after printing a usage error."""
    name = args.command.__name__.strip("_")
    if args.all == (args.lead is not None):
        print(
            f"responder {name}: give a lead's id, or --all for everyone (not both)", file=sys.stderr
        )
        return None
    if args.all:
        return str(EVERYONE)
    lead = str(args.lead).strip()
    if not lead or lead == EVERYONE:
        print(
            f"responder {name}: {args.lead!r} is not a lead's id; use --all for everyone",
            file=sys.stderr,
        )
        return None
    return lead


def _user() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):  # no name for this user id (a container, say)
        return "unknown"


def _zone(rules: Path | None) -> ZoneInfo | None:
    return read_settings(rules).timezone if rules is not None else None


class _opened:
    """The store, refused when it names an SQLite file that does not exist (a pause written
    into a new file would silence nothing)."""

    def __init__(self, url: str) -> None:
        if ":" not in url and not Path(url).exists():
            raise NoStore(
                f"there is no store at {url}: give the service's store with --store, "
                "or set RESPONDER_STORE as the service has it"
            )
        self._store = open_store(url)

    def __enter__(self) -> Store:
        return self._store

    def __exit__(self, *_: object) -> None:
        self._store.close()
