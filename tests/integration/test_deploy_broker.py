"""deploy/mosquitto.conf and deploy/broker-entrypoint.sh outside a container: the real config
on free loopback ports, the files written by server.broker into the shared directory, then
installed and reloaded by the script whenever they change."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import stat
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from demo.broker import mosquitto_binary
from demo.processes import free_port, port_open, spawn, stop
from server.broker.accounts import BrokerAccount, Role, new_password
from server.broker.files import write_account_files
from server.broker.tls import ensure_broker_tls
from tests.support.raw_client import RawClient
from tests.support.waiting import wait_for

ROOT = Path(__file__).parents[2]
PASSWORDS = {"station-d1": new_password(), "station-d2": new_password(), "ws-server": "x" * 40}


def _account(name: str) -> BrokerAccount:
    role = Role.SERVER if name == "ws-server" else Role.STATION
    return BrokerAccount.with_password(name, PASSWORDS[name], role, iterations=101)


@dataclass
class Deployed:
    base: Path
    port: int
    internal_port: int

    @property
    def shared(self) -> Path:
        return self.base / "shared"

    def logs_in(self, name: str) -> bool:
        port = self.internal_port if name == "ws-server" else self.port
        client = RawClient(port, name, PASSWORDS[name], str(self.shared / "ca.crt"))
        try:
            return client.connect() == 0
        finally:
            client.close()


@pytest.fixture
def deployed() -> Iterator[Deployed]:
    # Run as root, Mosquitto drops to user "mosquitto", as in the image: it must reach the
    # files, so not under pytest's private (0700) temporary directory.
    base = Path(tempfile.mkdtemp(prefix="ws-deploy-"))
    base.chmod(0o755)
    setup = Deployed(base, free_port(), free_port())
    conf = (
        (ROOT / "deploy" / "mosquitto.conf")
        .read_text()
        .replace("/mosquitto/", f"{base}/")
        .replace("listener 8883 0.0.0.0", f"listener {setup.port} 127.0.0.1")
        .replace("listener 8884 0.0.0.0", f"listener {setup.internal_port} 127.0.0.1")
    )
    (base / "mosquitto.conf").write_text(conf)
    ensure_broker_tls(setup.shared, ca_key_file=base / "ca.key")
    write_account_files(setup.shared, [_account("station-d1"), _account("ws-server")])
    env = {
        **os.environ,
        "PATH": f"{Path(mosquitto_binary()).parent}:{os.environ['PATH']}",
        "WS_BROKER_SHARED": str(setup.shared),
        "WS_BROKER_AUTH": str(base / "auth"),
        "WS_BROKER_CONF": str(base / "mosquitto.conf"),
        "WS_BROKER_DATA": str(base / "data"),
        "WS_BROKER_POLL_S": "0.1",
    }
    with (base / "broker.log").open("ab") as log:
        process = spawn(["sh", str(ROOT / "deploy" / "broker-entrypoint.sh")], log=log, env=env)
    try:
        wait_for(
            lambda: port_open(setup.port) and port_open(setup.internal_port),
            what=f"the deployed broker: {(base / 'broker.log').read_text()[-500:]}",
        )
        yield setup
    finally:
        code = stop(process, 5.0)  # SIGTERM: the script stops Mosquitto and waits for it
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)  # anything of its group left over
        shutil.rmtree(base, ignore_errors=True)
        assert code == 0, "the entry point did not stop cleanly"


def test_the_entry_point_installs_the_files_and_reloads_on_change(deployed: Deployed) -> None:
    assert deployed.logs_in("station-d1")
    assert deployed.logs_in("ws-server")
    assert not deployed.logs_in("station-d2")
    installed = deployed.base / "auth" / "stations.passwd"
    assert stat.S_IMODE(installed.stat().st_mode) == 0o600
    if os.geteuid() == 0:
        assert installed.owner() == "mosquitto"  # the user Mosquitto runs as, not ours

    accounts = [_account(name) for name in PASSWORDS]
    write_account_files(deployed.shared, accounts)
    wait_for(lambda: deployed.logs_in("station-d2"), what="the new station let in")
    assert deployed.logs_in("station-d1")
