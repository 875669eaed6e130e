"""One process serving the live release: the folder imported at start, then every publish.

At start (:func:`first_book`) the rules folder is checked and, when it differs from the last
folder release and passes, published; a broken folder stops the start only when the store has
no release at all to serve. Then :class:`LiveRelease` looks at the store's live number every
``Config.release_poll`` and, when it changed, builds the new book aside and swaps it in with
one assignment (:meth:`responder.pipeline.Responder.serve`). A release that cannot be loaded
here (a time zone this machine lacks, say) leaves the current book serving and is reported
by :meth:`LiveRelease.status` and the log.

The same thread drives the process's :class:`~responder.server.heartbeat.Heartbeat`, if it
has one: after each look at the store it says which release is served here (and any that
failed to load), and it removes the record when the process stops.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from responder.config import Config
from responder.engine.loader import load_rulebook
from responder.engine.rulebook import RuleBook
from responder.errors import ResponderError, RuleBookError, StoreUnavailable
from responder.ports import ReleaseStore
from responder.publishing import import_folder, load_release
from responder.server.heartbeat import Heartbeat

log = logging.getLogger("responder.releases")


@dataclass(frozen=True)
class FirstBook:
    """The book a process starts with: ``release`` None when the store could not be reached
    (the folder then serves, checked, until the store answers). ``folder`` says what became
    of the folder, in words."""

    book: RuleBook
    release: int | None
    folder: str


def first_book(config: Config, releases: ReleaseStore, releases_dir: Path) -> FirstBook:
    """The folder imported (see :func:`import_folder`), then the live release's book
    (written out under ``releases_dir`` to be loaded)."""
    try:
        folder = import_folder(config, releases)
        number = releases.live_number()
        release = releases.release(number) if number is not None else None
    except StoreUnavailable as exc:
        log.warning("store unavailable at start (%s); serving the rules folder until it is", exc)
        book = load_rulebook(config.rules_dir, config.templates_dir)
        return FirstBook(book, None, "not imported yet: store unavailable")
    if release is None:  # pruned between the two reads: the next poll finds the new one
        raise StoreUnavailable("the live release could not be read; start again")
    return FirstBook(load_release(release, releases_dir), release.number, folder)


class LiveRelease:
    """Follows the store's live release for one process (see the module docstring)."""

    def __init__(
        self,
        config: Config,
        releases: ReleaseStore,
        first: FirstBook,
        serve: Callable[[RuleBook, int | None], None],
        releases_dir: Path,
        *,
        heartbeat: Heartbeat | None = None,
    ) -> None:
        self.config = config
        self.heartbeat = heartbeat
        self.releases = releases
        self.releases_dir = releases_dir
        self.serve = serve
        self.number = first.release
        self.folder = first.folder
        self.problem = ""  # why the live release is not the one served here, if it is not
        self._failed: int | None = None  # a release that failed to load: not tried again
        self._reason = ""  # why it failed, for the heartbeat
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="responder-releases", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join()
        if self.heartbeat is not None:
            self.heartbeat.leave()

    def status(self) -> dict[str, Any]:
        """For /readyz: the release served, what became of the folder, and any problem."""
        status: dict[str, Any] = {"live": self.number, "folder": self.folder}
        if self.problem:
            status["problem"] = self.problem
        return status

    def follow(self) -> None:
        """Serve the live release if it is not the one served (one look at the store)."""
        number = self.releases.live_number()  # first, so an unavailable store costs no check
        if self.number is None:  # started while the store was unavailable
            self.folder = import_folder(self.config, self.releases)
            number = self.releases.live_number()
        if number is None or number == self.number or number == self._failed:
            return
        release = self.releases.release(number)
        if release is None:
            return
        try:
            book = load_release(release, self.releases_dir)
        except RuleBookError as exc:
            self._failed, self._reason = number, " ".join(str(exc).split())
            self.problem = f"release {number} cannot be loaded here; serving {self.number}"
            log.error(
                "release %d cannot be loaded here, still serving %s: %s", number, self.number, exc
            )
            return
        book.warm()
        self.serve(book, number)
        log.info("serving release %d (was %s)", number, self.number)
        self.number, self.problem = number, ""

    def beat(self) -> None:
        """Say in the store which release this process serves (see :class:`Heartbeat`)."""
        if self.heartbeat is None:
            return
        if self.problem:
            self.heartbeat.beat(self.number, failed=self._failed, problem=self._reason)
        else:
            self.heartbeat.beat(self.number)

    def _loop(self) -> None:
        interval = self.config.release_poll.total_seconds()
        self.beat()
        while not self._stop.wait(interval):
            try:
                self.follow()
            except ResponderError as exc:
                log.warning("could not look for a new release: %s", exc)
            self.beat()
