"""The simulator as a running server: :class:`Simulator`, its lifecycle and its Python API.

A :class:`Simulator` serves the app from :mod:`responder.simulator.views` over real HTTP
on loopback, in a background thread, and lets a test (or the CLI) set up the platform's data,
inject faults, read what was received, and send the platform's webhook deliveries.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from types import TracebackType
from typing import Any

import httpx
from werkzeug.serving import ThreadedWSGIServer, WSGIRequestHandler

from responder.errors import ConfigError
from responder.platform import deliveries
from responder.simulator import faults
from responder.simulator.faults import Fault
from responder.simulator.state import DEFAULT_CONNECTIONS, PlatformState
from responder.simulator.views import build_app


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
        log_command: str = "responder log",
    ) -> None:
        self.api_key = api_key
        # The command that shows the decisions of the service this simulator talks to, with
        # the options it was started with: named by /_sim/say, for 'responder send'.
        self.log_command = log_command
        self.webhook_url = webhook_url
        self.webhook_secret = webhook_secret
        self.page_size = max(1, page_size)
        self.state = PlatformState(connections=connections, latency=latency, now=now)
        self._host = host
        self._port = port
        self._quiet = quiet
        self._stopping = threading.Event()
        self._server: ThreadedWSGIServer | None = None
        self._thread: threading.Thread | None = None
        self._http: httpx.Client | None = None
        self.app = build_app(self)

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

    def wait(self, seconds: float) -> bool:
        """Sleep ``seconds`` (if positive), but wake as soon as :meth:`stop` is called.

        Returns False when the simulator is stopping (woken early, or already stopping).
        """
        if seconds > 0:
            self._stopping.wait(seconds)
        return not self._stopping.is_set()

    # -- state, from Python ----------------------------------------------------------------

    def add_lead(self, lead_id: str, **fields: Any) -> dict[str, Any]:
        """Create or update a lead profile (used in delivered ``lead`` objects)."""
        return self.state.add_lead(str(lead_id), fields)

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
        _, message = self.state.add_message(
            str(lead_id),
            text,
            when=self._resolve(at),
            direction=direction,
            sender_type=sender_type,
            channel=channel,
            connection_id=connection_id,
        )
        return message

    def conversation(self, lead_id: str) -> list[dict[str, Any]]:
        """The lead's messages, oldest first."""
        return self.state.conversation(str(lead_id))

    def replies(self, lead_id: str | None = None) -> list[dict[str, Any]]:
        """Every reply accepted (optionally for one lead), in order."""
        return self.state.replies(lead_id)

    def reply_attempts(self) -> int:
        """How many reply requests arrived, refused and faulted ones included."""
        return self.state.reply_attempts()

    def stats(self) -> dict[str, int]:
        """Counters: ``requests``, ``reply_attempts``, ``peak_in_flight``, ``pending_faults``."""
        return self.state.stats()

    def inject(self, fault: Fault | Mapping[str, Any], *, times: int | None = None) -> None:
        """Queue a one-shot fault (``times`` copies of it; a dict may say ``"times"`` too)."""
        self.state.add_faults(faults.copies(fault, times))

    def set_latency(self, seconds: float) -> None:
        """Delay every API call by ``seconds``."""
        self.state.set_latency(seconds)

    def set_connections(self, connections: Sequence[Mapping[str, Any]]) -> None:
        """Replace the messaging channel connections the API lists and accepts replies on."""
        self.state.set_connections(connections)

    def reset(self) -> None:
        """Forget leads, messages, replies, counters and pending faults; latency to 0."""
        self.state.reset()

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
        profile, message = self.state.add_message(
            str(lead_id),
            text,
            when=self._resolve(at),
            direction=direction,
            sender_type=sender_type,
            channel=channel,
            connection_id=connection_id,
            profile=lead,
        )
        event_data = {k: v for k, v in message.items() if k not in set(omit)}
        return self.deliver(
            deliveries.EVENT_CONVERSATION_CREATED,
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
        profile = self.state.add_lead(str(lead_id), {})
        return self.deliver(
            deliveries.EVENT_ESCALATION,
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
        body, headers = deliveries.build_delivery(
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

    def _resolve(self, at: datetime | timedelta | None) -> datetime:
        """``at`` as a time: now for None, that long before now for a timedelta, UTC if naive."""
        if at is None:
            return self.state.now()
        if isinstance(at, timedelta):
            return self.state.now() - at
        return at if at.tzinfo else at.replace(tzinfo=UTC)


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
