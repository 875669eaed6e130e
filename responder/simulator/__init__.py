"""A local stand-in for the ABC Sales AI API and its webhook sender, and the sandbox around it.

It serves, over real HTTP on loopback, the endpoints the service uses in the shapes
:mod:`responder.platform.api_bodies` assumes (``Authorization: Bearer KEY``, or Basic with the key
as the password; 401 otherwise)::

    GET  /v1/messaging-channel-connections
    GET  /v1/leads/<id>/conversations          (newest first, ``meta.next_cursor`` pagination)
    POST /v1/leads/<id>/conversations/reply    (WhatsApp's 24-hour window enforced)

plus control endpoints for another process (no auth; bind it to loopback only)::

    POST   /_sim/faults  {"latency": 0.2} and/or {"faults": [{"status": 503, "times": 2}, ...]}
    DELETE /_sim/faults  (drops the pending faults)
    POST   /_sim/say     {"lead": "42", "text": "...", "name": ..., "locale": ...}
    POST   /_sim/reset   GET /_sim/state

``/_sim/say`` also takes the profile fields ``email``, ``phone``, ``timezone``, ``tags`` and
``custom_fields``; ``"at"`` (ISO 8601) or ``"ago_seconds"``; ``"omit"`` (fields left out of
the delivery); ``"direction"`` and ``"sender_type"``; ``"deliver": false`` (answer with the
signed delivery instead of sending it); ``"event": "leads_escalation_requested"`` (an
escalation instead of a message). Its answer, once delivered, names the webhook's status and
the ``status`` of its answer (``accepted``, ``duplicate``...), and the command that shows the
service's decisions (``--log-command``: ``responder serve`` names its own options).

Faults are one-shot: each API request takes the first pending fault whose path matches it
(``"reply"`` = the reply endpoint, the default; ``"*"`` = any API path; else a glob on the
path). Kinds: ``{"status": N}`` (with optional ``"retry_after"`` and ``"body"``),
``{"kind": "timeout_after_store", "seconds": S}``, ``{"kind": "drop_after_store"}``,
``{"kind": "drop_before_store"}``, ``{"kind": "timeout_before_store", "seconds": S}``,
``{"kind": "trickle", "seconds": S}`` (the view runs and stores its effect, then its answer
goes out one byte every S seconds: status and headers at once, so no read of the client ever
times out), ``{"kind": "trickle_before_store", "seconds": S, "padding": N}`` (200 at once,
then N spaces one every S seconds, and only then the view runs, storing its effect, and its
body follows; a client that hangs up before leaves nothing stored); each with an optional
``"times"``. Stopping the simulator cuts a trickle short (nothing more is sent or stored).

Run standalone with ``python -m responder.simulator --port 8081 --webhook URL --secret S``.

The modules: ``state`` (the platform's data and the 24-hour window), ``faults`` (fault
injection), ``views`` (the Flask app), ``server`` (:class:`Simulator`: lifecycle and the
Python API), ``cli`` (the standalone command), ``sandbox`` (the simulator as a child process
of ``responder serve``).

May import ``responder.platform.deliveries`` (to build deliveries the way the platform would),
``responder.errors``, flask, werkzeug and httpx. The service never imports it; the CLI's
sandbox and the tests do.
"""

from responder.simulator.faults import Fault
from responder.simulator.server import Simulator

__all__ = ["Fault", "Simulator"]
