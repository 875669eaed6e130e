"""A local stand-in for the ABC Sales AI API and its webhook sender.

It serves, over real HTTP on loopback, the endpoints the service uses in the shapes
:mod:`responder.platform.shapes` assumes::

    GET  /v1/messaging-channel-connections
    GET  /v1/leads/<id>/conversations          (newest first, ``meta.next_cursor`` pagination)
    POST /v1/leads/<id>/conversations/reply    (WhatsApp's 24-hour window enforced)

plus control endpoints for another process (no auth; bind it to loopback only)::

    POST /_sim/faults    {"latency": 0.2} and/or {"faults": [{"status": 503, "times": 2}, ...]}
    POST /_sim/say       {"lead": "42", "text": "...", "name": ..., "locale": ...}
    POST /_sim/reset     GET /_sim/state

Faults are one-shot and consumed in order by the first request whose path they match
(``"reply"`` = the reply endpoint, the default; ``"*"`` = any API path; else a glob on the
path). Kinds: ``{"status": N}`` (with optional ``"retry_after"`` and ``"body"``),
``{"kind": "timeout_after_store", "seconds": S}``, ``{"kind": "drop_after_store"}``,
``{"kind": "drop_before_store"}``, ``{"kind": "timeout_before_store", "seconds": S}``; each
with an optional ``"times"``.

Run standalone with ``python -m responder.simulator --port 8081 --webhook URL --secret S``.
"""

from __future__ import annotations

import argparse
import base64
import binascii
import contextlib
import fnmatch
import itertools
import socket
import sys
import threading
import time
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from types import TracebackType
from typing import Any, TypeVar

import httpx
from flask import Flask, Response, jsonify, request
from werkzeug.serving import ThreadedWSGIServer, WSGIRequestHandler

from responder.errors import ConfigError
from responder.platform import shapes

_N = TypeVar("_N", int, float)

WINDOW = timedelta(hours=24)
FAULT_KINDS = frozenset(
    {
        "status",
        "timeout_after_store",
        "timeout_before_store",
        "drop_after_store",
        "drop_before_store",
    }
)
DEFAULT_CONNECTIONS: tuple[dict[str, Any], ...] = (
    {
        "id": 123,
        "name": "Main WhatsApp",
        "messaging_channel_id": "whatsapp",
        "default": True,
        "connected": True,
    },
    {
        "id": 124,
        "name": "Old WhatsApp number",
        "messaging_channel_id": "whatsapp",
        "default": False,
        "connected": False,
    },
)
_WINDOW_ERROR = {
    "error": {
        "code": 131047,
        "message": "Re-engagement message: more than 24 hours have passed since the customer "
        "last replied",
    }
}


@dataclass(frozen=True)
class Fault:
    """One injected misbehaviour, used by the first request whose path matches ``path``."""

    kind: str = "status"
    status: int = 503
    path: str = "reply"
    seconds: float = 5.0
    retry_after: str | None = None
    body: Any = None

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Fault:
        """Build a fault from its JSON form; raises ValueError with a readable sentence."""
        kind = str(data.get("kind") or "status")
        if kind not in FAULT_KINDS:
            raise ValueError(f"unknown fault kind {kind!r}; use one of {sorted(FAULT_KINDS)}")
        try:
            status = int(data.get("status", 503))
            seconds = float(data.get("seconds", 5.0))
        except (TypeError, ValueError):
            raise ValueError("a fault's status must be a number, and so must its seconds") from None
        retry_after = data.get("retry_after")
        return cls(
            kind=kind,
            status=status,
            path=str(data.get("path") or "reply"),
            seconds=seconds,
            retry_after=None if retry_after is None else str(retry_after),
            body=data.get("body"),
        )

    def matches(self, path: str, method: str) -> bool:
        if self.path == "reply":
            return method == "POST" and path.endswith("/conversations/reply")
        if self.path == "*":
            return True
        return fnmatch.fnmatchcase(path, self.path)


@dataclass
class _State:
    conversations: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    leads: dict[str, dict[str, Any]] = field(default_factory=dict)
    replies: list[dict[str, Any]] = field(default_factory=list)
    faults: deque[Fault] = field(default_factory=deque)
    reply_attempts: int = 0
    requests: int = 0
    in_flight: int = 0
    peak_in_flight: int = 0


class Simulator:
    """The simulated platform, served in a background thread. Use as a context manager.

    ``base_url`` (after :meth:`start`) ends with ``/v1``. ``page_size`` is the conversation
    page length. ``now`` gives the simulator's clock (for the 24-hour window and default
    message times). All methods are thread-safe.
    """

    def __init__(
        self,
        *,
        api_key: str = "sim-key",
        webhook_url: str | None = None,
        webhook_secret: str = "sim-secret",  # noqa: S107 - the simulator's own made-up secret
        latency: float = 0.0,
        host: str = "127.0.0.1",
        port: int = 0,
        connections: Sequence[Mapping[str, Any]] = DEFAULT_CONNECTIONS,
        page_size: int = 50,
        now: Callable[[], datetime] | None = None,
        quiet: bool = True,
    ) -> None:
        self.api_key = api_key
        self.webhook_url = webhook_url
        self.webhook_secret = webhook_secret
        self.page_size = max(1, page_size)
        self._host = host
        self._port = port
        self._latency = latency
        self._connections = [dict(c) for c in connections]
        self._now = now or (lambda: datetime.now(UTC))
        self._quiet = quiet
        self._lock = threading.Lock()
        self._state = _State()
        self._ids = itertools.count(1000)
        self._stopping = threading.Event()
        self._server: ThreadedWSGIServer | None = None
        self._thread: threading.Thread | None = None
        self._http: httpx.Client | None = None
        self.app = self._build_app()

    # -- lifecycle -------------------------------------------------------------------------

    def start(self) -> Simulator:
        """Bind and serve in a background thread; returns self."""
        if self._server is not None:
            return self
        self._stopping.clear()
        handler = _QuietHandler if self._quiet else _Handler
        server = _Server(self._host, self._port, self.app, handler=handler)
        self._server = server
        self._http = httpx.Client(timeout=httpx.Timeout(10.0))
        self._thread = threading.Thread(
            target=server.serve_forever, kwargs={"poll_interval": 0.05}, name="abc-simulator"
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving, wake and wait for every request thread, close every socket."""
        server, thread = self._server, self._thread
        if server is None or thread is None:
            return
        self._stopping.set()
        server.shutdown()
        thread.join()
        server.server_close()  # joins the request threads (they are not daemons)
        if self._http is not None:
            self._http.close()
        self._server = self._thread = self._http = None

    def __enter__(self) -> Simulator:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    @property
    def url(self) -> str:
        """``http://host:port`` of the running simulator."""
        if self._server is None:
            raise RuntimeError("the simulator is not running; call start() first")
        return f"http://{self._host}:{self._server.server_port}"

    @property
    def base_url(self) -> str:
        """The API base URL, ending with ``/v1``."""
        return self.url + "/v1"

    # -- state, from Python ----------------------------------------------------------------

    def add_lead(self, lead_id: str, **fields: Any) -> dict[str, Any]:
        """Create or update a lead profile (used in delivered ``lead`` objects)."""
        with self._lock:
            return self._lead(str(lead_id), fields)

    def add_message(
        self,
        lead_id: str,
        text: str,
        *,
        direction: str = "inbound",
        sender_type: str = "lead",
        at: datetime | timedelta | None = None,
        channel: str = "whatsapp",
        connection_id: int = 123,
    ) -> dict[str, Any]:
        """Record a message in the lead's conversation and return it as the API shows it.

        ``at`` is when it was created: a datetime, a timedelta meaning that long ago, or None
        for now.
        """
        when = self._resolve(at)
        with self._lock:
            self._lead(str(lead_id), {})
            return self._store_message(
                str(lead_id), text, direction, sender_type, when, channel, connection_id
            )

    def conversation(self, lead_id: str) -> list[dict[str, Any]]:
        """The lead's messages, oldest first."""
        with self._lock:
            return [dict(m) for m in self._state.conversations.get(str(lead_id), [])]

    def replies(self, lead_id: str | None = None) -> list[dict[str, Any]]:
        """Every reply accepted (optionally for one lead), in order."""
        with self._lock:
            return [
                dict(r) for r in self._state.replies if lead_id is None or r["lead_id"] == lead_id
            ]

    def reply_attempts(self) -> int:
        """How many reply requests arrived, refused and faulted ones included."""
        with self._lock:
            return self._state.reply_attempts

    def stats(self) -> dict[str, int]:
        """Request counters: ``requests``, ``reply_attempts``, ``peak_in_flight``."""
        with self._lock:
            return {
                "requests": self._state.requests,
                "reply_attempts": self._state.reply_attempts,
                "peak_in_flight": self._state.peak_in_flight,
                "pending_faults": len(self._state.faults),
            }

    def inject(self, fault: Fault | Mapping[str, Any], *, times: int | None = None) -> None:
        """Queue a one-shot fault (``times`` copies of it; a dict may say ``"times"`` too)."""
        if isinstance(fault, Fault):
            parsed, count = fault, times or 1
        else:
            parsed = Fault.from_dict(fault)
            count = times or _number(fault.get("times", 1), "a fault's times", int)
        with self._lock:
            self._state.faults.extend([parsed] * max(1, count))

    def set_latency(self, seconds: float) -> None:
        """Delay every API call by ``seconds``."""
        with self._lock:
            self._latency = max(0.0, float(seconds))

    def set_connections(self, connections: Sequence[Mapping[str, Any]]) -> None:
        with self._lock:
            self._connections = [dict(c) for c in connections]

    def reset(self) -> None:
        """Forget leads, messages, replies, counters and pending faults; latency to 0."""
        with self._lock:
            in_flight = self._state.in_flight
            self._state = _State(in_flight=in_flight)
            self._latency = 0.0

    # -- the platform's webhook sender -----------------------------------------------------

    def say(
        self,
        lead_id: str,
        text: str,
        *,
        lead: Mapping[str, Any] | None = None,
        at: datetime | timedelta | None = None,
        deliver: bool = True,
        omit: Sequence[str] = (),
        direction: str = "inbound",
        sender_type: str = "lead",
        connection_id: int = 123,
        channel: str = "whatsapp",
        delivery_id: str | None = None,
    ) -> httpx.Response | dict[str, Any]:
        """Record a message and send the ``conversation_created`` delivery for it.

        ``lead`` adds or changes profile fields; ``omit`` drops fields from ``event_data``.
        Returns the webhook's HTTP response, or, with ``deliver=False``, a dict with the
        ``message``, the ``body`` bytes and ``headers`` that would have been sent.
        Raises :class:`ConfigError` when delivering without a webhook URL.
        """
        when = self._resolve(at)
        with self._lock:
            profile = self._lead(str(lead_id), lead or {})
            message = self._store_message(
                str(lead_id), text, direction, sender_type, when, channel, connection_id
            )
        event_data = {k: v for k, v in message.items() if k not in set(omit)}
        return self.deliver(
            shapes.EVENT_CONVERSATION_CREATED,
            event_data,
            profile,
            deliver=deliver,
            delivery_id=delivery_id,
            extra={"message": message},
        )

    def escalate(
        self, lead_id: str, *, reason: str = "The lead asked for a human.", deliver: bool = True
    ) -> httpx.Response | dict[str, Any]:
        """Send a ``leads_escalation_requested`` delivery for the lead."""
        with self._lock:
            profile = self._lead(str(lead_id), {})
        return self.deliver(
            shapes.EVENT_ESCALATION,
            {"lead_id": str(lead_id), "reason": reason},
            profile,
            deliver=deliver,
        )

    def deliver(
        self,
        event_type: str,
        event_data: Mapping[str, Any],
        lead: Mapping[str, Any],
        *,
        deliver: bool = True,
        delivery_id: str | None = None,
        extra: Mapping[str, Any] | None = None,
    ) -> httpx.Response | dict[str, Any]:
        """Sign and POST one delivery to the webhook URL (see :meth:`say` for the result)."""
        body, headers = shapes.build_delivery(
            event_type, event_data, lead, secret=self.webhook_secret, delivery_id=delivery_id
        )
        if not deliver:
            return {**(extra or {}), "body": body, "headers": headers}
        if not self.webhook_url:
            raise ConfigError("The simulator has no webhook URL to deliver to.")
        client = self._http
        if client is None:
            raise RuntimeError("the simulator is not running; call start() first")
        return client.post(self.webhook_url, content=body, headers=headers)

    # -- internals -------------------------------------------------------------------------

    def _resolve(self, at: datetime | timedelta | None) -> datetime:
        if at is None:
            return self._now()
        if isinstance(at, timedelta):
            return self._now() - at
        return at if at.tzinfo else at.replace(tzinfo=UTC)

    def _lead(self, lead_id: str, fields: Mapping[str, Any]) -> dict[str, Any]:
        profile = self._state.leads.setdefault(lead_id, {"id": lead_id, "name": f"Lead {lead_id}"})
        profile.update({k: v for k, v in fields.items() if k != "id"})
        self._state.conversations.setdefault(lead_id, [])
        return dict(profile)

    def _store_message(
        self,
        lead_id: str,
        text: str,
        direction: str,
        sender_type: str,
        when: datetime,
        channel: str,
        connection_id: int,
    ) -> dict[str, Any]:
        message = {
            "id": next(self._ids),
            "lead_id": lead_id,
            "content": text,
            "direction": direction,
            "sender_type": sender_type,
            "messaging_channel_connection_id": connection_id,
            "messaging_channel_id": channel,
            "created_at": _iso(when),
        }
        self._state.conversations.setdefault(lead_id, []).append(message)
        return dict(message)

    def _wait(self, seconds: float) -> None:
        if seconds > 0:
            self._stopping.wait(seconds)

    def _take_fault(self, path: str, method: str) -> Fault | None:
        with self._lock:
            for fault in self._state.faults:
                if fault.matches(path, method):
                    self._state.faults.remove(fault)
                    return fault
        return None

    def _build_app(self) -> Flask:
        app = Flask("responder.simulator")
        sim = self

        def api(view: Callable[..., Response | tuple[Response, int]]) -> Callable[..., Any]:
            """Wraps an API view with counting, latency, faults and auth, in that order."""

            def wrapped(**kwargs: Any) -> Any:
                path, method = request.path, request.method
                with sim._lock:
                    state = sim._state
                    state.requests += 1
                    state.in_flight += 1
                    state.peak_in_flight = max(state.peak_in_flight, state.in_flight)
                    if method == "POST" and path.endswith("/conversations/reply"):
                        state.reply_attempts += 1
                    latency = sim._latency
                try:
                    sim._wait(latency)
                    fault = sim._take_fault(path, method)
                    if fault is not None and fault.kind == "status":
                        return _fault_response(fault)
                    if fault is not None and fault.kind == "drop_before_store":
                        return _drop()
                    if fault is not None and fault.kind == "timeout_before_store":
                        sim._wait(fault.seconds)
                    if not _authorised(sim.api_key):
                        return _error(401, "Unauthorized: the API key is missing or invalid.")
                    result = view(**kwargs)
                    if fault is not None and fault.kind == "drop_after_store":
                        return _drop()
                    if fault is not None and fault.kind == "timeout_after_store":
                        sim._wait(fault.seconds)
                    return result
                finally:
                    with sim._lock:
                        sim._state.in_flight -= 1

            wrapped.__name__ = view.__name__
            return wrapped

        @app.get("/v1/messaging-channel-connections")
        @api
        def connections() -> Response:
            with sim._lock:
                items = [dict(c) for c in sim._connections]
            return jsonify({"data": {"messaging_channel_connections": items}})

        @app.get("/v1/leads/<lead_id>/conversations")
        @api
        def conversation(lead_id: str) -> Response | tuple[Response, int]:
            offset = _decode_cursor(request.args.get("cursor"))
            if offset is None:
                return _error(400, "The cursor is not valid.")
            with sim._lock:
                if lead_id not in sim._state.leads:
                    return _error(404, f"Lead {lead_id} not found.")
                newest_first = list(reversed(sim._state.conversations[lead_id]))
            page = newest_first[offset : offset + sim.page_size]
            more = offset + sim.page_size < len(newest_first)
            next_cursor = _encode_cursor(offset + sim.page_size) if more else None
            return jsonify({"data": {"conversations": page}, "meta": {"next_cursor": next_cursor}})

        @app.post("/v1/leads/<lead_id>/conversations/reply")
        @api
        def reply(lead_id: str) -> Response | tuple[Response, int]:
            payload = request.get_json(silent=True)
            if not isinstance(payload, dict):
                return _error(400, "The request body must be a JSON object.")
            content = payload.get("content")
            conn_id = payload.get("messaging_channel_connection_id")
            if not isinstance(content, str) or not content.strip():
                return _error(422, "content is required.")
            if not isinstance(conn_id, int) or isinstance(conn_id, bool):
                return _error(422, "messaging_channel_connection_id must be an integer.")
            now = sim._now()
            with sim._lock:
                if lead_id not in sim._state.leads:
                    return _error(404, f"Lead {lead_id} not found.")
                connection = next((c for c in sim._connections if c.get("id") == conn_id), None)
                if connection is None:
                    return _error(404, f"Messaging channel connection {conn_id} not found.")
                if not connection.get("connected"):
                    return _error(400, f"Messaging channel connection {conn_id} is disconnected.")
                channel = str(connection.get("messaging_channel_id") or "")
                if channel == "whatsapp" and not _window_open(
                    sim._state.conversations[lead_id], now
                ):
                    return jsonify(_WINDOW_ERROR), 400
                message = sim._store_message(
                    lead_id, content, "outbound", "bot", now, channel, conn_id
                )
                sim._state.replies.append(message)
            return jsonify({"data": {"conversation": message}})

        @app.post("/_sim/faults")
        def faults() -> Response | tuple[Response, int]:
            payload = request.get_json(silent=True)
            if not isinstance(payload, dict):
                return _error(400, 'Send a JSON object such as {"faults": [{"status": 503}]}.')
            try:
                if "latency" in payload:
                    sim.set_latency(_number(payload["latency"], "latency", float))
                items = payload.get("faults", [])
                if isinstance(items, dict):
                    items = [items]
                if not isinstance(items, list) or not all(isinstance(i, dict) for i in items):
                    raise ValueError("faults must be a list of objects")
                for item in items:
                    sim.inject(item)
            except (TypeError, ValueError) as exc:
                return _error(400, f"The fault request is not valid: {exc}.")
            return jsonify(sim.stats())

        @app.delete("/_sim/faults")
        def clear_faults() -> Response:
            with sim._lock:
                sim._state.faults.clear()
            return jsonify(sim.stats())

        @app.post("/_sim/reset")
        def reset() -> Response:
            sim.reset()
            return jsonify(sim.stats())

        @app.get("/_sim/state")
        def state() -> Response:
            with sim._lock:
                conversations = {k: list(v) for k, v in sim._state.conversations.items()}
            return jsonify(
                {**sim.stats(), "replies": sim.replies(), "conversations": conversations}
            )

        @app.post("/_sim/say")
        def say() -> Response | tuple[Response, int]:
            payload = request.get_json(silent=True)
            if not isinstance(payload, dict) or not str(payload.get("lead") or "").strip():
                return _error(400, 'Send a JSON object such as {"lead": "42", "text": "Hi"}.')
            lead_id = str(payload["lead"]).strip()
            profile = {
                k: payload[k]
                for k in ("name", "email", "phone", "locale", "timezone", "tags", "custom_fields")
                if k in payload
            }
            try:
                at = _parse_at(payload)
                if payload.get("event") == shapes.EVENT_ESCALATION:
                    sim.add_lead(lead_id, **profile)
                    result = sim.escalate(lead_id, deliver=payload.get("deliver", True) is True)
                else:
                    result = sim.say(
                        lead_id,
                        str(payload.get("text") or ""),
                        lead=profile,
                        at=at,
                        deliver=payload.get("deliver", True) is True,
                        omit=[str(k) for k in payload.get("omit") or ()],
                        direction=str(payload.get("direction") or "inbound"),
                        sender_type=str(payload.get("sender_type") or "lead"),
                    )
            except ValueError as exc:
                return _error(400, str(exc))
            except ConfigError as exc:
                return _error(409, str(exc))
            except httpx.HTTPError as exc:
                return _error(502, f"The webhook at {sim.webhook_url} could not be reached: {exc}")
            if isinstance(result, httpx.Response):
                return jsonify({"delivered": True, "webhook_status": result.status_code})
            return jsonify(
                {
                    "delivered": False,
                    "headers": result["headers"],
                    "body": result["body"].decode("utf-8"),
                }
            )

        return app


# -- HTTP plumbing ---------------------------------------------------------------------------


class _Handler(WSGIRequestHandler):
    # Werkzeug closes every connection after one response; say so up front.
    protocol_version = "HTTP/1.1"


class _QuietHandler(_Handler):
    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        pass


class _Server(ThreadedWSGIServer):
    # Request threads are joined on close, so stop() leaves none behind.
    daemon_threads = False
    request_queue_size = 512


def _authorised(api_key: str) -> bool:
    header = request.headers.get("Authorization", "")
    scheme, _, credentials = header.partition(" ")
    if scheme.lower() == "bearer":
        return credentials.strip() == api_key
    if scheme.lower() == "basic":
        try:
            decoded = base64.b64decode(credentials.strip(), validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError):
            return False
        return decoded.partition(":")[2] == api_key
    return False


def _number(value: object, name: str, kind: Callable[[Any], _N]) -> _N:
    """``value`` as an int or float; raises ValueError naming ``name`` otherwise."""
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise ValueError(f"{name} must be a number")
    try:
        return kind(value)
    except ValueError:
        raise ValueError(f"{name} must be a number, not {value!r}") from None


def _error(status: int, message: str) -> tuple[Response, int]:
    return jsonify({"error": {"code": status, "message": message}}), status


def _fault_response(fault: Fault) -> tuple[Response, int]:
    body = (
        fault.body
        if fault.body is not None
        else {"error": {"code": fault.status, "message": f"Simulated {fault.status}."}}
    )
    response = jsonify(body)
    if fault.retry_after is not None:
        response.headers["Retry-After"] = fault.retry_after
    return response, fault.status


def _drop() -> Response:
    """Close the connection without answering; the response built here is never sent."""
    sock = request.environ.get("werkzeug.socket")
    if isinstance(sock, socket.socket):
        with contextlib.suppress(OSError):
            sock.shutdown(socket.SHUT_RDWR)
    return Response(b"", status=500)


def _window_open(messages: Sequence[Mapping[str, Any]], now: datetime) -> bool:
    inbound = [
        datetime.fromisoformat(m["created_at"]) for m in messages if m["direction"] == "inbound"
    ]
    return bool(inbound) and now - max(inbound) <= WINDOW


def _encode_cursor(offset: int) -> str:
    return base64.urlsafe_b64encode(f"offset:{offset}".encode()).decode().rstrip("=")


def _decode_cursor(cursor: str | None) -> int | None:
    if not cursor:
        return 0
    try:
        text = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
    except (binascii.Error, UnicodeDecodeError, ValueError):
        return None
    prefix, _, number = text.partition(":")
    return int(number) if prefix == "offset" and number.isdigit() else None


def _parse_at(payload: Mapping[str, Any]) -> datetime | timedelta | None:
    if payload.get("ago_seconds") is not None:
        try:
            return timedelta(seconds=float(payload["ago_seconds"]))
        except (TypeError, ValueError):
            raise ValueError("ago_seconds must be a number of seconds") from None
    at = payload.get("at")
    if at is None:
        return None
    try:
        return datetime.fromisoformat(str(at))
    except ValueError:
        raise ValueError(
            f"at must be an ISO 8601 time such as 2026-11-26T10:15:00Z, not {at!r}"
        ) from None


def _iso(value: datetime) -> str:
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z")


# -- standalone ------------------------------------------------------------------------------


def main(argv: Sequence[str] | None = None) -> int:
    """Serve the simulator in the foreground until interrupted."""
    parser = argparse.ArgumentParser(
        prog="python -m responder.simulator", description="A local ABC Sales AI API simulator."
    )
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8081)
    parser.add_argument("--webhook", default=None, help="where to POST webhook deliveries")
    parser.add_argument("--secret", default="sim-secret", help="webhook signing secret")
    parser.add_argument("--api-key", default="sim-key", help="the API key clients must send")
    parser.add_argument("--latency", type=float, default=0.0, help="seconds added to each call")
    parser.add_argument("--verbose", action="store_true", help="log every request")
    args = parser.parse_args(argv)
    sim = Simulator(
        api_key=args.api_key,
        webhook_url=args.webhook,
        webhook_secret=args.secret,
        latency=args.latency,
        host=args.host,
        port=args.port,
        quiet=not args.verbose,
    )
    try:
        sim.start()
    except OSError as exc:
        print(
            f"The simulator cannot listen on {args.host}:{args.port}: {exc.strerror}.",
            file=sys.stderr,
        )
        return 1
    print(f"ABC API simulator listening on {sim.base_url}", flush=True)
    if args.webhook:
        print(f"Webhook deliveries go to {args.webhook}", flush=True)
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        pass
    finally:
        sim.stop()
    return 0

