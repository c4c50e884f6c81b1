"""A station as its own process (``python -m firmware_sim``), for kill -9 and SIGSTOP."""

from __future__ import annotations

import json
import signal
import sqlite3
import subprocess
import sys
from pathlib import Path

from protocol.payloads import ProvisioningBundle
from station_agent.enrolment import write_private
from tests.support.waiting import wait_for


class StationProcess:
    def __init__(
        self,
        bundle: ProvisioningBundle,
        *,
        data_dir: Path,
        server_url: str | None = None,
        rider_links: list[str] | None = None,
        heartbeat_s: float = 30.0,
    ) -> None:
        self.station_id = bundle.station_id
        self.data_dir = data_dir
        bundle_file = data_dir / "bundle.json"
        write_private(bundle_file, bundle.model_dump_json())
        argv = [
            sys.executable, "-m", "firmware_sim",
            "--bundle", str(bundle_file),
            "--data-dir", str(data_dir),
            "--heartbeat-s", str(heartbeat_s),
            "--rest", "0.2", "0.8",
        ]  # fmt: skip
        data_dir.mkdir(parents=True, exist_ok=True)
        if rider_links:
            riders_file = data_dir / "riders.json"
            riders_file.write_text(json.dumps(rider_links))
            argv += ["--server-url", str(server_url), "--riders-file", str(riders_file)]
        # Output to files, not pipes: nothing blocks, and a killed process leaves no open pipe.
        self._out, self._err = data_dir / "stdout.log", data_dir / "stderr.log"
        self._ready_before = self._ready_lines()
        with self._out.open("a") as out, self._err.open("a") as err:
            self.process = subprocess.Popen(argv, stdout=out, stderr=err)

    def _ready_lines(self) -> int:
        return self._out.read_text().count('"ready": true') if self._out.exists() else 0

    def wait_ready(self, timeout_s: float = 30.0) -> None:
        """Until this process has started its agent (and its signal handlers)."""
        wait_for(lambda: self._ready_lines() > self._ready_before, timeout_s=timeout_s)

    def signal(self, signum: int) -> None:
        self.process.send_signal(signum)

    def kill(self) -> None:
        self.process.kill()
        self.process.wait(10)

    def stop(self) -> str:
        """SIGTERM and wait; the last line of its output."""
        self.wait_ready()
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGCONT)
            self.process.terminate()
        self.process.wait(60)
        assert self.process.returncode == 0, self._err.read_text()[-2000:]
        lines = self._out.read_text().strip().splitlines()
        return lines[-1] if lines else ""

    # -- reading its store, as a technician would with sqlite3 ---------------------------
    def _query(self, sql: str) -> int:
        with sqlite3.connect(self.data_dir / "agent.db", timeout=10) as db:
            value: int = db.execute(sql).fetchone()[0]
        return value

    def outbox_depth(self) -> int:
        return self._query("SELECT count(*) FROM outbox")

    def last_seq(self) -> int:
        return self._query("SELECT CAST(value AS INTEGER) FROM meta WHERE key = 'last_seq'")
