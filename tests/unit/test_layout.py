"""The tree stays readable: small modules, one room per capability (docs/architecture.md).
The import contracts themselves run as `lint-imports` in ./scripts/test."""

from __future__ import annotations

from pathlib import Path

import pytest

ROOT = Path(__file__).parents[2]
PACKAGES = (
    "protocol",
    "i18n",
    "telemetry",
    "mqttlink",
    "station_agent",
    "server",
    "firmware_sim",
    "demo",
)
MAX_LINES = 420  # "about 400": a module past this is doing more than one job
SERVER_CAPABILITIES = (
    "core",
    "stations",
    "riders",
    "trust",
    "access",
    "events",
    "alerts",
    "alarms",
    "audit",
    "staff",
    "keys",
    "reports",
    "mqtt",
    "jobs",
    "health",
    "metrics",
    "broker",
    "web",
    "broker",
    "homeassistant",
    "migrations",
    "join",
    "finder",
)


# The message catalogues are data (one key a line, one language each): long, not busy. A
# translator wants one file per language, so they are kept whole; the test that both say the
# same things is tests/unit/i18n/test_catalogue.py.
CATALOGUES = {ROOT / "i18n" / "zh.py", ROOT / "i18n" / "en.py"}


def _modules() -> list[Path]:
    found = (p for package in PACKAGES for p in (ROOT / package).rglob("*.py"))
    return sorted(p for p in found if p not in CATALOGUES)


@pytest.mark.parametrize("path", _modules(), ids=lambda p: str(p.relative_to(ROOT)))
def test_no_module_is_too_long(path: Path) -> None:
    lines = len(path.read_text(encoding="utf-8").splitlines())
    assert lines <= MAX_LINES, f"{path.relative_to(ROOT)} has {lines} lines: split it"


def test_the_server_root_holds_only_the_entry_points() -> None:
    """Features live in a capability's package, not beside them."""
    loose = {p.name for p in (ROOT / "server").glob("*.py")}
    assert loose == {"__init__.py", "__main__.py", "main.py", "cli.py", "schema.py"}
    packages = {p.parent.name for p in (ROOT / "server").glob("*/__init__.py")}
    assert packages == set(SERVER_CAPABILITIES)
