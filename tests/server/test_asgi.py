"""The buffering bridge: the app sees complete requests only, in a PEP 3333 environ."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterable
from typing import Any

import pytest

from responder.server.asgi import BufferingBridge

Environ = dict[str, Any]


def echo(seen: list[Environ]) -> Callable[..., Iterable[bytes]]:
    """A WSGI app that records its environ and answers with the body it read."""

    def app(environ: Environ, start_response: Callable[..., Any]) -> Iterable[bytes]:
        seen.append(environ)
        body = environ["wsgi.input"].read()
        start_response("201 Created", [("Content-Type", "text/plain"), ("X-Seen", "yes")])
        return [b"got:", body]

    return app


def scope(headers: list[tuple[bytes, bytes]], path: str = "/webhook") -> dict[str, Any]:
    return {
        "type": "http",
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": path,
        "query_string": b"a=1",
        "root_path": "",
        "headers": headers,
        "server": ("127.0.0.1", 8080),
        "client": ("10.0.0.9", 5555),
    }


def call(
    bridge: BufferingBridge,
    request_scope: dict[str, Any],
    messages: list[dict[str, Any]],
    *,
    then_stall: bool = False,
) -> list[dict[str, Any]]:
    """Run one request through ``bridge``; return what it sent."""
    sent: list[dict[str, Any]] = []
    pending = list(messages)

    async def receive() -> dict[str, Any]:
        if pending:
            return pending.pop(0)
        if then_stall:
            await asyncio.sleep(3600)
        return {"type": "http.disconnect"}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    asyncio.run(bridge(request_scope, receive, send))
    return sent


@pytest.fixture
def seen() -> list[Environ]:
    return []


@pytest.fixture
def bridge(seen: list[Environ]) -> Iterable[BufferingBridge]:
    bridge = BufferingBridge(echo(seen), threads=2, max_body=10, body_timeout=0.2)
    yield bridge
    bridge.close()


def test_the_app_gets_the_whole_body_and_its_response_goes_back(
    bridge: BufferingBridge, seen: list[Environ]
) -> None:
    sent = call(
        bridge,
        scope([(b"transfer-encoding", b"chunked"), (b"content-type", b"text/plain")]),
        [
            {"type": "http.request", "body": b"ab", "more_body": True},
            {"type": "http.request", "body": b"cd", "more_body": False},
        ],
    )
    assert sent == [
        {
            "type": "http.response.start",
            "status": 201,
            "headers": [(b"content-type", b"text/plain"), (b"x-seen", b"yes")],
        },
        {"type": "http.response.body", "body": b"got:abcd"},
    ]
    [environ] = seen
    assert environ["CONTENT_LENGTH"] == "4" and environ["CONTENT_TYPE"] == "text/plain"
    assert "HTTP_TRANSFER_ENCODING" not in environ  # the app reads a plain, complete body


def test_the_environ_carries_the_request_as_a_wsgi_server_would(
    bridge: BufferingBridge, seen: list[Environ]
) -> None:
    headers = [(b"x-abc-signature", b"sig"), (b"accept", b"a"), (b"accept", b"b")]
    call(bridge, scope(headers, path="/caf\u00e9"), [{"type": "http.request", "body": b""}])
    [environ] = seen
    assert environ["REQUEST_METHOD"] == "POST"
    assert environ["PATH_INFO"] == "/caf\u00e9".encode().decode("latin-1")
    assert environ["QUERY_STRING"] == "a=1"
    assert environ["HTTP_X_ABC_SIGNATURE"] == "sig"
    assert environ["HTTP_ACCEPT"] == "a,b"
    assert environ["REMOTE_ADDR"] == "10.0.0.9"
    assert (environ["SERVER_NAME"], environ["SERVER_PORT"]) == ("127.0.0.1", "8080")


def test_a_declared_length_over_the_limit_is_413_before_any_byte_is_read(
    bridge: BufferingBridge, seen: list[Environ]
) -> None:
    sent = call(bridge, scope([(b"content-length", b"11")]), [], then_stall=True)
    assert sent[0]["status"] == 413 and not seen


def test_a_chunked_body_growing_past_the_limit_is_413(
    bridge: BufferingBridge, seen: list[Environ]
) -> None:
    chunk = {"type": "http.request", "body": b"123456", "more_body": True}
    sent = call(bridge, scope([(b"transfer-encoding", b"chunked")]), [chunk, chunk])
    assert sent[0]["status"] == 413 and not seen


def test_a_body_that_stops_arriving_is_408_and_never_reaches_the_app(
    bridge: BufferingBridge, seen: list[Environ]
) -> None:
    first = {"type": "http.request", "body": b"12", "more_body": True}
    sent = call(bridge, scope([(b"content-length", b"5")]), [first], then_stall=True)
    assert sent[0]["status"] == 408 and (b"connection", b"close") in sent[0]["headers"]
    assert b"did not arrive in time" in sent[1]["body"] and not seen


def test_a_client_that_leaves_mid_body_costs_the_app_nothing(
    bridge: BufferingBridge, seen: list[Environ]
) -> None:
    first = {"type": "http.request", "body": b"12", "more_body": True}
    assert call(bridge, scope([]), [first]) == [] and not seen


def test_an_app_that_raises_gives_a_plain_500() -> None:
    def broken(environ: Environ, start_response: Callable[..., Any]) -> Iterable[bytes]:
        raise RuntimeError("boom")

    bridge = BufferingBridge(broken, threads=1, max_body=10, body_timeout=1)
    try:
        sent = call(bridge, scope([]), [{"type": "http.request", "body": b""}])
    finally:
        bridge.close()
    assert sent[0]["status"] == 500 and b"boom" not in sent[1]["body"]
