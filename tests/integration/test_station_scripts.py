"""scripts/install-station and scripts/update-station, run into a temporary root (--root) with
a stub for systemctl (WS_SYSTEMCTL), so nothing outside tmp_path changes."""

from __future__ import annotations

import os
import shutil
import subprocess
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).parents[2]
INSTALL = ROOT / "scripts" / "install-station"
UPDATE = ROOT / "scripts" / "update-station"
SERVER_ONLY = ("fastapi", "sqlmodel", "sqlalchemy", "psycopg", "pwdlib", "argon2", "uvicorn")

# Answers like systemctl, logs every call; `crashloop` in the state dir makes NRestarts grow.
STUB_SYSTEMCTL = """#!/bin/sh
echo "$*" >>"$STUB_DIR/calls"
case "$1" in
  is-active) cat "$STUB_DIR/active" 2>/dev/null || echo active ;;
  is-enabled) echo disabled ;;
  show) if [ -e "$STUB_DIR/crashloop" ]; then date +%s%N; else echo 0; fi ;;
esac
exit 0
"""


def _run(script: Path, *args: str, env: dict[str, str] | None = None) -> str:
    out = subprocess.run(
        [str(script), *args], capture_output=True, text=True, timeout=300,
        env=os.environ | (env or {}),
    )  # fmt: skip
    assert out.returncode == 0, out.stdout + out.stderr
    return out.stdout


@pytest.fixture
def systemctl(tmp_path: Path) -> tuple[Path, dict[str, str]]:
    stub_dir = tmp_path / "systemctl"
    stub_dir.mkdir()
    stub = stub_dir / "systemctl"
    stub.write_text(STUB_SYSTEMCTL, encoding="utf-8")
    stub.chmod(0o755)
    return stub_dir, {"WS_SYSTEMCTL": str(stub), "STUB_DIR": str(stub_dir)}


def _fake_release(box: Path, name: str, *, healthy: bool, age: int) -> None:
    """A release whose `python -m station_agent check --quick` passes or fails."""
    release = box / "opt/warm-station/releases" / name
    python = release / ".venv/bin/python"
    python.parent.mkdir(parents=True)
    python.write_text(
        f'#!/bin/sh\necho "{name} $*" >>"{box}/health.log"\nexit {0 if healthy else 1}\n',
        encoding="utf-8",
    )
    python.chmod(0o755)
    ready = release / ".ready"
    ready.write_text("", encoding="utf-8")
    os.utime(ready, (1_700_000_000 + age, 1_700_000_000 + age))


@pytest.fixture
def box(tmp_path: Path) -> Path:
    """A box on release r1 (healthy), with older releases r0 and r-old installed too."""
    root = tmp_path / "box"
    _fake_release(root, "r-old", healthy=True, age=0)
    _fake_release(root, "r0", healthy=True, age=1)
    _fake_release(root, "r1", healthy=True, age=2)
    (root / "opt/warm-station/current").symlink_to("releases/r1")
    (root / "etc/warm-station").mkdir(parents=True)
    return root


def _current(box: Path) -> str:
    return os.readlink(box / "opt/warm-station/current")


def _update(box: Path, env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    # --timeout 2: in whole seconds (bash's SECONDS), so always one check and up to one retry
    # of a release that is not healthy yet.
    return subprocess.run(
        [str(UPDATE), "--root", str(box), "--timeout", "2", "--settle", "0", *args],
        capture_output=True, text=True, timeout=60, env=os.environ | env,
    )  # fmt: skip


SCRIPTS = [INSTALL, UPDATE, ROOT / "scripts/lib/station.sh", ROOT / "scripts/check-arm64-deps"]


def test_scripts_parse_and_are_shellcheck_clean() -> None:
    for script in SCRIPTS:
        subprocess.run(["bash", "-n", str(script)], check=True)
    if shutil.which("shellcheck") is None:
        pytest.skip("shellcheck is not installed (Debian: apt-get install shellcheck)")
    out = subprocess.run(
        ["shellcheck", "-x", *map(str, SCRIPTS)], cwd=ROOT, capture_output=True, text=True
    )
    assert out.returncode == 0, out.stdout


def test_help() -> None:
    for script in (INSTALL, UPDATE):
        assert "--root DIR" in _run(script, "--help")


def test_update_switches_to_a_healthy_release_and_keeps_three(
    box: Path, systemctl: tuple[Path, dict[str, str]]
) -> None:
    stub_dir, env = systemctl
    _fake_release(box, "r2", healthy=True, age=3)
    out = _update(box, env, "--to", "r2")
    assert out.returncode == 0, out.stdout + out.stderr
    assert _current(box) == "releases/r2"
    assert "restart warm-station-agent.service" in (stub_dir / "calls").read_text()
    assert "r2 -m station_agent check --quick --config" in (box / "health.log").read_text()
    releases = {p.name for p in (box / "opt/warm-station/releases").iterdir()}
    assert releases == {"r2", "r1", "r0"}  # r-old, the oldest, pruned


def test_update_rolls_back_a_release_whose_health_check_fails(
    box: Path, systemctl: tuple[Path, dict[str, str]]
) -> None:
    stub_dir, env = systemctl
    _fake_release(box, "r2", healthy=False, age=3)
    out = _update(box, env, "--to", "r2")
    assert out.returncode == 1, out.stdout + out.stderr
    assert "rolling back to r1" in out.stdout
    assert _current(box) == "releases/r1"
    calls = (stub_dir / "calls").read_text().splitlines()
    assert calls.count("restart warm-station-agent.service") == 2  # into r2, back into r1
    assert (box / "opt/warm-station/releases/r2/.failed").exists()
    assert (box / "health.log").read_text().splitlines()[-1].startswith("r1 ")


def test_update_rolls_back_when_the_unit_keeps_restarting(
    box: Path, systemctl: tuple[Path, dict[str, str]]
) -> None:
    stub_dir, env = systemctl
    (stub_dir / "crashloop").touch()  # health passes between crashes; NRestarts climbs
    _fake_release(box, "r2", healthy=True, age=3)
    out = _update(box, env, "--to", "r2")
    assert out.returncode == 2, out.stdout + out.stderr  # r1 "crashes" too: said so
    assert _current(box) == "releases/r1"


def test_update_rolls_back_when_the_unit_is_not_active(
    box: Path, systemctl: tuple[Path, dict[str, str]]
) -> None:
    stub_dir, env = systemctl
    (stub_dir / "active").write_text("activating\n")
    _fake_release(box, "r2", healthy=True, age=3)
    out = _update(box, env, "--to", "r2")
    assert out.returncode == 2
    assert "unit: activating" in out.stdout
    assert _current(box) == "releases/r1"


def test_update_to_the_current_release_changes_nothing(
    box: Path, systemctl: tuple[Path, dict[str, str]]
) -> None:
    stub_dir, env = systemctl
    out = _update(box, env, "--to", "r1")
    assert out.returncode == 0
    assert "already current" in out.stdout
    assert not (stub_dir / "calls").exists()


def test_update_refuses_a_release_that_is_not_installed(
    box: Path, systemctl: tuple[Path, dict[str, str]]
) -> None:
    out = _update(box, systemctl[1], "--to", "r9")
    assert out.returncode == 1
    assert "r9 is not installed" in out.stderr
    assert _current(box) == "releases/r1"


def _index_reachable() -> bool:
    try:
        urllib.request.urlopen("https://pypi.org/simple/pip/", timeout=10)
    except OSError:
        return False
    return True


@pytest.mark.slow
def test_install_station_into_a_root_installs_the_agent_only_once(
    tmp_path: Path, systemctl: tuple[Path, dict[str, str]]
) -> None:
    """A real venv with .[agent] from the index: every agent module imports there, nothing of
    the server is installed, and a second run installs nothing."""
    if not _index_reachable():
        pytest.skip("the package index (pypi.org) is unreachable: cannot build a venv")
    stub_dir, env = systemctl
    box = tmp_path / "box"
    first = _run(INSTALL, "--root", str(box), "--kiosk", env=env)
    opt = box / "opt/warm-station"
    release = os.readlink(opt / "current")
    assert release.startswith("releases/0.")
    assert "skip (--root): apt-get install python3-venv libzbar0" in first
    assert (box / "etc/warm-station/agent.toml").read_text() == (
        ROOT / "deploy/agent.toml.example"
    ).read_text()
    assert (box / "var/lib/warm-station").stat().st_mode & 0o777 == 0o700
    for unit in ("warm-station-agent.service", "warm-station-kiosk.service"):
        assert (box / "etc/systemd/system" / unit).exists()
        assert f"enable {unit}" in (stub_dir / "calls").read_text()
    python = opt / "current/.venv/bin/python"
    check = subprocess.run(
        [str(python), "-c", "import importlib, pkgutil, sys, station_agent as s;"
         "[importlib.import_module(m.name) for m in pkgutil.walk_packages(s.__path__, "
         "'station_agent.') if not m.name.endswith('__main__')];"
         "import importlib.metadata as md; print(*sorted(d.name.lower() for d in "
         "md.distributions()))"],
        cwd=tmp_path, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert check.returncode == 0, check.stderr
    installed = set(check.stdout.split())
    assert {"gpiozero", "opencv-python-headless", "paho-mqtt"} <= installed
    assert installed.isdisjoint(SERVER_ONLY)

    (box / "etc/warm-station/agent.toml").write_text("# edited by the technician\n")
    second = _run(INSTALL, "--root", str(box), "--kiosk", env=env)
    assert "is already installed" in second
    assert "installed " not in second.replace("already installed", "")
    assert (stub_dir / "calls").read_text().splitlines().count("daemon-reload") == 1
    assert (box / "etc/warm-station/agent.toml").read_text() == "# edited by the technician\n"
    assert os.readlink(opt / "current") == release
