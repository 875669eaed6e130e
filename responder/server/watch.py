"""While developing: publish the rules folder whenever a file in it is saved and passes check.

Runs in ``responder serve`` (one watcher per instance, beside gunicorn) in the sandbox or with
``RESPONDER_WATCH_RULES=true``. The workers pick the new release up as they pick up any other
(responder/server/live.py). Uses watchfiles (inotify, with its own debouncing) rather than a
polling loop of ours.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

import watchfiles

from responder.config import Config
from responder.errors import ResponderError
from responder.publishing import publish_folder
from responder.release import ReleaseSource
from responder.store import open_releases

__all__ = ["FolderWatcher"]


class FolderWatcher:
    """Publishes ``config``'s rules and templates folders on every change; ``say`` gets one
    line per change for the person at the terminal: published, or the problems."""

    def __init__(self, config: Config, say: Callable[[str], None]) -> None:
        self.config = config
        self.say = say
        self._stop = threading.Event()
        self._watching = threading.Event()
        self._thread = threading.Thread(target=self._run, name="responder-watch", daemon=True)

    def start(self) -> None:
        """Start watching; returns once saves are seen (or after 5 s at most)."""
        self._thread.start()
        self._watching.wait(timeout=5)

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)

    def publish(self) -> None:
        """Publish the folders now if they pass check (one change's worth of work)."""
        releases = open_releases(self.config.store_url)
        try:
            published = publish_folder(
                releases,
                self.config.rules_dir,
                self.config.templates_dir,
                author="saved in the folder",
                source=ReleaseSource.FOLDER,
                note="saved while developing",
            )
        finally:
            releases.close()
        if published.release is not None:
            self.say(f"rules saved: release {published.release.number} is live")
        elif not published.unchanged:
            problems = "\n".join(f"  {p}" for p in published.report.errors)
            self.say(
                f"rules saved, NOT published ({len(published.report.errors)} error(s)):\n{problems}"
            )

    def _run(self) -> None:
        folders = [f for f in (self.config.rules_dir, self.config.templates_dir) if f.is_dir()]
        for changes in watchfiles.watch(
            *folders,
            stop_event=self._stop,
            debounce=300,
            step=100,
            raise_interrupt=False,
            # An empty batch after each quiet 0.2 s: the first one says the watch is set up.
            yield_on_timeout=True,
            rust_timeout=200,
        ):
            self._watching.set()
            if not changes:
                continue
            try:
                self.publish()
            except ResponderError as exc:
                self.say(f"rules saved, could not publish: {exc}")
