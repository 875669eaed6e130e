"""A published rule book as a value: every rule file and template, where it came from, and
the hash that names its content. Plain frozen dataclasses with no I/O."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

from responder.model import _from_iso, _iso


class ReleaseSource(StrEnum):
    """Where a release came from."""

    FOLDER = "folder"
    CONSOLE = "console"
    ROLLBACK = "rollback"
    CLI = "cli"


@dataclass(frozen=True)
class Release:
    """One complete rule book as published: every rule file and template, and its story.

    ``files`` maps ``rules/<name>`` and ``templates/<name>`` to their text; ``content_hash``
    is :func:`content_hash` of them; ``report`` is the check report it was published with.
    A summary (from a listing) has no ``files``.
    """

    number: int
    created_at: datetime
    author: str
    source: ReleaseSource
    note: str
    content_hash: str
    report: str
    files: Mapping[str, str] = field(default_factory=dict)

    def meta(self) -> dict[str, Any]:
        """Everything but the files, as JSON-ready values."""
        return {
            "number": self.number,
            "created_at": _iso(self.created_at),
            "author": self.author,
            "source": self.source.value,
            "note": self.note,
            "content_hash": self.content_hash,
            "report": self.report,
        }

    @classmethod
    def from_meta(cls, meta: Mapping[str, Any], files: Mapping[str, str] | None = None) -> Release:
        created = _from_iso(meta["created_at"])
        assert created is not None
        return cls(
            number=int(meta["number"]),
            created_at=created,
            author=str(meta["author"]),
            source=ReleaseSource(meta["source"]),
            note=str(meta["note"]),
            content_hash=str(meta["content_hash"]),
            report=str(meta["report"]),
            files=dict(files or {}),
        )


def content_hash(files: Mapping[str, str]) -> str:
    """A hash of a rule book's files (names and texts), the same on every machine."""
    digest = hashlib.sha256()
    for name in sorted(files):
        for part in (name, files[name]):
            data = part.encode("utf-8", "surrogatepass")
            digest.update(len(data).to_bytes(8, "big"))
            digest.update(data)
    return digest.hexdigest()
