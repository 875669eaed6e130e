"""``responder doctor`` and ``responder channels`` against the simulator: one line per check,
exit status 1 on any FAIL, and a clear sentence, never a traceback, for a wrong key."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from responder.cli import main
from responder.simulator import Simulator
from tests.harness import API_KEY, ROOT

WRONG_KEY = "not-the-key-9f2"


@pytest.fixture
def sim() -> Iterator[Simulator]:
    with Simulator(api_key=API_KEY) as simulator:
        yield simulator


@pytest.fixture
def env(sim: Simulator, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    values = {
        "ABC_API_KEY": API_KEY,
        "ABC_API_URL": sim.base_url,
        "ABC_WEBHOOK_SECRET": "whsec-test",
        "RESPONDER_STORE": str(tmp_path / "state.db"),
        "RESPONDER_RULES": str(ROOT / "rules"),
        "RESPONDER_TEMPLATES": str(ROOT / "templates"),
    }
    for name, value in values.items():
        monkeypatch.setenv(name, value)
    return values


def doctor(capsys: pytest.CaptureFixture[str]) -> tuple[int, dict[str, str]]:
    """Exit status, and each check's name -> its line."""
    status = main(["doctor"])
    out = capsys.readouterr().out
    lines = [line for line in out.splitlines() if line.strip()]
    return status, {line[6:].split(":", 1)[0]: line for line in lines}


def test_doctor_passes_every_check_against_the_simulator(
    env: dict[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    status, checks = doctor(capsys)
    assert status == 0
    assert set(checks) == {
        "webhook secret",
        "settings",
        "store",
        "rules",
        "API key",
        "clock",
        "channels",
    }
    assert all(line.startswith("OK ") for line in checks.values()), checks
    assert checks["API key"] == "OK    API key: works: 2 channel connection(s)"
    assert checks["channels"] == "OK    channels: connected: whatsapp"


def test_a_wrong_key_is_one_clear_fail(
    env: dict[str, str], monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("ABC_API_KEY", WRONG_KEY)
    status, checks = doctor(capsys)
    assert status == 1
    assert checks["API key"] == (
        "FAIL  API key: The ABC API refused the API key (401 Unauthorized); check ABC_API_KEY."
    )
    assert [name for name, line in checks.items() if line.startswith("FAIL")] == ["API key"]


def test_a_wrong_key_from_the_command_line_has_no_traceback(env: dict[str, str]) -> None:
    for command in ("doctor", "channels"):
        done = subprocess.run(
            [sys.executable, "-m", "responder.cli", command],
            env={**env, "ABC_API_KEY": WRONG_KEY, "PATH": "/usr/bin:/bin"},
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert done.returncode == 1
        assert "401 Unauthorized); check ABC_API_KEY" in done.stdout
        assert "Traceback" not in done.stdout + done.stderr and WRONG_KEY not in done.stdout


def test_doctor_fails_a_missing_secret_an_unreachable_store_and_broken_rules(
    env: dict[str, str],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    broken = tmp_path / "rules"
    broken.mkdir()
    (broken / "rules.yaml").write_text("rules:\n  - name: x\n    keyword: [a]\n    reply: nosuch\n")
    monkeypatch.delenv("ABC_WEBHOOK_SECRET")
    monkeypatch.setenv("RESPONDER_STORE", "redis://127.0.0.1:1/0")
    monkeypatch.setenv("RESPONDER_RULES", str(broken))
    status, checks = doctor(capsys)
    assert status == 1
    assert checks["webhook secret"].startswith(
        "FAIL  webhook secret: ABC_WEBHOOK_SECRET is not set"
    )
    assert checks["store"].startswith("FAIL  store: ") and "RESPONDER_STORE" in checks["store"]
    assert checks["rules"].startswith("FAIL  rules: ") and "responder check" in checks["rules"]
    assert checks["API key"].startswith("OK ")


def test_doctor_warns_when_no_windowed_channel_is_connected(
    env: dict[str, str], monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    with Simulator(
        api_key=API_KEY,
        connections=[
            {
                "id": 7,
                "name": "Facebook page",
                "messaging_channel_id": "facebook",
                "default": True,
                "connected": True,
            },
            {
                "id": 8,
                "name": "WhatsApp",
                "messaging_channel_id": "whatsapp",
                "default": False,
                "connected": False,
            },
        ],
    ) as other:
        monkeypatch.setenv("ABC_API_URL", other.base_url)
        status, checks = doctor(capsys)
    assert status == 0
    assert checks["channels"].startswith("WARN  channels: no connected whatsapp channel")


def test_doctor_names_a_setting_that_cannot_be_read(
    env: dict[str, str], monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("RESPONDER_WORKERS", "two")
    status, checks = doctor(capsys)
    assert status == 1
    assert checks == {
        "configuration": "FAIL  configuration: RESPONDER_WORKERS cannot be used: 'two' is not "
        "a whole number, like 2"
    }


def test_channels_lists_the_connections(
    env: dict[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["channels"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[1].split() == ["123", "whatsapp", "connected,", "default", "Main", "WhatsApp"]
    assert out[2].split() == ["124", "whatsapp", "not", "connected", "Old", "WhatsApp", "number"]
