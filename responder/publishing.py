"""Rule books as releases: publish a folder after the full check, roll back, export, load.

Nothing becomes live without passing the full check (``responder check``: errors and failing
examples block, warnings do not), whichever way it is published:

- :func:`publish_folder` checks the folder and publishes exactly the files it checked (read
  before and after the check: a folder that changed meanwhile is not published);
- :func:`rollback` publishes an earlier release's files again, after checking them again;
- :func:`load_release` builds the rule book of a release, for the service to serve.

A release is loaded from its files written out under ``releases_dir`` (``<number>-<hash>``,
written once, atomically), so problems and render errors name files a person can open.
"""

from __future__ import annotations

import logging
import os
import shutil
import socket
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path, PurePosixPath

from responder.config import Config
from responder.engine import authoring
from responder.engine.folder import read_folder
from responder.engine.loader import load_rulebook
from responder.engine.problems import Problem, display_path
from responder.engine.rulebook import RuleBook
from responder.errors import ConfigError, ResponderError, RuleBookError
from responder.model import utcnow
from responder.ports import ReleaseStore
from responder.release import Release, ReleaseSource, content_hash

__all__ = [
    "Published",
    "ReleaseNotFound",
    "export",
    "import_folder",
    "load_release",
    "publish_folder",
    "read_book",
    "rollback",
]

RULES, TEMPLATES = "rules", "templates"

log = logging.getLogger("responder.releases")


class ReleaseNotFound(ResponderError):
    """There is no release of that number (never published, or pruned)."""


@dataclass(frozen=True)
class Published:
    """What a publish did: the new ``release`` (None when nothing was published: the check
    failed, or the folder is the one already imported) and the check ``report``."""

    release: Release | None
    report: authoring.CheckReport
    unchanged: bool = False

    @property
    def text(self) -> str:
        """The check report as ``responder check`` prints it."""
        return authoring.format_check(self.report)


def read_book(rules_dir: Path, templates_dir: Path) -> dict[str, str]:
    """Every rule file and template of the folders, as a release holds them.

    Reads what the loader reads (ordinary files only, never through a link); a file that
    cannot be read or decoded is left out, and the check reports it.
    """
    files: dict[str, str] = {}
    for prefix, folder, suffixes, recursive, encoding in (
        (RULES, rules_dir, (".yaml", ".yml"), False, "utf-8"),
        (TEMPLATES, templates_dir, (".j2",), True, "utf-8-sig"),  # as the loader reads them
    ):
        if not folder.is_dir():
            continue
        for entry in read_folder(folder, suffixes, recursive=recursive):
            if entry.content is None:
                continue
            try:
                files[f"{prefix}/{entry.name}"] = entry.text(encoding)
            except UnicodeDecodeError:
                continue
    return files


def publish_folder(
    releases: ReleaseStore,
    rules_dir: Path,
    templates_dir: Path,
    *,
    author: str,
    source: ReleaseSource,
    note: str = "",
    now: Callable[[], datetime] = utcnow,
) -> Published:
    """Check the folders and publish them as the next live release if they pass.

    With ``source`` FOLDER, folders equal to the last folder release are not published again
    (``unchanged``). Raises StoreUnavailable when the store cannot be reached.
    """
    before = read_book(rules_dir, templates_dir)
    report = authoring.check(rules_dir, templates_dir)
    if not report.ok:
        return Published(None, report)
    if read_book(rules_dir, templates_dir) != before:
        report.problems.append(_changed_meanwhile(rules_dir))
        return Published(None, report)
    text = authoring.format_check(report)
    release = releases.publish(
        before, author=author, source=source, note=note, report=text, now=now()
    )
    return Published(release, report, unchanged=release is None)


def import_folder(config: Config, releases: ReleaseStore) -> str:
    """Publish the rules folder if it changed and passes; say what happened, in words.

    Raises RuleBookError when it does not pass and the store has no release to serve.
    """
    live = releases.live_number()
    if live is not None:
        # The common case, every worker of every instance at every start: the folder is what
        # is live. Nothing to publish, so no need to check it again.
        release = releases.release(live)
        files = read_book(config.rules_dir, config.templates_dir)
        if release is not None and release.content_hash == content_hash(files):
            return "unchanged"
    published = publish_folder(
        releases,
        config.rules_dir,
        config.templates_dir,
        author=f"folder on {socket.gethostname()}",
        source=ReleaseSource.FOLDER,
    )
    if published.release is not None:
        log.info("rules folder published as release %d", published.release.number)
        return f"published as release {published.release.number}"
    if published.unchanged:
        return "unchanged"
    errors = published.report.errors
    if live is None and releases.live_number() is None:
        raise RuleBookError(errors)
    log.error(
        "rules folder not published, %d error(s); the live release keeps serving:\n%s",
        len(errors),
        "\n".join(str(p) for p in errors),
    )
    return f"{len(errors)} error(s), not published"


def rollback(
    releases: ReleaseStore,
    number: int,
    releases_dir: Path,
    *,
    author: str,
    now: Callable[[], datetime] = utcnow,
) -> Published:
    """Make release ``number``'s files live again, as a new release of source ``rollback``.

    They are checked again first (what passed then must pass here and now). Raises
    ReleaseNotFound when there is no such release.
    """
    old = releases.release(number)
    if old is None:
        raise ReleaseNotFound(f"There is no release {number}; 'responder releases' lists them.")
    rules_dir, templates_dir = _written_out(old, releases_dir)
    report = authoring.check(rules_dir, templates_dir)
    if not report.ok:
        return Published(None, report)
    release = releases.publish(
        dict(old.files),
        author=author,
        source=ReleaseSource.ROLLBACK,
        note=f"back to release {number}",
        report=authoring.format_check(report),
        now=now(),
    )
    return Published(release, report)


def load_release(release: Release, releases_dir: Path) -> RuleBook:
    """The rule book of ``release``; raises RuleBookError when it cannot be loaded here (a
    time zone this machine lacks, say)."""
    return load_rulebook(*_written_out(release, releases_dir))


def export(release: Release, folder: Path) -> tuple[Path, Path]:
    """Write the release's files into ``folder`` (``rules/`` and ``templates/``); return both.

    Refuses (ValueError) a file name that would leave the folder: names come from the store.
    """
    for name, text in release.files.items():
        target = folder.joinpath(*_safe_parts(name))
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text, encoding="utf-8")
    for part in (RULES, TEMPLATES):
        (folder / part).mkdir(parents=True, exist_ok=True)
    return folder / RULES, folder / TEMPLATES


def _written_out(release: Release, releases_dir: Path) -> tuple[Path, Path]:
    """The release's files under ``releases_dir``, written once (atomically, by rename)."""
    folder = releases_dir / f"{release.number}-{release.content_hash[:12]}"
    if folder.is_dir():
        return folder / RULES, folder / TEMPLATES
    try:
        releases_dir.mkdir(parents=True, exist_ok=True)
        scratch = Path(tempfile.mkdtemp(prefix=f".{release.number}-", dir=releases_dir))
    except OSError as exc:
        raise ConfigError(
            f"Release {release.number} cannot be written out to {releases_dir} to be loaded "
            f"({exc.strerror or exc}); set RESPONDER_RELEASES_DIR to a folder this user can write."
        ) from exc
    try:
        export(release, scratch)
        os.rename(scratch, folder)
    except OSError as exc:
        if not folder.is_dir():  # else another process wrote it first: the same files
            raise ConfigError(
                f"Release {release.number} cannot be written out to {releases_dir} "
                f"({exc.strerror or exc}); check the free space and the permissions."
            ) from exc
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    return folder / RULES, folder / TEMPLATES


def _safe_parts(name: str) -> tuple[str, ...]:
    path = PurePosixPath(name)
    parts = path.parts
    if (
        path.is_absolute()
        or len(parts) < 2
        or parts[0] not in (RULES, TEMPLATES)
        or any(p in ("", ".", "..") or "\\" in p or "\0" in p for p in parts)
    ):
        raise ValueError(f"a release file name that cannot be written out: {name!r}")
    return parts


def _changed_meanwhile(rules_dir: Path) -> Problem:
    return Problem(
        display_path(rules_dir), 0, "the files changed while they were being checked; publish again"
    )
