"""The simulator's HTTP face: the ABC API endpoints and the control endpoints, as a Flask app.

:func:`build_app` serves a :class:`~responder.simulator.server.Simulator`: its views read and
change the simulator's :class:`~responder.simulator.state.PlatformState` and use its webhook
sender. Every API view goes through :meth:`_Views.api_call` (counting, latency, faults, auth,
in that order); the control endpoints need no auth. The endpoints and their JSON are
documented in the package docstring (:mod:`responder.simulator`).
"""

from __future__ import annotations

import base64
import binascii
import functools
from collections.abc import Callable, Mapping
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

import httpx
from flask import Flask, Response, jsonify, request

from responder.errors import ConfigError
from responder.platform import deliveries
from responder.simulator import faults
from responder.simulator.state import Refusal

if TYPE_CHECKING:
    from responder.simulator.server import Simulator

ViewResult = faults.ViewResult
_PROFILE_FIELDS = ("name", "email", "phone", "locale", "timezone", "tags", "custom_fields")


def build_app(sim: Simulator) -> Flask:
    """The Flask app serving ``sim``'s API and control endpoints."""
    app = Flask("responder.simulator")
    views = _Views(sim)
    api = views.api
    app.get("/v1/messaging-channel-connections")(api(views.connections))
    app.get("/v1/leads/<lead_id>/conversations")(api(views.conversation))
    app.post("/v1/leads/<lead_id>/conversations/reply")(api(views.reply))
    app.post("/_sim/faults")(views.faults)
    app.delete("/_sim/faults")(views.clear_faults)
    app.post("/_sim/reset")(views.reset)
    app.get("/_sim/state")(views.state)
    app.post("/_sim/say")(views.say)
    return app


class _Views:
    """The view functions, as methods bound to the simulator they serve."""

    def __init__(self, sim: Simulator) -> None:
        self.sim = sim

    def api(self, view: Callable[..., ViewResult]) -> Callable[..., ViewResult]:
        """Decorate an API view with :meth:`api_call`, keeping its name (the endpoint's)."""

        @functools.wraps(view)
        def api_view(**kwargs: Any) -> ViewResult:
            return self.api_call(view, kwargs)

        return api_view

    def api_call(self, view: Callable[..., ViewResult], kwargs: Mapping[str, Any]) -> ViewResult:
        """Run an API view the way the platform would: counted, delayed, faulted, authorised.

        The request is counted (and in flight until answered, a trickled answer until its
        last byte), waits out the latency, takes the first pending fault meant for it, and
        needs the API key, in that order.
        """
        path, method = request.path, request.method
        latency = self.sim.state.begin_request(path, method)
        answer: ViewResult | None = None
        try:
            self.sim.wait(latency)
            fault = self.sim.state.take_fault(path, method)
            early = faults.before_view(fault, self.sim.wait)
            if early is not None:
                return early
            if not authorised(request.headers.get("Authorization", ""), self.sim.api_key):
                return error(401, "Unauthorized: the API key is missing or invalid.")
            answer = faults.run_view(fault, functools.partial(view, **kwargs), self.sim.wait)
            return answer
        finally:
            if isinstance(answer, Response) and answer.is_streamed:
                answer.call_on_close(self.sim.state.end_request)
            else:
                self.sim.state.end_request()

    # -- the ABC API -----------------------------------------------------------------------

    def connections(self) -> ViewResult:
        items = self.sim.state.connections()
        return jsonify({"data": {"messaging_channel_connections": items}})

    def conversation(self, lead_id: str) -> ViewResult:
        offset = decode_cursor(request.args.get("cursor"))
        if offset is None:
            return error(400, "The cursor is not valid.")
        newest_first = self.sim.state.newest_first(lead_id)
        if newest_first is None:
            return error(404, f"Lead {lead_id} not found.")
        size = self.sim.page_size
        page = newest_first[offset : offset + size]
        next_cursor = encode_cursor(offset + size) if offset + size < len(newest_first) else None
        return jsonify({"data": {"conversations": page}, "meta": {"next_cursor": next_cursor}})

    def reply(self, lead_id: str) -> ViewResult:
        payload = request.get_json(silent=True)
        if not isinstance(payload, dict):
            return error(400, "The request body must be a JSON object.")
        content = payload.get("content")
        conn_id = payload.get("messaging_channel_connection_id")
        if not isinstance(content, str) or not content.strip():
            return error(422, "content is required.")
        if not isinstance(conn_id, int) or isinstance(conn_id, bool):
            return error(422, "messaging_channel_connection_id must be an integer.")
        attachment = payload.get("s3_attachment")
        if attachment is not None and (not isinstance(attachment, str) or not attachment.strip()):
            return error(422, "s3_attachment must be a storage reference (a non-empty string).")
        result = self.sim.state.send_reply(lead_id, content, conn_id, attachment=attachment)
        if isinstance(result, Refusal):
            return error(result.status, result.message, code=result.code)
        return jsonify({"data": {"conversation": result}})

    # -- control ---------------------------------------------------------------------------

    def faults(self) -> ViewResult:
        payload = request.get_json(silent=True)
        if not isinstance(payload, dict):
            return error(400, 'Send a JSON object such as {"faults": [{"status": 503}]}.')
        try:
            if "latency" in payload:
                self.sim.set_latency(faults.number(payload["latency"], "latency", float))
            items = payload.get("faults", [])
            if isinstance(items, dict):
                items = [items]
            if not isinstance(items, list) or not all(isinstance(i, dict) for i in items):
                raise ValueError("faults must be a list of objects")
            for item in items:
                self.sim.inject(item)
        except (TypeError, ValueError) as exc:
            return error(400, f"The fault request is not valid: {exc}.")
        return jsonify(self.sim.stats())

    def clear_faults(self) -> ViewResult:
        self.sim.state.clear_faults()
        return jsonify(self.sim.stats())

    def reset(self) -> ViewResult:
        self.sim.reset()
        return jsonify(self.sim.stats())

    def state(self) -> ViewResult:
        return jsonify(self.sim.state.snapshot())

    def say(self) -> ViewResult:
        payload = request.get_json(silent=True)
        if not isinstance(payload, dict) or not str(payload.get("lead") or "").strip():
            return error(400, 'Send a JSON object such as {"lead": "42", "text": "Hi"}.')
        try:
            result = self._say(payload)
        except ValueError as exc:
            return error(400, str(exc))
        except ConfigError as exc:
            return error(409, str(exc))
        except httpx.HTTPError as exc:
            return error(502, f"The webhook at {self.sim.webhook_url} could not be reached: {exc}")
        if isinstance(result, httpx.Response):
            return jsonify(
                {
                    "delivered": True,
                    "webhook_status": result.status_code,
                    "webhook_answer": _answer_status(result),
                    "log_command": self.sim.log_command,
                }
            )
        body = result["body"].decode("utf-8")
        return jsonify({"delivered": False, "headers": result["headers"], "body": body})

    def _say(self, payload: Mapping[str, Any]) -> httpx.Response | dict[str, Any]:
        """Do what a ``/_sim/say`` payload asks: a message from the lead, or an escalation."""
        lead_id = str(payload["lead"]).strip()
        profile = {k: payload[k] for k in _PROFILE_FIELDS if k in payload}
        at = parse_at(payload)
        deliver = payload.get("deliver", True) is True
        if payload.get("event") == deliveries.EVENT_ESCALATION:
            self.sim.add_lead(lead_id, **profile)
            return self.sim.escalate(lead_id, deliver=deliver)
        return self.sim.say(
            lead_id,
            str(payload.get("text") or ""),
            lead=profile,
            at=at,
            deliver=deliver,
            omit=[str(k) for k in payload.get("omit") or ()],
            direction=str(payload.get("direction") or "inbound"),
            sender_type=str(payload.get("sender_type") or "lead"),
        )


def authorised(header: str, api_key: str) -> bool:
    """Whether an ``Authorization`` header carries ``api_key`` (Bearer, or Basic's password)."""
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


def error(status: int, message: str, *, code: int | None = None) -> tuple[Response, int]:
    """The platform's JSON error answer; its ``code`` is the status unless given."""
    body = {"error": {"code": status if code is None else code, "message": message}}
    return jsonify(body), status


def encode_cursor(offset: int) -> str:
    """The opaque ``next_cursor`` for a conversation page starting at ``offset``."""
    return base64.urlsafe_b64encode(f"offset:{offset}".encode()).decode().rstrip("=")


def decode_cursor(cursor: str | None) -> int | None:
    """The offset a cursor stands for (0 for none), or None for a cursor that is not valid."""
    if not cursor:
        return 0
    try:
        text = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
    except (binascii.Error, UnicodeDecodeError, ValueError):
        return None
    prefix, _, number = text.partition(":")
    return int(number) if prefix == "offset" and number.isdigit() else None


def parse_at(payload: Mapping[str, Any]) -> datetime | timedelta | None:
    """When a ``/_sim/say`` message was sent: ``ago_seconds`` before now, ``at``, or now (None).

    Raises ValueError with a readable sentence for a value that is not a time.
    """
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


def _answer_status(response: httpx.Response) -> str:
    """The ``status`` of a webhook's JSON answer (``accepted``, ``duplicate``...), or ""."""
    try:
        answer = response.json()
    except ValueError:
        return ""
    return str(answer.get("status") or "") if isinstance(answer, dict) else ""
