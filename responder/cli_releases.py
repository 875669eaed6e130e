"""The ``responder`` commands that make rule books live: publish, releases, rollback, export.

They use the store the service uses (``--store``, default ``$RESPONDER_STORE``); every
instance on that store picks a new live release up within a couple of seconds, and
``releases`` shows which release each one says it serves.
"""

from __future__ import annotations

import argparse
import getpass
import socket
from pathlib import Path
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from responder.errors import ResponderError
from responder.instances import INSTANCE_FORGOTTEN, Instance, rollout
from responder.model import utcnow
from responder.ports import ReleaseStore
from responder.publishing import Published, export, load_release, publish_folder, read_book
from responder.publishing import rollback as roll_back
from responder.release import Release, ReleaseSource, content_hash
from responder.store import open_instances, open_releases, releases_folder

if TYPE_CHECKING:
    from responder.cli import Commands

STORE_HELP = "the store (default: $RESPONDER_STORE or var/responder.db)"


def add_release_commands(commands: Commands, folder_options: object) -> None:
    """Add the commands to the ``responder`` parser (``folder_options`` adds --rules and
    --templates to a command)."""
    add_folders = folder_options
    assert callable(add_folders)

    publish = commands.add_parser(
        "publish", help="check the rules and templates and make them the live release"
    )
    add_folders(publish)
    publish.add_argument("--note", default="", help="what changed, for the list of releases")
    publish.add_argument("--store", help=STORE_HELP)
    publish.set_defaults(command=_publish)

    releases = commands.add_parser("releases", help="list the published releases, newest first")
    releases.add_argument("--limit", type=int, default=20)
    releases.add_argument("--store", help=STORE_HELP)
    releases.set_defaults(command=_releases)

    rollback = commands.add_parser(
        "rollback", help="make an earlier release live again (as a new release)"
    )
    rollback.add_argument("number", type=int, help="the release to bring back")
    rollback.add_argument("--store", help=STORE_HELP)
    rollback.set_defaults(command=_rollback)

    export_ = commands.add_parser("export", help="write a release's files into a folder")
    export_.add_argument("number", type=int)
    export_.add_argument("folder", type=Path, help="gets rules/ and templates/ folders")
    export_.add_argument("--store", help=STORE_HELP)
    export_.set_defaults(command=_export)


def _publish(args: argparse.Namespace) -> int:
    with _opened(args.store) as releases:
        live = _live(releases)
        if live is not None and live.content_hash == content_hash(
            read_book(args.rules, args.templates)
        ):
            print(f"Nothing to publish: these files are the live release {live.number}.")
            return 0
        published = publish_folder(
            releases,
            args.rules,
            args.templates,
            author=author(),
            source=ReleaseSource.CLI,
            note=args.note,
        )
    return _report(published, "")


def _rollback(args: argparse.Namespace) -> int:
    with _opened(args.store) as releases:
        published = roll_back(releases, args.number, releases_folder(args.store), author=author())
    return _report(published, f" (the files of release {args.number})")


def _report(published: Published, what: str) -> int:
    print(published.text)
    if published.release is None:
        print("Not published: fix the errors above; the live release is unchanged.")
        return 1
    number = published.release.number
    print(
        f"Release {number} is live{what}; each instance picks it up within seconds "
        "('responder releases' shows which serve it)."
    )
    return 0


def _releases(args: argparse.Namespace) -> int:
    with _opened(args.store) as releases:
        listed = releases.releases(limit=max(args.limit, 1))
        live = releases.live_number()
        zone = _zone(releases, live, releases_folder(args.store))
    instances = _instances(args.store)
    if not listed:
        print("No release yet: 'responder publish' makes the first one.")
        return 0
    print(f"Times in {zone.key}.")
    for release in listed:
        marker = "live" if release.number == live else ""
        when = release.created_at.astimezone(zone).strftime("%Y-%m-%d %H:%M")
        note = f"  {release.note}" if release.note else ""
        print(
            f"{marker:>4} {release.number:>4}  {when}  {release.author:<24} "
            f"{release.source.value:<8}{note}"
        )
    if live is not None:
        seen = rollout(instances, live, now=utcnow())
        print(f"\n{seen.headline}")
        for place in seen.places:
            said = place.words(lambda at: at.astimezone(zone).strftime("%Y-%m-%d %H:%M:%S"))
            print(f"  {place.instance.label}: {said}")
    return 0


def _instances(url: str) -> list[Instance]:
    store = open_instances(url)
    try:
        return store.instances(now=utcnow(), forget=INSTANCE_FORGOTTEN)
    finally:
        store.close()


def _export(args: argparse.Namespace) -> int:
    with _opened(args.store) as releases:
        release = releases.release(args.number)
    if release is None:
        raise ResponderError(f"There is no release {args.number}; 'responder releases' lists them.")
    for part in ("rules", "templates"):
        existing = args.folder / part
        if existing.exists() and any(existing.iterdir()):
            raise ResponderError(
                f"{existing} is not empty; export into a new folder, so nothing is overwritten."
            )
    rules, templates = export(release, args.folder)
    print(
        f"Release {release.number}: {len(release.files)} files written to {rules} and {templates}."
    )
    return 0


class _opened:
    """The release store of ``url``, closed afterwards."""

    def __init__(self, url: str) -> None:
        self.releases = open_releases(url)

    def __enter__(self) -> ReleaseStore:
        return self.releases

    def __exit__(self, *_: object) -> None:
        self.releases.close()


def _live(releases: ReleaseStore) -> Release | None:
    number = releases.live_number()
    return releases.release(number) if number is not None else None


def _zone(releases: ReleaseStore, live: int | None, folder: Path) -> ZoneInfo:
    """The business's time zone: the live release's ``settings.timezone``, else UTC."""
    release = releases.release(live) if live is not None else None
    if release is not None:
        try:
            zone = load_release(release, folder).settings.timezone
        except ResponderError:
            zone = None
        if zone is not None:
            return zone
    return ZoneInfo("UTC")


def author() -> str:
    """Who runs this command, as the record of changes names them: user@host."""
    try:
        user = getpass.getuser()
    except (KeyError, OSError):  # no name for this user id (a container, say)
        user = "unknown"
    return f"{user}@{socket.gethostname()}"
