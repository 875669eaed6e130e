"""The local ABC API simulator: endpoints, window, faults, webhook sender, lifecycle."""

from __future__ import annotations

import json
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
import pytest

from responder.errors import ConfigError
from responder.platform import api_bodies, deliveries
from responder.platform.client import AbcClient
from responder.platform.messages import hydrate, needs_hydration
from responder.platform.signature import check_timestamp, verify_signature
from responder.simulator import Simulator

AUTH = {"Authorization": "Bearer sim-key"}
REPLY = {"content": "Hi!", "messaging_channel_connection_id": 123}


class Receiver:
    """A webhook endpoint that records what it receives and answers 200."""

    def __init__(self) -> None:
        self.received: list[tuple[dict[str, str], bytes]] = []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                outer.received.append((dict(self.headers.items()), body))
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, args=(0.05,))
        self.thread.start()
        self.url = f"http://127.0.0.1:{self.server.server_port}/webhooks/abc"

    def close(self) -> None:
        self.server.shutdown()
        self.thread.join()
        self.server.server_close()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    rec = Receiver()
    yield rec
    rec.close()


@pytest.fixture
def sim(receiver: Receiver) -> Iterator[Simulator]:
    with Simulator(webhook_url=receiver.url, webhook_secret="whsec", page_size=2) as simulator:
        yield simulator


@pytest.fixture
def http(sim: Simulator) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=sim.url, timeout=5.0) as client:
        yield client


def reply(
    http: httpx.Client, lead: str = "42", body: dict[str, object] | None = None
) -> httpx.Response:
    payload = {**REPLY, **(body or {})}
    return http.post(f"/v1/leads/{lead}/conversations/reply", json=payload, headers=AUTH)


# -- API -------------------------------------------------------------------------------------


def test_base_url_ends_with_v1(sim: Simulator) -> None:
    assert sim.base_url.startswith("http://127.0.0.1:") and sim.base_url.endswith("/v1")


def test_missing_or_wrong_key_is_a_401_json_error(sim: Simulator, http: httpx.Client) -> None:
    for headers in ({}, {"Authorization": "Bearer nope"}, {"Authorization": "Token sim-key"}):
        response = http.get("/v1/messaging-channel-connections", headers=headers)
        assert response.status_code == 401
        assert response.json()["error"]["code"] == 401


def test_basic_auth_with_the_key_as_password_works(http: httpx.Client) -> None:
    response = http.get("/v1/messaging-channel-connections", auth=("", "sim-key"))
    assert response.status_code == 200


def test_connections_are_configurable(sim: Simulator, http: httpx.Client) -> None:
    sim.set_connections(
        [
            {
                "id": 7,
                "name": "IG",
                "messaging_channel_id": "instagram",
                "default": True,
                "connected": True,
            }
        ]
    )
    payload = http.get("/v1/messaging-channel-connections", headers=AUTH).json()
    assert [c.id for c in api_bodies.parse_connections(payload)] == [7]


def test_conversation_pages_and_cursor(sim: Simulator, http: httpx.Client) -> None:
    for i in range(5):
        sim.add_message("42", f"m{i}", at=timedelta(minutes=10 - i))
    seen: list[str] = []
    cursor: str | None = None
    pages = 0
    while True:
        params = {"cursor": cursor} if cursor else {}
        payload = http.get("/v1/leads/42/conversations", params=params, headers=AUTH).json()
        messages, cursor = api_bodies.parse_conversation(payload)
        assert len(messages) <= 2
        seen += [m.text for m in messages]
        pages += 1
        if cursor is None:
            break
    assert pages == 3 and sorted(seen) == ["m0", "m1", "m2", "m3", "m4"]
    bad = http.get("/v1/leads/42/conversations", params={"cursor": "garbage"}, headers=AUTH)
    assert bad.status_code == 400


def test_reply_is_recorded_and_added_to_the_conversation(
    sim: Simulator, http: httpx.Client
) -> None:
    sim.add_message("42", "Hello", at=timedelta(minutes=1))
    assert reply(http).status_code == 200
    (recorded,) = sim.replies("42")
    assert recorded["content"] == "Hi!"
    last = sim.conversation("42")[-1]
    assert (last["direction"], last["sender_type"], last["content"]) == ("outbound", "bot", "Hi!")
    assert sim.replies("other") == []


@pytest.mark.parametrize(
    ("body", "status"),
    [
        ({"content": ""}, 422),
        ({"messaging_channel_connection_id": "123"}, 422),
        ({"messaging_channel_connection_id": 999}, 404),
        ({"messaging_channel_connection_id": 124}, 400),
        ({"s3_attachment": ""}, 422),
        ({"s3_attachment": 7}, 422),
    ],
)
def test_invalid_replies_are_refused(
    sim: Simulator, http: httpx.Client, body: dict[str, object], status: int
) -> None:
    sim.add_message("42", "Hello")
    assert reply(http, body=body).status_code == status
    assert sim.replies() == []
    assert sim.reply_attempts() == 1


def test_a_replys_attachment_is_recorded_with_it(sim: Simulator, http: httpx.Client) -> None:
    sim.add_message("42", "Hello", at=timedelta(minutes=1))
    assert reply(http, body={"s3_attachment": "uploads/menu.pdf"}).status_code == 200
    assert reply(http).status_code == 200
    first, second = sim.replies("42")
    assert first["s3_attachment"] == "uploads/menu.pdf"
    assert "s3_attachment" not in second


def test_reply_to_an_unknown_lead_is_a_404(http: httpx.Client) -> None:
    assert reply(http, lead="nobody").status_code == 404


# -- the 24-hour window ----------------------------------------------------------------------


def test_window_open_at_23h49m(sim: Simulator, http: httpx.Client) -> None:
    sim.add_message("42", "Hello", at=timedelta(hours=23, minutes=49))
    assert reply(http).status_code == 200


@pytest.mark.parametrize("setup", ["old", "none", "only_outbound"])
def test_window_closed_answers_131047_and_records_nothing(
    sim: Simulator, http: httpx.Client, setup: str
) -> None:
    if setup == "old":
        sim.add_message("42", "Hello", at=timedelta(hours=24, minutes=1))
    elif setup == "none":
        sim.add_lead("42")
    else:
        sim.add_message("42", "Hello", at=timedelta(hours=30))
        sim.add_message(
            "42", "Agent here", direction="outbound", sender_type="user", at=timedelta(minutes=1)
        )
    before = len(sim.conversation("42"))
    response = reply(http)
    assert response.status_code == 400
    assert response.json()["error"]["code"] == 131047
    assert api_bodies.is_window_rejection(response.status_code, response.text)
    assert sim.replies() == [] and len(sim.conversation("42")) == before
    assert sim.reply_attempts() == 1


def test_window_boundary_is_exact() -> None:
    now = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)
    with Simulator(now=lambda: now) as sim, httpx.Client(base_url=sim.url) as http:
        sim.add_message("1", "at the edge", at=now - timedelta(hours=24))
        sim.add_message("2", "just past", at=now - timedelta(hours=24, seconds=1))
        assert reply(http, lead="1").status_code == 200
        assert reply(http, lead="2").status_code == 400


def test_window_is_whatsapp_only(sim: Simulator, http: httpx.Client) -> None:
    sim.set_connections(
        [
            {
                "id": 9,
                "name": "Mail",
                "messaging_channel_id": "email",
                "default": True,
                "connected": True,
            }
        ]
    )
    sim.add_message("42", "Hello", at=timedelta(days=3), channel="email", connection_id=9)
    assert reply(http, body={"messaging_channel_connection_id": 9}).status_code == 200


# -- faults ----------------------------------------------------------------------------------


def test_status_faults_are_one_shot_and_counted(sim: Simulator, http: httpx.Client) -> None:
    sim.add_message("42", "Hello")
    sim.inject({"status": 503, "times": 2})
    assert [reply(http).status_code for _ in range(3)] == [503, 503, 200]
    assert sim.reply_attempts() == 3 and len(sim.replies()) == 1


def test_fault_path_matching(sim: Simulator, http: httpx.Client) -> None:
    sim.add_message("42", "Hello")
    sim.inject({"status": 500, "path": "/v1/messaging-channel-connections"})
    assert http.get("/v1/leads/42/conversations", headers=AUTH).status_code == 200
    assert reply(http).status_code == 200
    assert http.get("/v1/messaging-channel-connections", headers=AUTH).status_code == 500


def test_429_fault_carries_retry_after(sim: Simulator, http: httpx.Client) -> None:
    sim.add_message("42", "Hello")
    sim.inject({"status": 429, "retry_after": "3"})
    response = reply(http)
    assert response.status_code == 429 and response.headers["Retry-After"] == "3"


def test_drop_before_store_stores_nothing(sim: Simulator, http: httpx.Client) -> None:
    sim.add_message("42", "Hello")
    sim.inject({"kind": "drop_before_store"})
    with pytest.raises(httpx.RemoteProtocolError):
        reply(http)
    assert sim.replies() == [] and sim.reply_attempts() == 1


def test_drop_after_store_stores_the_reply(sim: Simulator, http: httpx.Client) -> None:
    sim.add_message("42", "Hello")
    sim.inject({"kind": "drop_after_store"})
    with pytest.raises(httpx.RemoteProtocolError):
        reply(http)
    assert len(sim.replies()) == 1


def test_timeout_after_store_stores_then_stalls(sim: Simulator, http: httpx.Client) -> None:
    sim.add_message("42", "Hello")
    sim.inject({"kind": "timeout_after_store", "seconds": 5})
    with pytest.raises(httpx.ReadTimeout):
        http.post("/v1/leads/42/conversations/reply", json=REPLY, headers=AUTH, timeout=0.3)
    assert len(sim.replies()) == 1


def test_trickle_stores_then_answers_a_byte_at_a_time(sim: Simulator, http: httpx.Client) -> None:
    sim.add_message("42", "Hello")
    sim.inject({"kind": "trickle", "seconds": 0.005})
    path = "/v1/leads/42/conversations/reply"
    with http.stream("POST", path, json=REPLY, headers=AUTH, timeout=2.0) as response:
        chunks = response.iter_raw()
        first = next(chunks)
        assert response.status_code == 200 and first.startswith(b"{")
        assert len(sim.replies()) == 1  # stored before the first byte
        rest = list(chunks)
    # A byte at a time: a busy machine may hand over a few together, never the whole body.
    assert len(rest) > 10 and all(len(chunk) <= 3 for chunk in (first, *rest))
    body = json.loads(first + b"".join(rest))
    assert body["data"]["conversation"]["content"] == "Hi!"


def test_trickle_before_store_stores_once_the_answer_is_out(
    sim: Simulator, http: httpx.Client
) -> None:
    sim.add_message("42", "Hello")
    sim.inject({"kind": "trickle_before_store", "seconds": 0.01, "padding": 20})
    path = "/v1/leads/42/conversations/reply"
    with http.stream("POST", path, json=REPLY, headers=AUTH, timeout=2.0) as response:
        chunks = response.iter_raw()
        assert response.status_code == 200 and next(chunks) == b" "
        assert sim.replies() == []
        body = json.loads(b"".join(chunks))
    assert body["data"]["conversation"]["content"] == "Hi!" and len(sim.replies()) == 1


def test_faults_and_latency_over_http(sim: Simulator, http: httpx.Client) -> None:
    sim.add_message("42", "Hello")
    response = http.post(
        "/_sim/faults", json={"latency": 0.01, "faults": [{"status": 502}, {"status": 504}]}
    )
    assert response.status_code == 200 and response.json()["pending_faults"] == 2
    assert [reply(http).status_code for _ in range(3)] == [502, 504, 200]
    assert http.delete("/_sim/faults").json()["pending_faults"] == 0


@pytest.mark.parametrize(
    "payload", [[], {"faults": [{"kind": "explode"}]}, {"faults": "x"}, {"latency": "slow"}]
)
def test_bad_fault_requests_get_a_sentence(http: httpx.Client, payload: object) -> None:
    response = http.post("/_sim/faults", json=payload)
    assert response.status_code == 400
    assert response.json()["error"]["message"].startswith(("The fault", "Send a JSON"))


def test_reset_forgets_everything(sim: Simulator, http: httpx.Client) -> None:
    sim.add_message("42", "Hello")
    reply(http)
    sim.inject({"status": 503})
    assert http.post("/_sim/reset").status_code == 200
    assert sim.replies() == [] and sim.reply_attempts() == 0
    assert sim.stats()["pending_faults"] == 0
    assert sim.conversation("42") == []


# -- the webhook sender ----------------------------------------------------------------------


def test_say_records_and_delivers_a_signed_delivery(sim: Simulator, receiver: Receiver) -> None:
    response = sim.say("42", "Berapa harga?", lead={"name": "Siti", "locale": "ms"})
    assert isinstance(response, httpx.Response) and response.status_code == 200
    (headers, body) = receiver.received[0]
    verify_signature(body, headers[deliveries.HEADER_SIGNATURE], ["whsec"])
    check_timestamp(headers[deliveries.HEADER_TIMESTAMP], now=time.time())
    delivery = deliveries.parse_delivery(
        body,
        event_header=headers[deliveries.HEADER_EVENT],
        delivery_id=headers[deliveries.HEADER_DELIVERY],
    )
    assert delivery.lead is not None
    assert (delivery.lead.id, delivery.lead.name, delivery.lead.locale) == ("42", "Siti", "ms")
    assert delivery.message is not None and delivery.message.text == "Berapa harga?"
    assert not needs_hydration(delivery.message)
    assert sim.conversation("42")[-1]["content"] == "Berapa harga?"


def test_say_with_omitted_fields_needs_hydration_from_the_conversation(
    sim: Simulator, receiver: Receiver
) -> None:
    sim.say("42", "Hello there", omit=["content", "created_at"])
    _, body = receiver.received[0]
    delivery = deliveries.parse_delivery(body, event_header=None, delivery_id="d")
    assert delivery.message is not None and needs_hydration(delivery.message)
    with AbcClient(sim.base_url, "sim-key") as client:
        conversation = client.conversation("42", deadline=time.monotonic() + 10)
    hydrated = hydrate(delivery.message, conversation)
    assert hydrated is not None and hydrated.text == "Hello there"


def test_say_without_delivering_returns_the_delivery(sim: Simulator, receiver: Receiver) -> None:
    result = sim.say("42", "Agent here", direction="outbound", sender_type="user", deliver=False)
    assert isinstance(result, dict) and receiver.received == []
    delivery = deliveries.parse_delivery(result["body"], event_header=None, delivery_id="d")
    assert delivery.message is not None and delivery.message.sender_type.value == "user"
    verify_signature(result["body"], result["headers"][deliveries.HEADER_SIGNATURE], ["whsec"])


def test_say_without_a_webhook_url_is_a_config_error() -> None:
    with Simulator() as sim, pytest.raises(ConfigError, match="no webhook URL"):
        sim.say("1", "hi")


def test_escalation_is_delivered(sim: Simulator, receiver: Receiver) -> None:
    sim.escalate("42")
    headers, body = receiver.received[0]
    assert headers[deliveries.HEADER_EVENT] == deliveries.EVENT_ESCALATION
    delivery = deliveries.parse_delivery(body, event_header=None, delivery_id="d")
    assert delivery.event_type == deliveries.EVENT_ESCALATION and delivery.lead is not None


def test_say_over_http(sim: Simulator, http: httpx.Client, receiver: Receiver) -> None:
    response = http.post(
        "/_sim/say",
        json={"lead": "42", "text": "Hello", "name": "Aisyah", "locale": "en", "ago_seconds": 60},
    )
    assert response.json() == {
        "delivered": True,
        "webhook_status": 200,
        "webhook_answer": "",
        "log_command": "responder log",
    }
    _, body = receiver.received[0]
    data = json.loads(body)
    assert data["lead"]["name"] == "Aisyah" and data["event_data"]["content"] == "Hello"
    at = datetime.fromisoformat(sim.conversation("42")[0]["created_at"])
    assert timedelta(seconds=50) < datetime.now(UTC) - at < timedelta(minutes=5)
    bad = http.post("/_sim/say", json={"text": "no lead"})
    assert bad.status_code == 400 and "lead" in bad.json()["error"]["message"]
    worse = http.post("/_sim/say", json={"lead": "1", "at": "tuesday"})
    assert worse.status_code == 400 and "ISO 8601" in worse.json()["error"]["message"]


def test_say_over_http_reports_an_unreachable_webhook() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        url = f"http://127.0.0.1:{probe.getsockname()[1]}/webhooks/abc"
    with Simulator(webhook_url=url) as sim, httpx.Client(base_url=sim.url) as http:
        response = http.post("/_sim/say", json={"lead": "1", "text": "hi"})
    assert response.status_code == 502
    assert "could not be reached" in response.json()["error"]["message"]


# -- capacity and lifecycle ------------------------------------------------------------------


def test_a_hundred_concurrent_calls_with_latency() -> None:
    with Simulator(latency=0.2) as sim, AbcClient(sim.base_url, "sim-key") as client:
        results: list[int] = []
        errors: list[BaseException] = []
        start = threading.Barrier(100)

        def call() -> None:
            start.wait()
            try:
                results.append(len(client.connections(deadline=time.monotonic() + 20)))
            except BaseException as exc:  # collected and asserted on below
                errors.append(exc)

        threads = [threading.Thread(target=call) for _ in range(100)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        stats = sim.stats()
    assert errors == [] and results == [2] * 100
    assert stats["requests"] == 100
    # With 0.2 s per call the requests overlap instead of queueing one by one.
    assert stats["peak_in_flight"] >= 30


def test_stop_wakes_stalled_requests_and_leaves_no_threads() -> None:
    baseline = set(threading.enumerate())
    sim = Simulator().start()
    sim.add_message("42", "Hello")
    sim.inject({"kind": "timeout_after_store", "seconds": 60})
    outcome: list[object] = []

    def call() -> None:
        with httpx.Client(base_url=sim.url, timeout=30.0) as http:
            try:
                outcome.append(reply(http))
            except httpx.HTTPError as exc:
                outcome.append(exc)

    caller = threading.Thread(target=call)
    caller.start()
    for _ in range(500):
        if sim.replies():
            break
        time.sleep(0.01)
    assert len(sim.replies()) == 1
    sim.stop()
    caller.join(timeout=30)
    assert not caller.is_alive() and len(outcome) == 1
    assert set(threading.enumerate()) == baseline
    sim.stop()  # a second stop is harmless


@pytest.mark.parametrize("kind", ["trickle", "trickle_before_store"])
def test_stop_cuts_a_trickle_short_and_leaves_no_threads(kind: str) -> None:
    baseline = set(threading.enumerate())
    sim = Simulator().start()
    sim.add_message("42", "Hello")
    sim.inject({"kind": kind, "seconds": 60})
    with httpx.Client(base_url=sim.url, timeout=30.0) as http:
        path = "/v1/leads/42/conversations/reply"
        with http.stream("POST", path, json=REPLY, headers=AUTH) as response:
            chunks = response.iter_raw()
            next(chunks)  # the first byte; the next would come in a minute
            started = time.monotonic()
            sim.stop()
            assert time.monotonic() - started < 10
            with pytest.raises(httpx.RemoteProtocolError):
                list(chunks)
    assert set(threading.enumerate()) == baseline
    assert len(sim.replies()) == (1 if kind == "trickle" else 0)


def test_standalone_prints_its_url_and_stops_on_interrupt() -> None:
    process = subprocess.Popen(
        [sys.executable, "-m", "responder.simulator", "--port", "0", "--latency", "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        line = process.stdout.readline()
        url = line.rsplit(" ", 1)[-1].strip()
        assert url.startswith("http://127.0.0.1:") and url.endswith("/v1")
        with httpx.Client(timeout=5.0) as http:
            response = http.get(url + "/messaging-channel-connections", headers=AUTH)
        assert response.status_code == 200
        process.send_signal(signal.SIGINT)
        assert process.wait(timeout=10) == 0
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
        for stream in (process.stdout, process.stderr):
            if stream is not None:
                stream.close()
