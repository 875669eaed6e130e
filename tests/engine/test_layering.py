"""The engine is sans-I/O: no web framework, HTTP client, database or threads, even indirectly."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

ENGINE = Path(__file__).resolve().parents[2] / "responder" / "engine"
FORBIDDEN = ("flask", "werkzeug", "httpx", "redis", "sqlite3", "threading")
# The package's own I/O layers, which the engine must not reach either.
FORBIDDEN_LAYERS = (
    "responder.server",
    "responder.store",
    "responder.simulator",
    "responder.pipeline",
    "responder.intake",
    "responder.platform.client",
)
MODULES = sorted(ENGINE.glob("*.py"))


def _imports(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            names.add(node.module)
    return names


def _is_under(name: str, roots: tuple[str, ...]) -> bool:
    return any(name == root or name.startswith(f"{root}.") for root in roots)


@pytest.mark.parametrize("path", MODULES, ids=lambda p: p.name)
def test_an_engine_module_imports_no_io_library(path: Path) -> None:
    found = sorted(n for n in _imports(path) if _is_under(n, FORBIDDEN + FORBIDDEN_LAYERS))
    assert found == [], f"{path.name} imports {', '.join(found)}"


def test_importing_the_whole_engine_loads_no_io_library() -> None:
    modules = ", ".join(f"responder.engine.{p.stem}" for p in MODULES if p.stem != "__init__")
    script = (
        f"import sys, {modules}\n"
        f"print(sorted(m for m in sys.modules if m.split('.')[0] in {FORBIDDEN[:-1]!r}))"
    )
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"


def test_the_checks_see_every_engine_module() -> None:
    assert {p.stem for p in MODULES} >= {"normalize", "matching", "rulebook", "decide"}
