"""Fault injection: what a queued fault is, which request it hits, and how it misbehaves.

A :class:`Fault` is parsed from its JSON form, matched against a request's path and method,
and then applied around the view: :func:`before_view` may answer in the view's place (a
status, a dropped connection) or stall first; :func:`run_view` runs the view and may drop,
stall or trickle its answer, or trickle first and run the view only at the end. The kinds and
the JSON form are documented in the package docstring (:mod:`responder.simulator`).
"""

from __future__ import annotations

import contextlib
import fnmatch
import socket
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

from flask import Response, jsonify, request, stream_with_context

_N = TypeVar("_N", int, float)

FAULT_KINDS = frozenset(
    {
        "status",
        "timeout_after_store",
        "timeout_before_store",
        "drop_after_store",
        "drop_before_store",
        "trickle",
        "trickle_before_store",
    }
)

ViewResult = Response | tuple[Response, int]

Wait = Callable[[float], bool]
"""Sleeps for a number of seconds (the simulator's, which wakes early when it stops); False
when it woke because the simulator stops."""


@dataclass(frozen=True)
class Fault:
    """One injected misbehaviour, used by the first request whose path matches ``path``."""

    kind: str = "status"
    status: int = 503
    path: str = "reply"
    seconds: float = 5.0
    retry_after: str | None = None
    body: Any = None
    padding: int = 100

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Fault:
        """Build a fault from its JSON form; raises ValueError with a readable sentence."""
        kind = str(data.get("kind") or "status")
        if kind not in FAULT_KINDS:
            raise ValueError(f"unknown fault kind {kind!r}; use one of {sorted(FAULT_KINDS)}")
        try:
            status = int(data.get("status", 503))
            seconds = float(data.get("seconds", 5.0))
            padding = int(data.get("padding", 100))
        except (TypeError, ValueError):
            raise ValueError(
                "a fault's status must be a number, and so must its seconds and padding"
            ) from None
        retry_after = data.get("retry_after")
        return cls(
            kind=kind,
            status=status,
            path=str(data.get("path") or "reply"),
            seconds=seconds,
            retry_after=None if retry_after is None else str(retry_after),
            body=data.get("body"),
            padding=padding,
        )

    def matches(self, path: str, method: str) -> bool:
        """Whether a request for ``method path`` is one this fault is meant for."""
        if self.path == "reply":
            return method == "POST" and path.endswith("/conversations/reply")
        if self.path == "*":
            return True
        return fnmatch.fnmatchcase(path, self.path)


def copies(fault: Fault | Mapping[str, Any], times: int | None = None) -> list[Fault]:
    """The faults to queue for ``fault``: ``times`` copies, else as many as a dict's ``"times"``.

    Always at least one. Raises ValueError (a readable sentence) for a dict that is not a
    valid fault.
    """
    if isinstance(fault, Fault):
        parsed, count = fault, times or 1
    else:
        parsed = Fault.from_dict(fault)
        count = times or number(fault.get("times", 1), "a fault's times", int)
    return [parsed] * max(1, count)


def number(value: object, name: str, kind: Callable[[Any], _N]) -> _N:
    """``value`` as an int or float; raises ValueError naming ``name`` otherwise."""
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise ValueError(f"{name} must be a number")
    try:
        return kind(value)
    except ValueError:
        raise ValueError(f"{name} must be a number, not {value!r}") from None


def before_view(fault: Fault | None, wait: Wait) -> ViewResult | None:
    """Apply ``fault`` before the view runs: the answer to send instead of the view's, or None.

    A ``timeout_before_store`` fault stalls here and then lets the view run.
    """
    if fault is None:
        return None
    if fault.kind == "status":
        return status_response(fault)
    if fault.kind == "drop_before_store":
        return drop()
    if fault.kind == "timeout_before_store":
        wait(fault.seconds)
    return None


def run_view(fault: Fault | None, view: Callable[[], ViewResult], wait: Wait) -> ViewResult:
    """Run ``view`` under ``fault`` and return the answer to send.

    A ``drop_after_store`` fault drops the view's answer, a ``timeout_after_store`` fault
    stalls and then lets it go, a ``trickle`` fault sends it one byte every ``seconds``; a
    ``trickle_before_store`` fault answers at once and runs the view only at the end.
    """
    if fault is not None and fault.kind == "trickle_before_store":
        return trickle_before_store(fault, view, wait)
    result = view()
    if fault is None:
        return result
    if fault.kind == "drop_after_store":
        return drop()
    if fault.kind == "timeout_after_store":
        wait(fault.seconds)
    if fault.kind == "trickle":
        return trickle(result, fault.seconds, wait)
    return result


def trickle(result: ViewResult, seconds: float, wait: Wait) -> Response:
    """``result`` streamed one byte every ``seconds``, under its own status and headers.

    The status line, the headers (with the full ``Content-Length``) and the first byte go out
    at once: every read of a client gets something well within its read timeout, and only a
    deadline on the whole call ends it. When the simulator stops, the rest is never sent.
    """
    response, status = _split(result)
    body = response.get_data()

    def drip() -> Iterator[bytes]:
        for index in range(len(body)):
            if index and not wait(seconds):
                return
            yield body[index : index + 1]

    return Response(drip(), status=status, headers=response.headers, direct_passthrough=True)


def trickle_before_store(fault: Fault, view: Callable[[], ViewResult], wait: Wait) -> Response:
    """A 200 answer that sends ``fault.padding`` spaces, one every ``fault.seconds``, and only
    then runs ``view`` (which stores its effect) and sends its body.

    The spaces are JSON's leading whitespace, so the whole answer still reads as the view's.
    Meant for requests the view accepts: the status is 200 whatever it says. A client that
    hangs up during the spaces leaves nothing stored (the next byte's write fails and the view
    never runs), as does stopping the simulator.
    """

    def drip() -> Iterator[bytes]:
        for index in range(fault.padding):
            if index and not wait(fault.seconds):
                drop()  # cut short, not a complete answer of blanks
                return
            yield b" "
        yield _split(view())[0].get_data()

    return Response(stream_with_context(drip()), status=200, mimetype="application/json")


def _split(result: ViewResult) -> tuple[Response, int]:
    return result if isinstance(result, tuple) else (result, result.status_code)


def status_response(fault: Fault) -> tuple[Response, int]:
    """The answer of a ``status`` fault: its body (or a generic error) and ``Retry-After``."""
    body = (
        fault.body
        if fault.body is not None
        else {"error": {"code": fault.status, "message": f"Simulated {fault.status}."}}
    )
    response = jsonify(body)
    if fault.retry_after is not None:
        response.headers["Retry-After"] = fault.retry_after
    return response, fault.status


def drop() -> Response:
    """Close the connection without answering; the response built here is never sent."""
    sock = request.environ.get("werkzeug.socket")
    if isinstance(sock, socket.socket):
        with contextlib.suppress(OSError):
            sock.shutdown(socket.SHUT_RDWR)
    return Response(b"", status=500)
