"""The ``responder`` command: tools for rule authors, and the service's own commands.

Each sub-command parses its arguments, calls one function elsewhere and prints the result;
exit status 0 means success, 1 a problem the output explains, 2 a usage error.
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from pathlib import Path
from typing import TypeAlias
from zoneinfo import ZoneInfo

from responder.cli_activity import add_activity_commands
from responder.cli_operations import add_operations_commands
from responder.cli_pauses import add_pause_commands
from responder.cli_releases import add_release_commands
from responder.cli_users import add_user_commands
from responder.config import STARTED_BY_VARIABLE, Config, environment_setting, load_config
from responder.engine import authoring
from responder.engine.decide import Decision
from responder.engine.durations import parse_duration
from responder.engine.hours import load_timezone, show_moment
from responder.engine.loader import load_rulebook
from responder.engine.rulebook import RuleBook
from responder.errors import ConfigError, ResponderError, RuleBookError, StoreUnavailable
from responder.model import Lead, LeadState, utcnow
from responder.publishing import import_folder
from responder.server.watch import FolderWatcher
from responder.simulator import sandbox
from responder.store import open_releases

Command = Callable[[argparse.Namespace], int]


def main(argv: Sequence[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    command: Command = args.command
    try:
        _default_from_environment(args)
        return command(args)
    except RuleBookError as exc:
        print(exc, file=sys.stderr)
        print("Run 'responder check' for the full report.", file=sys.stderr)
        return 1
    except ResponderError as exc:
        print(f"responder: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="responder", description=__doc__)
    commands = parser.add_subparsers(required=True, metavar="COMMAND")
    _authoring_commands(commands)
    add_release_commands(commands, _folder_options)
    add_pause_commands(commands)
    add_activity_commands(commands)
    add_user_commands(commands)
    _service_commands(commands)
    add_operations_commands(commands)
    return parser


Commands: TypeAlias = "argparse._SubParsersAction[argparse.ArgumentParser]"


def _authoring_commands(commands: Commands) -> None:
    check = commands.add_parser("check", help="validate rules and templates, run every example")
    _folder_options(check)
    check.set_defaults(command=_check)

    try_ = commands.add_parser(
        "try",
        help="show which rule answers a message (or several written together), and why",
        description="Show which rule answers a message, and why. Several messages (each in "
        'quotes: try "hi" "do you deliver" "to Shah Alam?") are decided together, as the '
        "service answers a burst with settings: gather.",
    )
    try_.add_argument("message", nargs="+", help="the customer's message(s), oldest first")
    _folder_options(try_)
    _lead_options(try_)
    try_.add_argument("--first", action="store_true", help="treat it as the lead's first message")
    try_.set_defaults(command=_try)

    chat = commands.add_parser(
        "chat",
        help="talk to the rules as a customer would, in the terminal",
        description="Talk to the rules as a customer would. Cooldowns, pauses and first "
        "messages are remembered as the service does.",
        epilog=CHAT_COMMANDS,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    _folder_options(chat)
    _lead_options(chat)
    chat.set_defaults(command=_chat)


def _service_commands(commands: Commands) -> None:
    serve = commands.add_parser(
        "serve", help="run the webhook service under gunicorn (the sandbox without ABC_API_KEY)"
    )
    serve.add_argument(
        "--simulator-port",
        type=int,
        default=8081,
        help="sandbox only: the port of the local ABC API simulator",
    )
    serve.set_defaults(command=_serve)

    send = commands.add_parser(
        "send", help="sandbox: send a message to the service as a lead would"
    )
    send.add_argument("message")
    send.add_argument("--lead", default="42", help="the lead's id (default 42)")
    send.add_argument(
        "--name", default=authoring.SAMPLE_NAME, help="the lead's name (default: %(default)s)"
    )
    send.add_argument("--locale", default="en", help="the lead's locale")
    send.add_argument(
        "--simulator",
        default="http://127.0.0.1:8081",
        help="the simulator's address (default http://127.0.0.1:8081)",
    )
    send.add_argument("--wait", type=float, default=5.0, help="seconds to wait for the reply")
    send.set_defaults(command=_send)


def _folder_options(command: argparse.ArgumentParser) -> None:
    command.add_argument(
        "--rules", type=Path, help="folder of rule files (default: $RESPONDER_RULES or ./rules)"
    )
    command.add_argument(
        "--templates",
        type=Path,
        help="folder of templates (default: $RESPONDER_TEMPLATES or ./templates)",
    )


def _lead_options(command: argparse.ArgumentParser) -> None:
    add = command.add_argument
    add(
        "--name",
        default=authoring.SAMPLE_NAME,
        help="the customer's name (default: %(default)s; '' for a customer without a name)",
    )
    add(
        "--locale",
        default="",
        help="the lead's locale, e.g. es or es_MX (default: none, so the reply's language is "
        "told from the message among the rules' languages)",
    )
    add("--tag", action="append", default=[], help="a tag of the lead (repeatable)")
    add("--channel", default="whatsapp", help="the channel, e.g. whatsapp")
    add("--timezone", default="", help="the lead's timezone, e.g. Europe/London")
    add(
        "--at",
        default="",
        help="the moment, \"YYYY-MM-DD HH:MM\" in the lead's (else the rules') timezone; "
        "default now",
    )


# option -> the setting that gives its default when the option is not given
_FROM_ENVIRONMENT = {"rules": "rules_dir", "templates": "templates_dir", "store": "store_url"}


def _default_from_environment(args: argparse.Namespace) -> None:
    for option, setting in _FROM_ENVIRONMENT.items():
        if getattr(args, option, "") is None:
            setattr(args, option, environment_setting(setting))


def _check(args: argparse.Namespace) -> int:
    report = authoring.check(args.rules, args.templates)
    print(authoring.format_check(report))
    return 0 if report.ok else 1


def _try(args: argparse.Namespace) -> int:
    book = load_rulebook(args.rules, args.templates)
    lead = _lead(args)
    at = _moment(args.at, lead, book)
    state = (
        LeadState() if args.first else LeadState(first_seen=datetime(2000, 1, 1, tzinfo=at.tzinfo))
    )
    decision, message, note = authoring.try_messages(
        book, list(args.message), lead, state, at, args.channel
    )
    if note:
        print(f"gathered:      {note}")
    print(authoring.explain(decision, message, book.settings))
    return 0


CHAT_COMMANDS = """\
While chatting, type:
  /wait 2h   move the clock forward (90s, 30m, 6h, 2d, 1h30m): cooldowns and pauses run out;
             with settings: gather, the lines typed since the last answer are gathered and
             answered together once /wait passes the gather time (say /wait 4s)
  /reset     forget everything about this customer: the next message is their first
  /help      list these commands
  /quit      stop (so does Ctrl-D)"""


def _chat(args: argparse.Namespace) -> int:
    book = load_rulebook(args.rules, args.templates)
    lead = _lead(args)
    conversation = authoring.Conversation(book, lead, _moment(args.at, lead, book), args.channel)
    zone = book.settings.timezone
    print("Type as the customer. Commands: /wait 2h (move the clock), /reset, /help, /quit.")
    while True:
        try:
            line = input(f"[{show_moment(conversation.now, zone)}] you> ").strip()
        except EOFError:
            print()
            line = "/quit"
        if not line:
            continue
        if line in ("/quit", "/exit"):
            if conversation.gathered:
                print(f"({len(conversation.gathered)} message(s) still gathering, not answered)")
            return 0
        if line in ("/help", "/?", "/"):
            print(CHAT_COMMANDS)
            continue
        if line == "/reset":
            conversation = authoring.Conversation(book, lead, conversation.now, args.channel)
            print("(forgot everything about this lead)")
            continue
        if line.startswith("/wait"):
            try:
                answered = conversation.wait(parse_duration(line.removeprefix("/wait").strip()))
            except ValueError as exc:
                print(f"({exc})")
            except OverflowError:
                print("(that is further than the calendar goes)")
            else:
                if answered is not None:
                    decision, count = answered
                    print(f"(the bot answers the {count} message(s) gathered, together)")
                    _show(decision)
            continue
        said = conversation.say(line)
        if said is None:
            quiet = conversation.quiet_at()
            shown = show_moment(quiet, zone) if quiet else ""
            print(
                f"(gathered {len(conversation.gathered)} message(s): the bot answers at {shown}"
                f" if nothing more comes; type more, or /wait {_seconds(conversation.gather)})"
            )
            continue
        _show(said)


def _seconds(duration: timedelta) -> str:
    return f"{duration.total_seconds():g}s"


def _show(decision: Decision) -> None:
    """One decision of ``chat``: the reply and the rule, or why there is none."""
    if decision.replies:
        print(f"bot> {decision.reply}")
        if decision.attachment:
            print(f"     (attachment: {decision.attachment})")
        print(f"  => {decision.rule.name if decision.rule else ''}: {decision.why}")
    else:
        assert decision.outcome is not None
        print(f"  => no reply ({decision.outcome.value}): {decision.why}")
    if decision.language is not None:
        print(f"  {decision.language}")


def _serve(args: argparse.Namespace) -> int:
    env = dict(os.environ)
    # What it starts ends with it, even when it is killed (responder/lifeline.py).
    env[STARTED_BY_VARIABLE] = str(os.getpid())
    load_config(env, check=False)  # every variable readable, before anything starts
    # Both ports are checked before anything starts: a service or simulator that cannot
    # listen would leave the hints reaching whatever else holds the port.
    host, port = _bind_address(environment_setting("bind", env))
    if port is not None:
        sandbox.check_port_free(host, port, "RESPONDER_BIND (e.g. RESPONDER_BIND=127.0.0.1:9080)")
    simulator = None
    if not environment_setting("api_key", env):
        simulator, env = sandbox.start(env, args.simulator_port)
    try:
        # Refuse a bad configuration, or a broken rules folder with no release to serve
        # instead, here with its message rather than in a worker.
        config = load_config(env)
        _import_folder(config)
        # In the sandbox a saved file goes live at once, unless the console is on: there, a
        # save waits for the author's Publish.
        sandboxed = config.sandbox and not config.console
        watching = sandboxed if config.watch_rules is None else config.watch_rules
        watcher = FolderWatcher(config, lambda line: print(line, flush=True)) if watching else None
        if watcher is not None:
            watcher.start()
        try:
            return _run_gunicorn(env)
        finally:
            if watcher is not None:
                watcher.stop()
    finally:
        if simulator is not None:
            sandbox.stop(simulator)


class _Stop(Exception):
    """SIGTERM or SIGINT reached ``responder serve``."""


def _run_gunicorn(env: dict[str, str]) -> int:
    """Run gunicorn until it exits, or until SIGTERM or SIGINT, which stop it gracefully: its
    master lets the workers finish their requests and sends (see gunicorn_conf.worker_exit).

    gunicorn runs in a session of its own so that, should it outlive its graceful timeout,
    it and its workers are killed together rather than the workers left behind.
    """
    gunicorn = subprocess.Popen(_GUNICORN, env=env, start_new_session=True)  # noqa: S603

    def stop(signum: int, frame: object) -> None:
        raise _Stop(signum)

    previous = {sig: signal.signal(sig, stop) for sig in (signal.SIGTERM, signal.SIGINT)}
    try:
        return gunicorn.wait()
    except _Stop:
        for sig in previous:  # a second signal must not cut the graceful stop short
            signal.signal(sig, signal.SIG_IGN)
        gunicorn.terminate()
        try:
            gunicorn.wait(timeout=GRACEFUL_STOP)
        except subprocess.TimeoutExpired:
            os.killpg(gunicorn.pid, signal.SIGKILL)
            gunicorn.wait()
        return 0
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


# gunicorn's graceful_timeout (responder/server/gunicorn_conf.py), and some time to exit.
GRACEFUL_STOP = 40.0


def _bind_address(bind: str) -> tuple[str, int | None]:
    """The host and TCP port of a gunicorn bind address (no port: a unix socket)."""
    if bind.startswith(("unix:", "fd://")):
        return bind, None
    host, _, port = bind.rpartition(":")
    try:
        return host.strip("[]") or "0.0.0.0", int(port)  # noqa: S104 - gunicorn's own default
    except ValueError:
        raise ConfigError(
            f"RESPONDER_BIND cannot be used: '{bind}' is not host:port, like 127.0.0.1:8080"
        ) from None


def _import_folder(config: Config) -> None:
    """Publish the rules folder when it changed and passes (see responder/server/live.py);
    raise RuleBookError when it is broken and the store has no release to serve."""
    try:
        releases = open_releases(config.store_url)
    except StoreUnavailable:
        load_rulebook(config.rules_dir, config.templates_dir)  # the workers retry the store
        return
    try:
        print(f"rules folder: {import_folder(config, releases)}", flush=True)
    except StoreUnavailable:
        load_rulebook(config.rules_dir, config.templates_dir)
    finally:
        releases.close()


_GUNICORN = (
    sys.executable,
    *("-m", "gunicorn", "-c", "python:responder.server.gunicorn_conf"),
    "responder.server.web:create_app()",
)


def _send(args: argparse.Namespace) -> int:
    return sandbox.send(
        args.simulator,
        lead=args.lead,
        text=args.message,
        profile={"name": args.name, "locale": args.locale},
        wait=args.wait,
    )


def _lead(args: argparse.Namespace) -> Lead:
    return Lead(
        id="cli",
        name=args.name,
        locale=args.locale,
        timezone=args.timezone,
        tags=tuple(args.tag),
    )


def _moment(text: str, lead: Lead, book: RuleBook) -> datetime:
    """Parse --at in the lead's timezone (else the rules'); now when empty."""
    if not text:
        return utcnow()
    tz: ZoneInfo = book.settings.timezone or ZoneInfo("UTC")
    if lead.timezone:
        try:
            tz = load_timezone(lead.timezone)
        except ValueError as exc:
            raise SystemExit(f"responder: --timezone: {exc}") from None
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        raise SystemExit(
            f'responder: --at "{text}" is not a moment like "2026-11-28 22:00"'
        ) from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=tz)


if __name__ == "__main__":
    sys.exit(main())
