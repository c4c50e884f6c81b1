"""The station's systemd units (deploy/systemd/) pass `systemd-analyze verify`, keep the
watchdog and hardening the agent relies on, and score as well exposed as they did."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).parents[2]
UNITS = ROOT / "deploy" / "systemd"
AGENT = "warm-station-agent.service"
KIOSK = "warm-station-kiosk.service"
ANALYZE = shutil.which("systemd-analyze")
needs_analyze = pytest.mark.skipif(ANALYZE is None, reason="systemd-analyze is not installed")


def _with_stub_programs(tmp_path: Path) -> list[Path]:
    """Copies of the units whose ExecStart programs exist: each is replaced by an executable
    stub under tmp_path at the same absolute path (verify checks they are executable; the
    box has them, this machine need not)."""
    copies = []
    for unit in (AGENT, KIOSK):
        text = (UNITS / unit).read_text(encoding="utf-8")
        for program in re.findall(r"^ExecStart=[-@:+!]*(/\S+)", text, flags=re.MULTILINE):
            stub = tmp_path / "stubs" / program.lstrip("/")
            stub.parent.mkdir(parents=True, exist_ok=True)
            stub.write_text("#!/bin/sh\n", encoding="utf-8")
            stub.chmod(0o755)
            text = text.replace(program, str(stub))
        copy = tmp_path / unit
        copy.write_text(text, encoding="utf-8")
        copies.append(copy)
    return copies


def _settings(unit: str) -> dict[str, list[str]]:
    values: dict[str, list[str]] = {}
    for line in (UNITS / unit).read_text(encoding="utf-8").splitlines():
        if "=" in line and not line.startswith(("#", " ")):
            key, value = line.split("=", 1)
            values.setdefault(key, []).append(value)
    return values


@needs_analyze
def test_both_units_pass_systemd_analyze_verify(tmp_path: Path) -> None:
    assert ANALYZE is not None
    copies = _with_stub_programs(tmp_path)
    out = subprocess.run(
        [ANALYZE, "verify", *map(str, copies)], capture_output=True, text=True, timeout=60
    )
    ours = [line for line in (out.stdout + out.stderr).splitlines() if "warm-" in line]
    assert out.returncode == 0, out.stdout + out.stderr
    assert ours == [], "\n".join(ours)  # unknown keys and bad values only warn


@needs_analyze
def test_verify_does_catch_a_broken_unit(tmp_path: Path) -> None:
    """The test above would see a mistake: a misspelt key and a missing program."""
    assert ANALYZE is not None
    broken = tmp_path / AGENT
    broken.write_text(
        (UNITS / AGENT).read_text(encoding="utf-8").replace("NoNewPrivileges", "NoNewPrivilege"),
        encoding="utf-8",
    )
    out = subprocess.run([ANALYZE, "verify", str(broken)], capture_output=True, text=True)
    assert out.returncode != 0
    assert "NoNewPrivilege" in out.stderr
    assert "is not executable" in out.stderr


@needs_analyze
def test_the_agent_unit_stays_well_hardened(tmp_path: Path) -> None:
    assert ANALYZE is not None
    agent = _with_stub_programs(tmp_path)[0]
    out = subprocess.run(
        [ANALYZE, "security", "--offline=yes", str(agent)], capture_output=True, text=True
    )
    score = re.search(r"Overall exposure level for \S+: ([\d.]+)", out.stdout + out.stderr)
    assert score is not None, out.stdout + out.stderr
    assert float(score.group(1)) <= 2.0  # 1.5 when written; 10 is unprotected


def test_the_agent_unit_has_the_watchdog_and_sandbox_the_agent_expects() -> None:
    unit = _settings(AGENT)
    expected = {
        "Type": "notify", "NotifyAccess": "main", "WatchdogSec": "30", "Restart": "always",
        "RestartSec": "2", "User": "warm-station", "SupplementaryGroups": "gpio video",
        "ProtectSystem": "strict", "ReadWritePaths": "/var/lib/warm-station",
        "StateDirectory": "warm-station", "ProtectHome": "yes", "PrivateTmp": "yes",
        "NoNewPrivileges": "yes", "RestrictAddressFamilies": "AF_UNIX AF_INET AF_INET6",
        "CapabilityBoundingSet": "", "StandardOutput": "journal",
    }  # fmt: skip
    for key, value in expected.items():
        assert unit.get(key) == [value], key
    assert unit["ExecStart"] == [
        "/opt/warm-station/current/.venv/bin/python -m station_agent run"
        " --config /etc/warm-station/agent.toml"
    ]
    assert set(unit["DeviceAllow"]) == {"char-gpiochip rw", "char-video4linux rw"}
    assert "@system-service" in unit["SystemCallFilter"]
    assert unit["MemoryMax"]


def test_the_kiosk_shows_the_agents_page_after_the_agent() -> None:
    unit = _settings(KIOSK)
    assert "warm-station-agent.service" in unit["After"][0]
    exec_start = (UNITS / KIOSK).read_text(encoding="utf-8").split("ExecStart=")[1]
    assert exec_start.startswith("/usr/bin/cage ")
    assert "--kiosk --app=${WS_KIOSK_URL}" in exec_start
    assert unit["Environment"] == ["WS_KIOSK_URL=http://127.0.0.1:8470/"]
