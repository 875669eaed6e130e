"""The WSGI app has no side effect when it is built: its threads start when it serves."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from pathlib import Path

from responder.server.service import Service
from responder.server.web import create_app
from tests.harness import ROOT


def _thread_names() -> set[str]:
    return {thread.name for thread in threading.enumerate()}


def test_importing_the_wsgi_entry_point_starts_no_thread(tmp_path: Path) -> None:
    env = {
        **os.environ,
        "ABC_API_KEY": "key",
        "ABC_WEBHOOK_SECRET": "secret",
        "RESPONDER_STORE": str(tmp_path / "state.db"),
    }
    script = "import threading, app; print(sorted(t.name for t in threading.enumerate()))"
    result = subprocess.run(
        [sys.executable, "-c", script], cwd=ROOT, env=env, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "['MainThread']"


def test_the_first_request_starts_the_janitor_once(tmp_path: Path) -> None:
    app = create_app(
        {
            "api_key": "key",
            "webhook_secrets": ("secret",),
            "rules_dir": ROOT / "rules",
            "templates_dir": ROOT / "templates",
            "store_url": str(tmp_path / "state.db"),
        }
    )
    service: Service = app.extensions["responder"]
    try:
        assert "responder-janitor" not in _thread_names()
        client = app.test_client()
        assert client.get("/healthz").status_code == 200
        assert client.get("/healthz").status_code == 200
        assert [t.name for t in threading.enumerate()].count("responder-janitor") == 1
    finally:
        service.close()
    assert "responder-janitor" not in _thread_names()
