"""The console's accounts and the record of changes people made through it, as values:
plain frozen dataclasses with no I/O."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

from responder.model import _from_iso, _iso


class Role(StrEnum):
    """What a console account may do: viewers see, editors change."""

    EDITOR = "editor"
    VIEWER = "viewer"


@dataclass(frozen=True)
class Account:
    """A person who may log in to the console; ``password_hash`` is an argon2 hash."""

    name: str
    role: Role
    password_hash: str = field(repr=False)
    created_at: datetime

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "role": self.role.value,
            "password_hash": self.password_hash,
            "created_at": _iso(self.created_at),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Account:
        created = _from_iso(data["created_at"])
        assert created is not None
        return cls(str(data["name"]), Role(data["role"]), str(data["password_hash"]), created)


@dataclass(frozen=True)
class Change:
    """One change made to what the responder does (a publish, a rollback, a user added...):
    who made it, when, and what it was, in words."""

    at: datetime
    who: str
    what: str

    def to_dict(self) -> dict[str, Any]:
        return {"at": _iso(self.at), "who": self.who, "what": self.what}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Change:
        at = _from_iso(data["at"])
        assert at is not None
        return cls(at, str(data["who"]), str(data["what"]))
