"""The README's demo command, run as a user would."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import time
from pathlib import Path

import pytest

from demo.processes import port_open

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.slow


def _summary(stdout: str) -> dict[str, int]:
    last = stdout.strip().splitlines()[-1]
    summary: dict[str, int] = json.loads(last)
    return summary


def _assert_clean_database(data_dir: Path) -> None:
    with sqlite3.connect(data_dir / "warm_station.db") as db:
        assert db.execute("PRAGMA integrity_check").fetchone() == ("ok",)


def test_demo_runs_headless_and_loses_nothing(tmp_path: Path) -> None:
    data_dir = tmp_path / "demo"
    result = subprocess.run(
        [
            str(ROOT / "scripts/demo"),
            "--duration",
            "6",  # a first rider comes in within about 3 s of the stations' start
            "--http-port",
            "0",
            "--data-dir",
            str(data_dir),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        cwd=ROOT,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    summary = _summary(result.stdout)
    assert summary["entries"] > 0
    assert summary["events_lost"] == 0
    assert summary["events_stored"] == summary["events_produced"] > 0
    assert {"exits", "denials"} <= summary.keys()
    assert "ENTRY" in result.stdout
    _assert_clean_database(data_dir)


def test_ctrl_c_stops_everything_cleanly(tmp_path: Path) -> None:
    data_dir = tmp_path / "demo"
    process = subprocess.Popen(
        # Three stations: the stop is what is tested (the city's sixteen run in the test above).
        [
            str(ROOT / "scripts/demo"),
            "--stations",
            "3",
            "--http-port",
            "0",
            "--data-dir",
            str(data_dir),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=ROOT,
    )
    assert process.stdout is not None
    broker_port = None
    started = False
    deadline = time.monotonic() + 60
    # Stopped mid-traffic: once the stations are up and the first rider has come in.
    while time.monotonic() < deadline:
        line = process.stdout.readline()
        if not line:  # the demo ended before: the checks below say how
            break
        if line.startswith("Broker"):
            broker_port = int(line.split("127.0.0.1:")[1].split()[0])
        if line.startswith("Stations"):
            started = True
        if started and " ENTRY " in line:
            break
    assert broker_port is not None
    assert port_open(broker_port)

    os.kill(process.pid, signal.SIGINT)
    stdout, _ = process.communicate(timeout=60)

    assert process.returncode == 0
    assert _summary(stdout)["events_lost"] == 0
    assert not port_open(broker_port), "the private broker outlived the demo"
    _assert_clean_database(data_dir)
