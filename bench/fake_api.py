"""A small, fast stand-in for the ABC API for bench/service.py: HTTP/1.1 with keep-alive.

The project's simulator (responder/simulator) is faithful but closes every connection, so a
bench against it measures a new TCP and HTTP connection per reply, which production does not
pay. This server keeps connections open, answers every API call after ``--latency`` seconds
on one asyncio event loop, and records each reply it accepts: the lead, the time (Unix
seconds) and the text. ``GET /_fake/replies`` returns them as ``[[lead, at, text], ...]``
(and forgets them), ``GET /_fake/count`` how many there were; both answer at once.

It implements just what the service calls on the bench's deliveries:

* ``POST /v1/leads/<id>/conversations/reply``: ``201`` with the conversation entry;
* ``GET /v1/leads/<id>/conversations``: an empty conversation (the bench's leads are new);
* ``GET /v1/messaging-channel-connections``: one connected WhatsApp connection, id 123.

Every API call needs ``Authorization: Bearer <--api-key>``. Run
``python -m bench.fake_api --port 8901 --latency 0.2``.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import time

_CONNECTIONS = json.dumps(
    {
        "data": {
            "messaging_channel_connections": [
                {
                    "id": 123,
                    "name": "WhatsApp",
                    "messaging_channel_id": "whatsapp",
                    "default": True,
                    "connected": True,
                }
            ]
        }
    }
).encode()
_EMPTY_CONVERSATION = b'{"data":{"conversations":[]},"meta":{"next_cursor":null}}'
_MAX_BODY = 1 << 20


class FakeApi:
    """The server's state: the replies accepted since the last ``/_fake/replies``."""

    def __init__(self, latency: float, api_key: str) -> None:
        self.latency = latency
        self.auth = f"Bearer {api_key}".encode()
        self.replies: list[tuple[str, float, str]] = []
        self.count = 0

    async def serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        """Answer requests on one connection, in order, until the client closes it."""
        try:
            while True:
                try:
                    head = await reader.readuntil(b"\r\n\r\n")
                except (asyncio.IncompleteReadError, asyncio.LimitOverrunError):
                    return
                lines = head.split(b"\r\n")
                method, target, _ = lines[0].split(b" ", 2)
                headers = {}
                for line in lines[1:]:
                    name, sep, value = line.partition(b":")
                    if sep:
                        headers[name.strip().lower()] = value.strip()
                length = int(headers.get(b"content-length", b"0"))
                if length > _MAX_BODY:
                    return
                body = await reader.readexactly(length) if length else b""
                status, answer = await self.answer(method, target.decode(), headers, body)
                close = headers.get(b"connection", b"").lower() == b"close"
                writer.write(
                    b"HTTP/1.1 %d X\r\nContent-Type: application/json\r\n"
                    b"Content-Length: %d\r\n%s\r\n"
                    % (status, len(answer), b"Connection: close\r\n" if close else b"")
                    + answer
                )
                await writer.drain()
                if close:
                    return
        except (ConnectionError, ValueError):
            return
        finally:
            writer.close()

    async def answer(
        self, method: bytes, target: str, headers: dict[bytes, bytes], body: bytes
    ) -> tuple[int, bytes]:
        path = target.split("?", 1)[0]
        if path == "/_fake/count":
            return 200, str(self.count).encode()
        if path == "/_fake/replies":
            replies, self.replies = self.replies, []
            return 200, json.dumps(replies).encode()
        await asyncio.sleep(self.latency)
        if headers.get(b"authorization") != self.auth:
            return 401, b'{"message":"Unauthorized"}'
        if method == b"POST" and path.startswith("/v1/leads/") and path.endswith("/reply"):
            lead = path[len("/v1/leads/") : -len("/conversations/reply")]
            payload = json.loads(body)
            self.replies.append((lead, time.time(), str(payload.get("content", ""))))
            self.count += 1
            entry = {"lead_id": lead, "content": payload.get("content"), "direction": "outbound"}
            return 201, json.dumps({"data": {"conversation": entry}}).encode()
        if method == b"GET" and path.endswith("/conversations"):
            return 200, _EMPTY_CONVERSATION
        if method == b"GET" and path == "/v1/messaging-channel-connections":
            return 200, _CONNECTIONS
        return 404, b'{"message":"Not found"}'


async def _main(host: str, port: int, latency: float, api_key: str) -> None:
    api = FakeApi(latency, api_key)
    server = await asyncio.start_server(api.serve, host, port, backlog=1024)
    async with server:
        await server.serve_forever()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--latency", type=float, default=0.2)
    parser.add_argument("--api-key", default="sim-key")
    args = parser.parse_args()
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(_main(args.host, args.port, args.latency, args.api_key))


if __name__ == "__main__":
    main()
