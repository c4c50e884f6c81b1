"""``python -m server`` as deployed: it refuses the demo's defaults outside demo mode in one
line, and once running it names no server software and logs no secret, even at DEBUG."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import closing, contextmanager, suppress
from pathlib import Path

import httpx
import pytest
from sqlmodel import Session

from demo.broker import PrivateBroker
from demo.processes import free_port, spawn, stop
from demo.server_process import staff_client
from server.__main__ import SHUTDOWN_GRACE_S
from server.broker.tls import ensure_broker_tls
from server.core.db import init_db, make_engine
from server.core.localtime import utcnow
from server.core.settings import ServerSettings
from server.main import UnsafeStartError, check_can_start, create_app
from server.staff import repo
from server.staff.models import Role
from tests.conftest import SERVER_BROKER_PASSWORD

ADMIN_PASSWORD = "start-test-admin-pw"


def _ca_file(tmp_path: Path) -> Path:
    """A CA for the broker link (never reached here: the server refuses before connecting)."""
    return ensure_broker_tls(tmp_path / "tls").ca_cert


def _settings(tmp_path: Path, **fields: object) -> ServerSettings:
    """Settings fit for production but for what a test leaves out."""
    broker = {"broker_password": "start-test-broker-pw", "broker_ca_file": _ca_file(tmp_path)}
    return ServerSettings(data_dir=tmp_path, audience="ws-test", **{**broker, **fields})  # type: ignore[arg-type]


def _env(tmp_path: Path, **settings: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("WS_SERVER_")}
    env.update(
        WS_SERVER_DATA_DIR=str(tmp_path / "server"),
        WS_SERVER_HTTP_PORT=str(free_port()),
        WS_SERVER_BROKER_PORT=str(free_port()),
        WS_SERVER_BROKER_PASSWORD="start-test-broker-pw",
        WS_SERVER_BROKER_CA_FILE=str(_ca_file(tmp_path)),
    )
    env.update({f"WS_SERVER_{name.upper()}": value for name, value in settings.items()})
    return env


def _demo_env(tmp_path: Path, broker: PrivateBroker) -> dict[str, str]:
    """A demo-mode server on the test's broker, with its real account and CA: it connects at
    once (a broker it cannot reach would hold its start for the 10 s connect wait)."""
    env = _env(tmp_path, demo_mode="true", admin_password=ADMIN_PASSWORD)
    env.update(broker.server_env(SERVER_BROKER_PASSWORD))
    return env


@pytest.mark.parametrize(
    ("settings", "says"),
    [
        (
            {"admin_password": ADMIN_PASSWORD},
            "server: refusing to start outside demo mode: WS_SERVER_AUDIENCE is the demo's",
        ),
        (
            {"audience": "ws-start-test"},
            "server: refusing to start outside demo mode: WS_SERVER_ADMIN_PASSWORD is not set",
        ),
        (
            {
                "audience": "ws-start-test",
                "admin_password": ADMIN_PASSWORD,
                "database_url": "postgresql+psycopg://postgres:change-me@127.0.0.1:9/ws",
            },
            "WS_SERVER_DATABASE_URL carries a default password",
        ),
        (
            {"audience": "ws-start-test", "admin_password": "changeme"},
            "server: WS_SERVER_ADMIN_PASSWORD: Value error, the password must be 10 characters",
        ),
        ({"audience": "ws-start-test", "demo_mode": "maybe"}, "server: WS_SERVER_DEMO_MODE: "),
    ],
    ids=["demo audience", "no admin", "default database password", "weak admin", "bad flag"],
)
def test_the_server_refuses_to_start_in_one_line(
    tmp_path: Path, settings: dict[str, str], says: str
) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "server"],
        env=_env(tmp_path, **settings),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode != 0
    assert result.stdout == ""
    [line] = result.stderr.splitlines()
    assert says in line
    assert "change-me" not in line  # the value of a secret is never repeated


def test_the_app_refuses_too_however_it_is_started(tmp_path: Path) -> None:
    """Started by another ASGI server than ours: the lifespan refuses."""
    app = create_app(_settings(tmp_path))

    async def start() -> None:
        async with app.router.lifespan_context(app):
            pass

    # In a thread of its own: the browser tests' Playwright keeps a loop in this one.
    with ThreadPoolExecutor(1) as pool, pytest.raises(UnsafeStartError, match="no staff account"):
        pool.submit(asyncio.run, start()).result()


def test_no_admin_password_is_fine_once_an_account_exists(tmp_path: Path) -> None:
    settings = _settings(tmp_path)
    engine = make_engine(settings.sqlalchemy_url)
    init_db(engine)
    with Session(engine) as session:
        repo.create_user(
            session,
            username="li",
            password=ADMIN_PASSWORD,
            role=Role.ADMIN,
            now=utcnow(),
            by="test",
        )
    check_can_start(settings, engine)
    check_can_start(ServerSettings(data_dir=tmp_path / "empty", demo_mode=True), engine)
    engine.dispose()


@contextmanager
def _running(env: dict[str, str], log_path: Path) -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    base = f"http://127.0.0.1:{env['WS_SERVER_HTTP_PORT']}"
    with log_path.open("wb") as log:
        process = spawn([sys.executable, "-m", "server", "--log-level", "debug"], log=log, env=env)
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert process.poll() is None, log_path.read_text()[-2000:]
            assert time.monotonic() < deadline, "the server did not start"
            time.sleep(0.1)
        yield base, process
    finally:
        stop(process)


@pytest.mark.parametrize("log_format", ["text", "json"])
def test_the_running_server_names_no_software_and_logs_no_secret(
    broker: PrivateBroker, tmp_path: Path, log_format: str
) -> None:
    env = _demo_env(tmp_path, broker)  # the demo's audience and admin: allowed in demo mode
    env["WS_LOG_FORMAT"] = log_format
    log_path = tmp_path / "server.log"
    with _running(env, log_path) as (base, _):
        health = httpx.get(f"{base}/healthz")
        assert "server" not in health.headers
        assert health.headers["X-Content-Type-Options"] == "nosniff"
        with closing(staff_client(base, "admin", ADMIN_PASSWORD)) as staff:
            bearer = staff.headers["Authorization"].removeprefix("Bearer ")
            link = staff.post("/api/riders", json={"platform": "courier"}).json()["link"]
            token = staff.get(f"{link}/token").json()["token"]
            assert staff.get(link).status_code == 200
            wrong = staff.post("/api/auth/login", json={"username": "admin", "password": "x" * 12})
            assert wrong.status_code == 401
    logged = log_path.read_text()
    assert "DEBUG" in logged  # the level was really on
    assert "not reachable" not in logged  # it ran on the broker, as deployed
    if log_format == "json":  # every line one object: ours and uvicorn's
        lines = [json.loads(line) for line in logged.splitlines() if line.strip()]
        assert {line["component"] for line in lines} == {"server"}
        assert any(line["logger"].startswith("uvicorn") for line in lines)
    secrets = (ADMIN_PASSWORD, SERVER_BROKER_PASSWORD, "x" * 12, bearer, link.removeprefix("/r/"))
    for secret in (*secrets, token):
        assert secret not in logged


def test_sigterm_stops_the_server_with_a_staff_stream_open(
    broker: PrivateBroker, tmp_path: Path
) -> None:
    """A staff tab's live stream never ends by itself: the server must not wait for it when
    told to stop (a restart would hang, and Docker kill it before its consumer stopped)."""
    env = _demo_env(tmp_path, broker)
    log_path = tmp_path / "server.log"
    with (
        _running(env, log_path) as (base, process),
        closing(staff_client(base, "admin", ADMIN_PASSWORD)) as staff,
    ):
        opened = threading.Event()

        def tab() -> None:
            with (
                httpx.Client(base_url=base, timeout=60) as client,
                client.stream("GET", "/api/stream", headers=dict(staff.headers)) as reply,
            ):
                opened.set()
                with suppress(httpx.RemoteProtocolError):  # cut when the grace is over
                    for _ in reply.iter_lines():
                        pass

        threading.Thread(target=tab, daemon=True).start()
        assert opened.wait(10)
        process.terminate()
        # A hang guard, not a speed check: nothing bounded this wait before the grace. (The
        # status is SIGTERM's: uvicorn raises the signal again once it has shut down.)
        assert process.wait(timeout=SHUTDOWN_GRACE_S + 20) == -signal.SIGTERM
    logged = log_path.read_text()
    assert "consumer stopped" in logged  # the lifespan's shutdown ran: nothing was killed
    assert "timeout graceful shutdown exceeded" in logged
