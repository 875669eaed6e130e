"""Reading the rules and templates folders: ordinary files that are really inside them, only.

What a rule file or template says is sent to leads, so a file that only points somewhere else
must never be read: a link to ``/proc/self/environ`` or to a file of secrets would put the
service's keys into a reply. :func:`read_folder` therefore reads only ordinary files reached
without following any link, and reports everything else by name without opening it:

- a link (symbolic link) named like a wanted file, wherever it points, even inside the folder
  (copying the text is simple for an author; telling safe links from unsafe ones is not);
- a link to a folder, which is never entered (when the folder is searched in depth);
- a pipe, a device or a socket named like a wanted file: opening a pipe waits for a writer,
  and reading a device may never end.

The folder itself may be a link: it is chosen by whoever runs the service, not by the authors
of what is inside. Every step below it is taken relative to an open folder (``openat``) and
with ``O_NOFOLLOW``, so a file swapped for a link between the look and the read is refused
too, and no step can lead outside the folder. (A hard link cannot be told from an ordinary
file and is read like one; making one needs the rights to the file it shares.)
"""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from responder.engine.problems import display_path

__all__ = ["FolderFile", "read_folder"]

_FOLDER_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NONBLOCK | os.O_CLOEXEC
_FILE_FLAGS = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC
_LINKED_FILE = (
    "this file is a link to another file, so it is not read; copy the text into a file here instead"
)
_LINKED_FOLDER = (
    "this folder is a link to another folder, so nothing in it is read; "
    "copy the files into a folder here instead"
)
_KINDS = {
    stat.S_IFIFO: "a pipe",
    stat.S_IFCHR: "a device",
    stat.S_IFBLK: "a device",
    stat.S_IFSOCK: "a socket",
}


@dataclass(frozen=True, slots=True)
class FolderFile:
    """One wanted entry of a folder: its content, or why it was not read.

    ``name`` is its path inside the folder with ``/`` between sub-folders
    (``faq/pricing.j2``); ``shown`` is where it is as its author knows it
    (``templates/faq/pricing.j2``), never where a link leads. Exactly one of the three is
    set: ``content`` (the bytes of an ordinary file), ``refused`` (a sentence for the author:
    a link, a pipe, a folder that cannot be opened...) or ``error`` (an ordinary file that
    could not be read, naming the file's full path; the caller phrases it).
    """

    name: str
    shown: str
    content: bytes | None = None
    refused: str = ""
    error: OSError | None = None

    def text(self, encoding: str) -> str:
        """The content decoded, line ends made ``\\n`` as a file opened as text would give.

        Raises UnicodeDecodeError; call only when ``content`` is set.
        """
        assert self.content is not None, "only a file that was read has a text"
        return self.content.decode(encoding).replace("\r\n", "\n").replace("\r", "\n")


def read_folder(folder: Path, suffixes: tuple[str, ...], *, recursive: bool) -> list[FolderFile]:
    """Every entry of ``folder`` whose name ends with one of ``suffixes``, read or refused.

    With ``recursive``, sub-folders are searched too (links to folders are refused, never
    entered); without it, sub-folders are left alone. Entries come sorted by their path
    inside the folder, sub-folders' parts compared one by one. ``folder`` must be an
    existing folder; one that cannot be opened gives one refused entry for itself. Never
    raises ``OSError`` and never waits on a file.
    """
    walk = _Walk(folder, suffixes, recursive)
    try:
        fd = os.open(folder, _FOLDER_FLAGS)
    except OSError as exc:
        return [FolderFile("", walk.shown, refused=_unopenable(exc))]
    try:
        found = list(walk.folder(fd, ()))
    finally:
        os.close(fd)
    return sorted(found, key=lambda entry: entry.name.split("/"))


class _Walk:
    """One search of a folder; every step is relative to an open sub-folder, never a path."""

    def __init__(self, top: Path, suffixes: tuple[str, ...], recursive: bool) -> None:
        self.top = top
        self.shown = display_path(top)
        self.suffixes = suffixes
        self.recursive = recursive

    def folder(self, fd: int, parts: tuple[str, ...]) -> Iterator[FolderFile]:
        """The wanted entries of the open folder ``fd``, which is ``parts`` below the top."""
        with os.scandir(fd) as listing:
            names = [entry.name for entry in listing]
        for name in names:
            wanted = name.endswith(self.suffixes)
            try:
                mode = os.stat(name, dir_fd=fd, follow_symlinks=False).st_mode
            except FileNotFoundError:
                continue  # removed since the listing: there is nothing left to read
            except OSError as exc:
                if wanted:
                    yield self._failed((*parts, name), exc)
                continue
            if stat.S_ISDIR(mode):
                if self.recursive:
                    yield from self._enter(fd, (*parts, name))
            elif stat.S_ISLNK(mode):
                if (wanted or self.recursive) and _points_to_folder(fd, name):
                    yield self._entry((*parts, name), refused=_LINKED_FOLDER)
                elif wanted:
                    yield self._entry((*parts, name), refused=_LINKED_FILE)
            elif wanted:
                yield self._read(fd, (*parts, name), mode)

    def _enter(self, fd: int, parts: tuple[str, ...]) -> Iterator[FolderFile]:
        try:
            inner_fd = os.open(parts[-1], _FOLDER_FLAGS | os.O_NOFOLLOW, dir_fd=fd)
        except OSError as exc:
            swapped = _is_link(fd, parts[-1])
            yield self._entry(parts, refused=_LINKED_FOLDER if swapped else _unopenable(exc))
            return
        try:
            yield from self.folder(inner_fd, parts)
        finally:
            os.close(inner_fd)

    def _read(self, fd: int, parts: tuple[str, ...], mode: int) -> FolderFile:
        """Read the ordinary file ``parts[-1]`` of the open folder ``fd``; refuse anything else."""
        if not stat.S_ISREG(mode):
            return self._entry(parts, refused=_not_ordinary(mode))
        try:
            file_fd = os.open(parts[-1], _FILE_FLAGS, dir_fd=fd)
        except OSError as exc:
            if _is_link(fd, parts[-1]):  # swapped for a link since it was looked at
                return self._entry(parts, refused=_LINKED_FILE)
            return self._failed(parts, exc)
        with os.fdopen(file_fd, "rb") as file:
            try:
                mode = os.fstat(file.fileno()).st_mode
                if not stat.S_ISREG(mode):  # swapped since it was looked at
                    return self._entry(parts, refused=_not_ordinary(mode))
                return self._entry(parts, content=file.read())
            except OSError as exc:
                return self._failed(parts, exc)

    def _entry(
        self, parts: tuple[str, ...], *, content: bytes | None = None, refused: str = ""
    ) -> FolderFile:
        shown = os.path.join(self.shown, *parts)
        return FolderFile("/".join(parts), shown, content=content, refused=refused)

    def _failed(self, parts: tuple[str, ...], exc: OSError) -> FolderFile:
        # Named by its full path, as opening the file by its path would have said.
        error = OSError(exc.errno, exc.strerror, str(self.top.joinpath(*parts)))
        return FolderFile("/".join(parts), os.path.join(self.shown, *parts), error=error)


def _not_ordinary(mode: int) -> str:
    kind = _KINDS.get(stat.S_IFMT(mode), "a special file")
    return (
        f"this is not an ordinary file (it is {kind}), so it is not read; "
        "save the text as an ordinary file here instead"
    )


def _unopenable(exc: OSError) -> str:
    return f"this folder cannot be opened ({exc.strerror or exc})"


def _is_link(fd: int, name: str) -> bool:
    try:
        return stat.S_ISLNK(os.stat(name, dir_fd=fd, follow_symlinks=False).st_mode)
    except OSError:
        return False


def _points_to_folder(fd: int, name: str) -> bool:
    """True when the link ``name`` leads to a folder; looks at where it leads, opens nothing."""
    try:
        return stat.S_ISDIR(os.stat(name, dir_fd=fd).st_mode)
    except OSError:
        return False
