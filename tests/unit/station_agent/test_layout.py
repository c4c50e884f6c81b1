"""Who may import whom inside the agent: the pure core imports no I/O and none of the agent
around it; adapters see the inbox, the ports and the settings, never the loop or the flows."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[3] / "station_agent"

# What an adapter may import from the agent: the package root (its version), the inbox it
# fills, the ports it implements, and the settings.
ADAPTER_MAY_USE = {
    "station_agent",
    "station_agent.inbox",
    "station_agent.ports",
    "station_agent.config",
}
CORE_FORBIDS = ("paho", "mqttlink", "sqlite3", "sqlmodel", "fastapi", "cv2", "pyzbar", "server")


def _imports(path: Path) -> set[str]:
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
    return found


def _modules(folder: str) -> list[Path]:
    return sorted((PACKAGE / folder).glob("*.py"))


@pytest.mark.parametrize("path", _modules("adapters"), ids=lambda p: p.name)
def test_adapters_never_import_the_loop_or_the_flows(path: Path) -> None:
    for name in _imports(path):
        if name.split(".")[0] == "station_agent":
            assert name in ADAPTER_MAY_USE or name.startswith("station_agent.adapters."), name


@pytest.mark.parametrize("path", _modules("core"), ids=lambda p: p.name)
def test_the_core_is_pure(path: Path) -> None:
    for name in _imports(path):
        top = name.split(".")[0]
        assert top not in CORE_FORBIDS, name
        if top == "station_agent":
            assert name.startswith("station_agent.core"), name
