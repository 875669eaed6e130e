"""Which channel connection a reply goes out on, with the company's connections cached."""

from __future__ import annotations

import threading
from collections.abc import Callable

from responder.model import Connection, Message
from responder.ports import PlatformApi


class ConnectionCache:
    """The company's messaging channel connections, read from the API at most once per
    ``ttl`` seconds (of ``monotonic``) and shared by every sender thread."""

    def __init__(self, ttl: float, monotonic: Callable[[], float]) -> None:
        self._ttl = ttl
        self._monotonic = monotonic
        self._cached: tuple[float, list[Connection]] | None = None
        self._lock = threading.Lock()

    def reply_connection(self, api: PlatformApi, message: Message, deadline: float) -> int | None:
        """The connection the message came in on, else the default connected one, else any
        connected one; None when none is connected."""
        if message.connection_id is not None:
            return message.connection_id
        connected = [c for c in self._connections(api, deadline) if c.connected]
        chosen = next((c for c in connected if c.default), connected[0] if connected else None)
        return chosen.id if chosen else None

    def forget(self) -> None:
        """Read the connections afresh next time (the platform refused one of them)."""
        with self._lock:
            self._cached = None

    def _connections(self, api: PlatformApi, deadline: float) -> list[Connection]:
        with self._lock:
            cached = self._cached
        if cached is not None and self._monotonic() < cached[0]:
            return cached[1]
        connections = api.connections(deadline=deadline)
        with self._lock:
            self._cached = (self._monotonic() + self._ttl, connections)
        return connections
