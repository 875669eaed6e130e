"""The service over HTTP when its store does not answer, and what it lets out about itself."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from responder.server.web import create_app
from responder.simulator import Simulator
from tests.harness import ROOT, SECRET, Running, SilentServer, serve_in_thread

# A store that does not answer must cost a request no more than this: the platform is told 503
# in time, and delivers again later.
BOUND = 2.0


def config(store_url: str, **overrides: Any) -> dict[str, Any]:
    return {
        "api_key": "sim-key",
        "api_url": "http://127.0.0.1:9/v1",  # never called: nothing is accepted
        "webhook_secrets": (SECRET,),
        "rules_dir": ROOT / "rules",
        "templates_dir": ROOT / "templates",
        "store_url": store_url,
        **overrides,
    }


@pytest.fixture
def hung_redis() -> Iterator[tuple[SilentServer, Running]]:
    with (
        SilentServer() as redis,
        serve_in_thread(config(f"redis://127.0.0.1:{redis.port}/0")) as service,
    ):
        yield redis, service


def test_the_webhook_answers_503_in_time_when_redis_never_answers(
    hung_redis: tuple[SilentServer, Running],
) -> None:
    _, service = hung_redis
    delivery = Simulator(webhook_secret=SECRET).say("1", "Opening hours?", deliver=False)
    assert isinstance(delivery, dict)
    started = time.monotonic()
    answer = httpx.post(
        f"{service.url}/webhook", content=delivery["body"], headers=delivery["headers"], timeout=60
    )
    assert answer.status_code == 503 and time.monotonic() - started < BOUND


def test_readiness_answers_in_time_and_tells_nothing_internal(
    hung_redis: tuple[SilentServer, Running], caplog: pytest.LogCaptureFixture
) -> None:
    redis, service = hung_redis
    started = time.monotonic()
    ready = httpx.get(f"{service.url}/readyz", timeout=60)
    assert ready.status_code == 503 and time.monotonic() - started < BOUND
    assert ready.json() == {"status": "not ready", "reason": "store unavailable"}
    # The details are in the log, for the operator.
    assert f"127.0.0.1:{redis.port}" in caplog.text


def test_credentials_in_the_api_url_stay_out_of_the_start_up_line(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level("INFO", logger="responder.service")
    api_url = "https://bot:s3cret-pass@api.abc.test:8443/v1?token=t0ken"
    app = create_app(config(str(tmp_path / "state.db"), api_url=api_url))
    app.extensions["responder"].close()
    [line] = [r.getMessage() for r in caplog.records if " ready: " in r.getMessage()]
    assert "https://api.abc.test:8443/v1" in line
    assert "s3cret-pass" not in line and "bot" not in line and "t0ken" not in line
