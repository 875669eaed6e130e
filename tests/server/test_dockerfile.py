"""The Dockerfile: linted with hadolint (no Docker engine runs here, so it is not built)."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

DOCKERFILE = Path(__file__).resolve().parents[2] / "Dockerfile"


def hadolint() -> str:
    found = Path(sys.executable).with_name("hadolint")
    return str(found) if found.exists() else shutil.which("hadolint") or "hadolint"


def test_hadolint_finds_nothing() -> None:
    result = subprocess.run(
        [hadolint(), str(DOCKERFILE)], capture_output=True, text=True, check=False, timeout=60
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_image_runs_gunicorn_as_a_non_root_user_with_a_healthcheck() -> None:
    lines = [line.strip() for line in DOCKERFILE.read_text().splitlines()]
    assert any(line.startswith("FROM python:") and line.endswith("-slim") for line in lines)
    assert "USER 10001" in lines
    assert lines[-1] == 'CMD ["gunicorn", "-c", "python:responder.server.gunicorn_conf", "app:app"]'
    assert any(line.startswith("HEALTHCHECK") for line in lines)
    assert any("/healthz" in line for line in lines)
    assert 'VOLUME ["/app/rules", "/app/templates", "/app/var"]' in lines
