"""A whole run's log, plain and JSON: JSON lines parse and name the message's fields, and no
secret or message text beyond a short prefix appears in either format."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import httpx
import pytest

from responder.simulator import Simulator
from responder.store import open_store
from tests.harness import ROOT, Gunicorn, outcomes

API_KEY = "key-7Hq2VxR9pLm4Ws8T"
SECRET = "whsec-Zk3Nf6Yb1Qd5Jr0U"
# The private part of each message: past any prefix a log line may show.
PRIVATE = "my passport number is K8812734 and I live at 14 Jalan Mawar"
ANSWERED = f"What are your opening hours? {PRIVATE}"
UNANSWERED = f"Zebra crossings and marmalade, {PRIVATE}"


@pytest.fixture
def sim() -> Iterator[Simulator]:
    with Simulator(api_key=API_KEY, webhook_secret=SECRET) as simulator:
        yield simulator


def run(sim: Simulator, tmp_path: Path, log_format: str) -> str:
    """Serve a sent reply, an unanswered message, a duplicate, a forged delivery and a closed
    window under gunicorn at log level debug; the whole output."""
    db = tmp_path / f"{log_format}.db"
    env = {
        "ABC_API_KEY": API_KEY,
        "ABC_API_URL": sim.base_url,
        "ABC_WEBHOOK_SECRET": SECRET,
        "RESPONDER_STORE": str(db),
        "RESPONDER_RULES": str(ROOT / "rules"),
        "RESPONDER_TEMPLATES": str(ROOT / "templates"),
        "RESPONDER_LOG_LEVEL": "debug",
        "RESPONDER_LOG_FORMAT": log_format,
        "RESPONDER_ACCESS_LOG": "-",
    }
    with Gunicorn(env, workers=2) as server:
        sim.webhook_url = f"{server.url}/webhook"
        signed = sim.say("1", ANSWERED, deliver=False)
        assert isinstance(signed, dict)
        body, headers = signed["body"], signed["headers"]
        with httpx.Client(timeout=10) as client:
            assert client.post(sim.webhook_url, content=body, headers=headers).status_code == 202
            assert client.post(sim.webhook_url, content=body, headers=headers).status_code == 200
            forged = {**headers, "X-AbcSalesAI-Signature": "sha256=" + "0" * 64}
            assert client.post(sim.webhook_url, content=body, headers=forged).status_code == 401
        sim.say("2", UNANSWERED)
        sim.say("3", ANSWERED, at=timedelta(hours=25))
        store = open_store(str(db))
        try:
            outcomes(store, "1", count=2)
            outcomes(store, "2")
            outcomes(store, "3")
        finally:
            store.close()
        httpx.get(f"{server.url}/metrics", timeout=10)
    return server.output()


@pytest.mark.parametrize("log_format", ["plain", "json"])
def test_no_secret_and_no_message_text_in_a_whole_run(
    sim: Simulator, tmp_path: Path, log_format: str
) -> None:
    output = run(sim, tmp_path, log_format)
    assert "outcome=sent" in output or '"outcome": "sent"' in output  # the run was logged
    for secret in (API_KEY, SECRET, PRIVATE, PRIVATE[:20], "K8812734"):
        assert secret not in output, secret


def test_json_lines_parse_and_follow_a_message(sim: Simulator, tmp_path: Path) -> None:
    lines = [line for line in run(sim, tmp_path, "json").splitlines() if line.strip()]
    records = [json.loads(line) for line in lines]  # every line, gunicorn's included
    assert all({"time", "level", "logger", "message"} <= set(r) for r in records)
    [sent] = [r for r in records if r.get("outcome") == "sent" and r.get("lead") == "1"]
    assert sent["rule"] == "opening-hours" and sent["release"] == 1
    assert sent["delivery_id"] and sent["message_id"] and sent["key"] == f"msg:{sent['message_id']}"
    [duplicate] = [r for r in records if r.get("outcome") == "duplicate"]
    assert duplicate["message_id"] == sent["message_id"] and duplicate["lead"] == "1"
    [closed] = [r for r in records if r.get("outcome") == "window_closed"]
    assert closed["lead"] == "3"
    assert any(r["logger"] == "gunicorn.error" for r in records)
