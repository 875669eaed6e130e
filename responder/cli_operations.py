"""The ``responder`` commands for the people who run the service: doctor and channels."""

from __future__ import annotations

import argparse
from typing import TypeAlias

from responder import doctor
from responder.errors import PlatformRejected, RetryableError

Commands: TypeAlias = "argparse._SubParsersAction[argparse.ArgumentParser]"


def add_operations_commands(commands: Commands) -> None:
    """Add doctor and channels to the ``responder`` parser."""
    check = commands.add_parser(
        "doctor",
        help="check the configuration, the store, the rules and the ABC API key",
        description="Check what the service would start with (the environment): one line per "
        "check, OK, WARN or FAIL; exit status 1 when any check fails.",
    )
    check.set_defaults(command=_doctor)
    channels = commands.add_parser(
        "channels", help="list the company's messaging channel connections (ABC_API_KEY)"
    )
    channels.set_defaults(command=_channels)


def _doctor(args: argparse.Namespace) -> int:
    failed = False
    for check in doctor.diagnose():
        print(check, flush=True)
        failed = failed or check.status == doctor.FAIL
    return 1 if failed else 0


def _channels(args: argparse.Namespace) -> int:
    try:
        found = doctor.connections()
    except PlatformRejected as exc:
        print(f"responder: {exc}")
        return 1
    except RetryableError as exc:
        print(f"responder: the ABC API cannot be reached: {exc} (ABC_API_URL)")
        return 1
    if not found:
        print("no channel connections: connect a channel in the platform's settings")
        return 0
    print(f"{'id':>6}  {'channel':<12} {'state':<14} name")
    for c in found:
        state = ("connected" if c.connected else "not connected") + (
            ", default" if c.default else ""
        )
        print(f"{c.id:>6}  {c.channel:<12} {state:<14} {c.name}")
    return 0
