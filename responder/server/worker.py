"""The gunicorn worker of the service: one event loop holds the connections, threads run the app.

gunicorn's thread workers give each connection a thread from the moment it is accepted, so a
handful of clients that open a request and stop sending hold every thread. This worker uses
gunicorn's asyncio worker for the connections instead, where a waiting client costs a socket,
and adds the deadlines that worker lacks:

- the first request's headers must arrive within ``RESPONDER_HEADER_TIMEOUT`` of the
  connection (later ones within gunicorn's ``keepalive``), else ``408`` and the connection is
  closed;
- its body within ``RESPONDER_BODY_TIMEOUT`` (responder/server/asgi.py, which also runs the
  Flask app in ``RESPONDER_THREADS`` threads on complete requests only).
"""

from __future__ import annotations

import asyncio
from typing import Any

from gunicorn.asgi.protocol import ASGIProtocol
from gunicorn.workers import gasgi

from responder.config import load_config
from responder.server.asgi import BufferingBridge

__all__ = ["ResponderWorker"]


class ResponderWorker(gasgi.ASGIWorker):  # type: ignore[misc]  # gunicorn has no type hints
    """gunicorn's asyncio worker serving the Flask app through :class:`BufferingBridge`."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.settings = load_config(check=False)

    def init_process(self) -> None:
        # The asyncio worker builds each connection's protocol from the name ASGIProtocol in
        # its module and has no setting for it: point that name at ours, in this process only.
        gasgi.ASGIProtocol = HeaderDeadlineProtocol
        super().init_process()

    def load_wsgi(self) -> None:
        self.asgi = BufferingBridge(
            self.app.wsgi(),
            threads=self.settings.threads,
            max_body=self.settings.max_body_bytes,
            body_timeout=self.settings.body_timeout.total_seconds(),
        )


class HeaderDeadlineProtocol(ASGIProtocol):  # type: ignore[misc]
    """gunicorn's HTTP/1 protocol, closing a connection whose first request headers are late."""

    _header_deadline: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        super().connection_made(transport)
        timeout = self.worker.settings.header_timeout.total_seconds()
        self._header_deadline = self.worker.loop.call_later(timeout, self._headers_late)

    def _on_headers_complete(self) -> Any:
        self._cancel_header_deadline()
        return super()._on_headers_complete()

    def connection_lost(self, exc: Exception | None) -> None:
        self._cancel_header_deadline()
        super().connection_lost(exc)

    def _cancel_header_deadline(self) -> None:
        if self._header_deadline is not None:
            self._header_deadline.cancel()
            self._header_deadline = None

    def _headers_late(self) -> None:
        self._header_deadline = None
        if self._closed:
            return
        self._send_error_response(408, "the request headers did not arrive in time")
        self._close_transport()
        if self._request_ready is not None:
            self._request_ready.set()  # wake the connection's task so it sees the close
