"""A private Mosquitto broker with a config file of our own, on loopback."""

from __future__ import annotations

import shutil
import subprocess
import tempfile
import time
from pathlib import Path
from types import TracebackType

from demo.processes import free_port, port_open, spawn, stop


class BrokerError(RuntimeError):
    """The broker did not start."""


def mosquitto_binary() -> str:
    found = shutil.which("mosquitto") or "/usr/sbin/mosquitto"
    if not Path(found).exists():
        raise BrokerError("mosquitto is not installed (run ./scripts/setup)")
    return found


class PrivateBroker:
    def __init__(self, *, port: int = 0, workdir: Path | None = None, extra_conf: str = "") -> None:
        self.port = port or free_port()
        self._own_dir = workdir is None
        self.workdir = workdir or Path(tempfile.mkdtemp(prefix="ws-broker-"))
        self._extra_conf = extra_conf
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def conf_path(self) -> Path:
        return self.workdir / "mosquitto.conf"

    @property
    def log_path(self) -> Path:
        return self.workdir / "mosquitto.log"

    def config_text(self) -> str:
        return "\n".join(
            [
                f"listener {self.port} 127.0.0.1",
                "allow_anonymous true",
                "set_tcp_nodelay true",  # request/response round trips in ~1 ms, not ~90
                "persistence false",
                # The server's queue is sized for bursts of many stations (see docs/design.md).
                "max_queued_messages 10000",
                "log_dest stdout",
                "log_type error",
                "log_type warning",
                "log_type notice",
                self._extra_conf,
                "",
            ]
        )

    def start(self, timeout_s: float = 10.0) -> PrivateBroker:
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.conf_path.write_text(self.config_text())
        log = self.log_path.open("ab")
        self._process = spawn([mosquitto_binary(), "-c", str(self.conf_path)], log=log)
        log.close()
        deadline = time.monotonic() + timeout_s
        while not port_open(self.port):
            if self._process.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise BrokerError(f"mosquitto did not start: {self.log_path.read_text()[-500:]}")
            time.sleep(0.05)
        return self

    def stop(self) -> None:
        if self._process is not None:
            stop(self._process, 5.0)
            self._process = None
        if self._own_dir:
            shutil.rmtree(self.workdir, ignore_errors=True)

    @property
    def running(self) -> bool:
        return self._process is not None and self._process.poll() is None

    def __enter__(self) -> PrivateBroker:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
