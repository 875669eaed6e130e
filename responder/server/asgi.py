"""Serve the WSGI app to an event loop: whole requests in, one thread only for complete ones.

A WSGI thread that reads its own request body can be held by any client that stops sending
halfway. This bridge reads every request on the event loop instead, where a waiting client
costs a socket and a few hundred bytes, and hands the app a request only once its body has
arrived in full:

- a body must arrive within ``body_timeout`` of its headers, else ``408`` and the connection
  is closed (headers have their own deadline: responder/server/worker.py);
- a body larger than ``max_body`` is refused with ``413`` as soon as that is known: at once
  from ``Content-Length``, or once a chunked body grows past it;
- the app then runs in a pool of ``threads`` threads with the body in memory, and its
  response goes back whole (the service's answers are small JSON documents).
"""

from __future__ import annotations

import asyncio
import io
import logging
import sys
from collections.abc import Awaitable, Callable, Iterable, MutableMapping
from concurrent.futures import ThreadPoolExecutor
from typing import Any

__all__ = ["BufferingBridge"]

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
WSGIApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]

log = logging.getLogger(__name__)


class BodyRefused(Exception):
    """The request body cannot be handed to the app: ``status`` says why."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


class BufferingBridge:
    """An ASGI app running ``app`` (WSGI) on complete requests only; see the module docstring.

    ``app`` stays reachable as ``.app`` (gunicorn's hooks find the service through it).
    """

    def __init__(self, app: WSGIApp, *, threads: int, max_body: int, body_timeout: float) -> None:
        self.app = app
        self.max_body = max_body
        self.body_timeout = body_timeout
        self._pool = ThreadPoolExecutor(threads, thread_name_prefix="request")

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return  # no lifespan or websocket here (gunicorn_conf switches lifespan off)
        try:
            body = await asyncio.wait_for(self._read_body(scope, receive), self.body_timeout)
        except TimeoutError:
            await _refuse(send, 408, "the request body did not arrive in time")
            return
        except BodyRefused as refused:
            await _refuse(send, refused.status, str(refused))
            return
        if body is None:
            return  # the client went away
        loop = asyncio.get_running_loop()
        status, headers, content = await loop.run_in_executor(
            self._pool, self._call, _environ(scope, body)
        )
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": content})

    def close(self) -> None:
        """Let running requests finish, then stop the threads."""
        self._pool.shutdown(wait=True)

    async def _read_body(self, scope: Scope, receive: Receive) -> bytes | None:
        declared = _content_length(scope)
        if declared is not None and declared > self.max_body:
            raise BodyRefused(413, "payload too large")
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return None
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.max_body:
                raise BodyRefused(413, "payload too large")
            chunks.append(chunk)
            if not message.get("more_body", False):
                return b"".join(chunks)

    def _call(self, environ: dict[str, Any]) -> tuple[int, list[tuple[bytes, bytes]], bytes]:
        """Run the WSGI app on one request; return its whole response."""
        started: list[Any] = []

        def start_response(
            status: str, headers: list[tuple[str, str]], exc_info: Any = None
        ) -> Any:
            started[:] = [status, headers]
            return lambda data: None  # the legacy write() callable; Flask never uses it

        try:
            result = self.app(environ, start_response)
            try:
                content = b"".join(result)
            finally:
                close = getattr(result, "close", None)
                if close is not None:
                    close()
        except Exception:
            log.exception("unexpected error serving %s", environ.get("PATH_INFO"))
            return 500, [(b"content-type", b"application/json")], b'{"error":"internal error"}\n'
        status, headers = started
        return (
            int(status.split(" ", 1)[0]),
            [(name.lower().encode("latin-1"), value.encode("latin-1")) for name, value in headers],
            content,
        )


async def _refuse(send: Send, status: int, message: str) -> None:
    body = b'{"error":"%s"}\n' % message.encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [(b"content-type", b"application/json"), (b"connection", b"close")],
        }
    )
    await send({"type": "http.response.body", "body": body})


def _content_length(scope: Scope) -> int | None:
    for name, value in scope["headers"]:
        if name.lower() == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None  # gunicorn's parser refuses such requests before they get here
    return None


def _environ(scope: Scope, body: bytes) -> dict[str, Any]:
    """The PEP 3333 environ of one complete request."""
    server = scope.get("server") or ("localhost", 80)
    client = scope.get("client") or ("", 0)
    environ: dict[str, Any] = {
        "REQUEST_METHOD": scope["method"],
        "SCRIPT_NAME": scope.get("root_path", "").encode().decode("latin-1"),
        # PEP 3333: the path's bytes as latin-1 text, as a WSGI server would pass them.
        "PATH_INFO": scope["path"].encode().decode("latin-1"),
        "QUERY_STRING": scope.get("query_string", b"").decode("latin-1"),
        "SERVER_NAME": str(server[0]),
        "SERVER_PORT": str(server[1]),
        "SERVER_PROTOCOL": f"HTTP/{scope.get('http_version', '1.1')}",
        "REMOTE_ADDR": str(client[0]),
        "REMOTE_PORT": str(client[1]),
        "CONTENT_LENGTH": str(len(body)),
        "wsgi.version": (1, 0),
        "wsgi.url_scheme": scope.get("scheme", "http"),
        "wsgi.input": io.BytesIO(body),
        "wsgi.errors": sys.stderr,
        "wsgi.multithread": True,
        "wsgi.multiprocess": True,
        "wsgi.run_once": False,
        "wsgi.input_terminated": True,
    }
    for raw_name, raw_value in scope["headers"]:
        name = raw_name.decode("latin-1").upper().replace("-", "_")
        value = raw_value.decode("latin-1")
        if name == "CONTENT_TYPE":
            environ[name] = value
            continue
        if name in ("CONTENT_LENGTH", "TRANSFER_ENCODING"):
            continue  # the body is whole now: its length is the framing, whatever carried it
        key = f"HTTP_{name}"
        environ[key] = f"{environ[key]},{value}" if key in environ else value
    return environ
