from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from pwdlib import PasswordHash
from pwdlib.hashers.argon2 import Argon2Hasher
from sqlalchemy import Engine

from demo.broker import PrivateBroker
from protocol.payloads import ProvisioningBundle
from server.broker.accounts import DEFAULT_SERVER_USERNAME, BrokerAccount, Role
from server.core.db import init_db, make_engine
from server.core.localtime import LOCAL_TZ
from server.core.settings import ServerSettings
from server.main import create_app
from server.staff import passwords
from tests.support.stack import ServerHarness, StationHarness, serve_in_thread, start_station

# The server's own broker account in tests (the broker fixture admits it; the server writes it
# into the account files it manages from then on).
SERVER_BROKER_PASSWORD = "test-server-broker-password-" + uuid.uuid4().hex


@pytest.fixture(params=["secure"])
def broker(request: pytest.FixtureRequest) -> Iterator[PrivateBroker]:
    """A private Mosquitto. "secure" (the default) is the production setup: TLS, no anonymous
    clients, one account per station confined by ACLs, the accounts managed by the server.
    "open" (``pytest.mark.parametrize("broker", ["open"], indirect=True)``) lets any client
    do anything: it plays a compromised broker, the worst case the end-to-end signatures must
    withstand, and lets a test speak as the server or as any station."""
    if request.param == "open":
        with PrivateBroker() as running:
            yield running
        return
    server_account = BrokerAccount.with_password(
        DEFAULT_SERVER_USERNAME, SERVER_BROKER_PASSWORD, Role.SERVER
    )
    with PrivateBroker(accounts=[server_account]) as running:
        yield running


def pytest_configure(config: pytest.Config) -> None:
    """Parallel workers (pytest-xdist) take ports from shards of their own (demo.processes)."""
    worker = os.environ.get("PYTEST_XDIST_WORKER", "")  # gw0, gw1, ...
    count = os.environ.get("PYTEST_XDIST_WORKER_COUNT", "")
    if worker.startswith("gw") and count:
        os.environ["WS_PORT_SHARD"] = f"{int(worker[2:])}/{int(count)}"
    # Every server a test starts (in process or as a child) keeps its nightly count check
    # twelve hours away, so a run during that hour sees the counts it made. Tests of the
    # check itself pass their hour explicitly.
    os.environ.setdefault("WS_SERVER_RECONCILE_HOUR", str((datetime.now(LOCAL_TZ).hour + 12) % 24))
    _cheap_staff_password_hashing()


def _cheap_staff_password_hashing() -> None:
    """Staff passwords hashed and checked with Argon2id as in production, but at its lowest
    cost (0.1 ms, not 0.12 s): every in-process server hashes its admin's password and checks
    it at each login. No test measures that cost; servers started as processes keep it."""
    cheap = PasswordHash((Argon2Hasher(time_cost=1, memory_cost=8, parallelism=1),))
    passwords._hasher = cheap
    passwords._DUMMY_HASH = cheap.hash("not a real password")


@pytest.hookimpl(trylast=True)  # after pytest has grouped the items by their fixtures
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """The slow end-to-end tests (whole programs, 10-30 s each) first, in their order: on
    parallel workers (``--dist worksteal``) none of them then starts last while the other
    worker has nothing left. None uses a fixture wider than the test, so moving them costs no
    second setup of one."""
    items.sort(key=lambda item: item.get_closest_marker("slow") is None)


ADMIN_PASSWORD = "test-admin-password"
# The staff pages' live streams read the database this often in tests (1 s by default): a
# change reaches an open page, and a recount the counts, five times sooner.
LIVE_POLL_S = 0.2
PG_ADMIN_URL = "postgresql://postgres@127.0.0.1:5432/postgres"


@pytest.fixture
def postgres_url() -> Iterator[str]:
    """A fresh, empty PostgreSQL database for one test, dropped afterwards."""
    psycopg = pytest.importorskip("psycopg")
    try:
        admin = psycopg.connect(PG_ADMIN_URL, autocommit=True, connect_timeout=3)
    except psycopg.OperationalError as exc:
        pytest.skip(f"PostgreSQL not reachable at 127.0.0.1:5432: {exc}")
    name = f"ws_test_{uuid.uuid4().hex[:12]}"
    with admin:
        admin.execute(f'CREATE DATABASE "{name}"')
        try:
            yield f"postgresql+psycopg://postgres@127.0.0.1:5432/{name}"
        finally:
            admin.execute(f'DROP DATABASE "{name}" WITH (FORCE)')


@pytest.fixture(params=["sqlite", "postgres"])
def engine(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    """A migrated database without a server: SQLite, then PostgreSQL (a fresh one)."""
    if request.param == "postgres":
        url: str = request.getfixturevalue("postgres_url")
    else:
        url = f"sqlite:///{tmp_path / 'db.sqlite'}"
    made = make_engine(url)
    init_db(made)
    yield made
    made.dispose()


@contextmanager
def logged_in_server(
    settings: ServerSettings, broker: PrivateBroker, bundles: dict[str, ProvisioningBundle]
) -> Iterator[ServerHarness]:
    """The server with these settings, served in a thread, its client logged in as admin."""
    app = create_app(settings)
    with serve_in_thread(app) as client:
        login = client.post(
            "/api/auth/login", json={"username": "admin", "password": ADMIN_PASSWORD}
        )
        client.headers["Authorization"] = f"Bearer {login.raise_for_status().json()['token']}"
        yield ServerHarness(client, app.state.services, broker, bundles, app=app)


@pytest.fixture
def server_settings() -> dict[str, object]:
    """More ``ServerSettings`` fields for the ``server`` fixture: a module overrides this."""
    return {}


@pytest.fixture(params=["sqlite"])
def server(
    request: pytest.FixtureRequest,
    broker: PrivateBroker,
    tmp_path: Path,
    bundles: dict[str, ProvisioningBundle],
    server_settings: dict[str, object],
) -> Iterator[ServerHarness]:
    """The server on SQLite; parametrize indirectly with "postgres" for PostgreSQL."""
    database_url = ""
    if request.param == "postgres":
        database_url = request.getfixturevalue("postgres_url")
    settings = ServerSettings(
        data_dir=tmp_path / "server",
        database_url=database_url,
        audience="ws-test",
        admin_password=ADMIN_PASSWORD,
        # An open broker has no accounts: only the demo's rules allow that.
        demo_mode=not broker.secure,
        **broker.server_settings(SERVER_BROKER_PASSWORD),  # type: ignore[arg-type]
        **{"live_poll_s": LIVE_POLL_S, **server_settings},  # type: ignore[arg-type]
    )
    with logged_in_server(settings, broker, bundles) as harness:
        yield harness


@pytest.fixture
def bundles() -> dict[str, ProvisioningBundle]:
    """Provisioning bundles by station id: the server harness (or a test's stand-in for the
    server) puts them here, ``make_station`` takes them."""
    return {}


@pytest.fixture
def make_station(
    tmp_path: Path, bundles: dict[str, ProvisioningBundle]
) -> Iterator[Callable[..., StationHarness]]:
    started: list[StationHarness] = []

    def make(station_id: str, *, wait_config: bool = True, **settings: Any) -> StationHarness:
        harness = start_station(
            bundles[station_id], tmp_path / "stations", wait_config=wait_config, **settings
        )
        started.append(harness)
        return harness

    yield make
    # All at once, and without the outbox's moment to empty on the way out: a station whose
    # server never acknowledged would wait it out (3 s) for nobody.
    for harness in started:
        harness.stop_soon(flush=False)
    for harness in started:
        harness.stop()
