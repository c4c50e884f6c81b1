"""The server image's Python environment, built as the Dockerfile's ``build-server`` stage
builds it (requirements/server.lock checked by hash, then the project without dependencies):
every server module imports there, the server starts its command line, and no camera, QR
decoder or GPIO library is installed."""

from __future__ import annotations

import re
import subprocess
import sys
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).parents[2]
NOT_IN_THE_SERVER = {"opencv-python-headless", "pyzbar", "zxing-cpp", "gpiozero", "lgpio"}

_IMPORT_ALL = """
import importlib, importlib.metadata as md, pkgutil, server
for info in pkgutil.walk_packages(server.__path__, "server."):
    # Alembic's env script runs only inside Alembic: the migrate run below loads it.
    if not info.name.endswith(("__main__", ".migrations.env")):
        importlib.import_module(info.name)
print(" ".join(sorted(d.metadata["Name"].lower() for d in md.distributions())))
"""


def _index_reachable() -> bool:
    try:
        urllib.request.urlopen("https://pypi.org/simple/pip/", timeout=10)
    except OSError:
        return False
    return True


@pytest.mark.slow
def test_the_server_environment_has_what_it_imports_and_no_camera(tmp_path: Path) -> None:
    if not _index_reachable():
        pytest.skip("the package index (pypi.org) is unreachable: cannot build a venv")
    dockerfile = (ROOT / "Dockerfile").read_text(encoding="utf-8")
    stage = dockerfile.split("AS build-server", 1)[1].split("\nFROM ", 1)[0]
    assert "-r requirements/server.lock" in stage
    copied = [c for c in re.findall(r"^COPY (\S+) \1$", stage, re.M) if "/" not in c]
    assert set(copied) == {"protocol", "i18n", "telemetry", "mqttlink", "server"}
    source = tmp_path / "src"
    source.mkdir()
    for name in ["pyproject.toml", "README.md", *copied]:
        subprocess.run(["cp", "-r", str(ROOT / name), str(source / name)], check=True)
    venv = tmp_path / "venv"
    # The environment is what is checked, not the pip inside it: this one (the project's own)
    # installs into it (``--python``), which spares ensurepip's copy of pip; and without
    # compiling every module up front (the imports below compile what they load). pip's cache
    # (filled by ./scripts/setup) spares the downloads: the lock's hashes still decide what
    # is installed.
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    pip = [sys.executable, "-m", "pip", "--python", str(venv / "bin" / "python")]
    pip += ["install", "-q", "--no-compile", "--disable-pip-version-check"]
    lock = ROOT / "requirements" / "server.lock"
    subprocess.run([*pip, "--require-hashes", "-r", str(lock)], check=True, timeout=600)
    subprocess.run([*pip, "--no-deps", str(source)], check=True, timeout=300)
    python = str(venv / "bin" / "python")
    out = subprocess.run(
        [python, "-c", _IMPORT_ALL], cwd=tmp_path, capture_output=True, text=True, timeout=120
    )
    assert out.returncode == 0, out.stderr
    installed = set(out.stdout.split())
    assert "fastapi" in installed
    assert not NOT_IN_THE_SERVER & installed
    usage = subprocess.run(
        [python, "-m", "server", "--help"], cwd=tmp_path, capture_output=True, text=True,
        timeout=60,
    )  # fmt: skip
    assert usage.returncode == 0, usage.stderr
    assert "--log-level" in usage.stdout
    # The migrations (env script, revisions) are installed with the package and run from it.
    env = {"PATH": "/usr/bin:/bin", "WS_SERVER_DATA_DIR": str(tmp_path / "data")}
    migrate = subprocess.run(
        [python, "-m", "server.cli", "migrate"], cwd=tmp_path, capture_output=True, text=True,
        timeout=120, env=env,
    )  # fmt: skip
    assert migrate.returncode == 0, migrate.stderr
    assert '"schema_now"' in migrate.stdout
