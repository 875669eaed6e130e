"""The configuration: defaults, then the environment, then overrides, read in one place."""

from __future__ import annotations

import importlib
import os
import re
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest

from responder.config import ENVIRONMENT, Config, environment_setting, load_config
from responder.errors import ConfigError

PACKAGE = Path(__file__).resolve().parents[1] / "responder"
LIVE = {"ABC_API_KEY": "key", "ABC_WEBHOOK_SECRET": "s1, s2"}


def test_the_environment_overrides_the_defaults_and_overrides_win() -> None:
    config = load_config(
        {**LIVE, "RESPONDER_LEASE": "2m", "RESPONDER_WORKERS": "3", "RESPONDER_BIND": " :9000 "},
        {"senders": 4},
    )
    assert config.webhook_secrets == ("s1", "s2")
    assert config.lease == timedelta(minutes=2)
    assert (config.workers, config.bind, config.senders) == (3, ":9000", 4)
    assert config.threads == Config.threads


def test_an_unreadable_value_names_its_variable() -> None:
    with pytest.raises(ConfigError, match=r"^RESPONDER_THREADS cannot be used: must be at least 1"):
        load_config({**LIVE, "RESPONDER_THREADS": "0"})


def test_settings_the_service_cannot_run_with_are_refused_unless_not_checked() -> None:
    with pytest.raises(ConfigError, match="ABC_WEBHOOK_SECRET is not set"):
        load_config({"ABC_API_KEY": "key"})
    assert load_config({}, check=False).api_key == ""


def test_one_setting_is_read_without_the_others() -> None:
    environ = {"RESPONDER_RULES": "/srv/rules", "RESPONDER_LEASE": "soon"}
    assert environment_setting("rules_dir", environ) == Path("/srv/rules")
    assert environment_setting("templates_dir", environ) == Path("templates")
    with pytest.raises(ConfigError, match="RESPONDER_LEASE cannot be used"):
        environment_setting("lease", environ)


def test_gunicorn_settings_come_from_the_configuration(monkeypatch: pytest.MonkeyPatch) -> None:
    for variable, value in {
        "RESPONDER_BIND": "127.0.0.1:9999",
        "RESPONDER_WORKERS": "5",
        "RESPONDER_THREADS": "3",
        "RESPONDER_LOG_LEVEL": "WARNING",
        "RESPONDER_ACCESS_LOG": "-",
    }.items():
        monkeypatch.setenv(variable, value)
    from responder.server import gunicorn_conf

    conf = importlib.reload(gunicorn_conf)
    assert (conf.bind, conf.workers) == ("127.0.0.1:9999", 5)
    assert conf.worker_class == "responder.server.worker.ResponderWorker"
    assert conf._config.threads == 3  # the worker's request threads (responder/server/worker.py)
    assert (conf.loglevel, conf.accesslog) == ("warning", "-")
    monkeypatch.delenv("RESPONDER_ACCESS_LOG")
    assert importlib.reload(gunicorn_conf).accesslog is None


def test_only_the_config_module_reads_the_environment() -> None:
    """Elsewhere the environment is only handed on whole, to a child process."""
    uses = re.compile(r"(?:dict\()?os\.environ\b\)?(?:\[|\.get\b)?|\bgetenv\b")
    found = {
        str(path.relative_to(PACKAGE)): set(uses.findall(path.read_text(encoding="utf-8")))
        for path in PACKAGE.rglob("*.py")
    }
    readers = {module: names for module, names in found.items() if names}
    assert readers == {"config.py": {"os.environ"}, "cli.py": {"dict(os.environ)"}}


def test_the_readme_table_lists_every_variable() -> None:
    readme = (PACKAGE.parent / "README.md").read_text(encoding="utf-8")
    listed = set(re.findall(r"^\| `([A-Z_]+)` \|", readme, flags=re.MULTILINE))
    assert set(ENVIRONMENT) <= listed, sorted(set(ENVIRONMENT) - listed)


BAD_VALUES = {
    "RESPONDER_WORKERS": ("two", "'two' is not a whole number, like 2"),
    "RESPONDER_THREADS": ("0", "must be at least 1"),
    "RESPONDER_SENDERS": ("-3", "must not be negative"),
    "RESPONDER_LEASE": ("soon", "'soon' is not a duration"),
    "RESPONDER_DRY_RUN": ("maybe", "'maybe' is not a yes or no: use true or false"),
    "RESPONDER_LOG_FORMAT": ("xml", "'xml' is not a log format: use plain or json"),
    "RESPONDER_LOG_LEVEL": ("loud", "'loud' is not a log level"),
    "RESPONDER_BIND": ("localhost", "'localhost' is not host:port, like 127.0.0.1:8080"),
    "RESPONDER_METRICS": ("sometimes", "'sometimes' is not a yes or no"),
}


@pytest.mark.parametrize("variable", sorted(BAD_VALUES))
def test_a_value_that_cannot_be_read_names_its_variable(variable: str) -> None:
    value, said = BAD_VALUES[variable]
    with pytest.raises(ConfigError) as caught:
        load_config({variable: value}, check=False)
    assert str(caught.value).startswith(f"{variable} cannot be used: ")
    assert said in str(caught.value)


def test_every_unreadable_variable_is_named_at_once() -> None:
    with pytest.raises(ConfigError) as caught:
        load_config({"RESPONDER_WORKERS": "two", "RESPONDER_LOG_FORMAT": "xml"}, check=False)
    assert str(caught.value).splitlines() == [
        "these settings cannot be used:",
        "  RESPONDER_WORKERS cannot be used: 'two' is not a whole number, like 2",
        "  RESPONDER_LOG_FORMAT cannot be used: 'xml' is not a log format: use plain or json",
    ]


@pytest.mark.parametrize(
    "command",
    [
        [sys.executable, "-m", "responder.cli", "serve", "--simulator-port", "1"],
        [
            sys.executable,
            "-m",
            "gunicorn",
            "-c",
            "python:responder.server.gunicorn_conf",
            "app:app",
        ],
    ],
    ids=["responder-serve", "gunicorn"],
)
def test_a_bad_setting_stops_the_service_before_it_starts_anything(command: list[str]) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ABC_", "RESPONDER_"))}
    done = subprocess.run(
        command,
        env={**env, "RESPONDER_WORKERS": "two"},
        cwd=PACKAGE.parent,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    output = done.stdout + done.stderr
    assert done.returncode == 1
    assert "RESPONDER_WORKERS cannot be used: 'two' is not a whole number, like 2" in output
    assert "Traceback" not in output and "Sandbox mode" not in output and "Booting" not in output
