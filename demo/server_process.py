"""The server as a child process (``python -m server``), configured through its environment."""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
import time
from pathlib import Path
from types import TracebackType

import httpx

from demo.processes import spawn, stop


def staff_client(base_url: str, username: str, password: str) -> httpx.Client:
    """An HTTP client for the staff API, logged in with a bearer token; close it when done
    (``contextlib.closing``: it is already open)."""
    client = httpx.Client(base_url=base_url, timeout=10)
    reply = client.post("/api/auth/login", json={"username": username, "password": password})
    reply.raise_for_status()
    client.headers["Authorization"] = f"Bearer {reply.json()['token']}"
    return client


class ServerError(RuntimeError):
    """The server did not start."""


class ServerProcess:
    def __init__(
        self,
        *,
        data_dir: Path,
        http_port: int,
        broker_port: int,
        extra_env: dict[str, str] | None = None,
        admin_password: str | None = None,
        code_dir: Path | None = None,
    ) -> None:
        self.data_dir = data_dir
        self.http_port = http_port
        self.broker_port = broker_port
        self.base_url = f"http://127.0.0.1:{http_port}"
        self.admin_user = "admin"
        # Made up for this run (the server refuses guessable ones); printed by the demo.
        self.admin_password = admin_password or secrets.token_urlsafe(12)
        self._extra_env = extra_env or {}
        # Run the server from another copy of the code (a benchmark's baseline, say).
        self._code_dir = code_dir
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def pid(self) -> int | None:
        """The running server's process id (benchmarks read its CPU time and memory)."""
        return self._process.pid if self._process is not None else None

    @property
    def log_path(self) -> Path:
        return self.data_dir / "server.log"

    def start(self, timeout_s: float = 30.0) -> ServerProcess:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        env = {
            **os.environ,
            "WS_SERVER_DATA_DIR": str(self.data_dir),
            "WS_SERVER_HTTP_PORT": str(self.http_port),
            "WS_SERVER_BROKER_PORT": str(self.broker_port),
            "WS_SERVER_ADMIN_USER": self.admin_user,
            "WS_SERVER_ADMIN_PASSWORD": self.admin_password,
            "WS_SERVER_DEMO_MODE": "true",
            **self._extra_env,
        }
        with self.log_path.open("ab") as log:
            self._process = spawn(
                [sys.executable, "-m", "server"], log=log, env=env, cwd=self._code_dir
            )
        deadline = time.monotonic() + timeout_s
        while True:
            try:
                if httpx.get(f"{self.base_url}/healthz", timeout=1.0).status_code == 200:
                    return self
            except httpx.TransportError:
                pass
            if self._process.poll() is not None or time.monotonic() > deadline:
                self.stop()
                tail = self.log_path.read_text(errors="replace")[-1500:]
                raise ServerError(f"server did not start:\n{tail}")
            time.sleep(0.1)

    def client(self) -> httpx.Client:
        """An HTTP client logged in as the admin (bearer token)."""
        return staff_client(self.base_url, self.admin_user, self.admin_password)

    def kill(self) -> None:
        """SIGKILL: no shutdown at all, as a power cut or an OOM kill would do."""
        if self._process is not None:
            self._process.kill()
            self._process.wait()
            self._process = None

    def stop(self) -> int | None:
        """SIGTERM: uvicorn finishes its requests, the consumer stops, the database closes."""
        if self._process is None:
            return None
        code = stop(self._process, 15.0)
        self._process = None
        return code

    def __enter__(self) -> ServerProcess:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
