"""`docker compose up --scale server=3` starts the replicas together on one data volume: each
prepares the broker's TLS material at start. They must end with one CA, whose key matches its
certificate and which signed the broker's certificate, whichever replica wrote last."""

from __future__ import annotations

import fcntl
import os
import subprocess
import sys
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from server.broker import sync
from server.core.db import make_engine
from server.core.settings import ServerSettings

ROOT = Path(__file__).parents[2]
REPLICAS = 6

_PREPARE = """
import sys
from pathlib import Path
from server.broker.sync import BrokerSync
from server.core.db import make_engine
from server.core.settings import ServerSettings
data, auth = Path(sys.argv[1]), Path(sys.argv[2])
settings = ServerSettings(data_dir=data, broker_auth_dir=auth, broker_issue_tls=True,
                          broker_tls_hosts=["broker"])
sys.stdin.readline()  # start together
BrokerSync(settings, make_engine("sqlite://")).prepare_tls()
"""


def test_replicas_starting_together_share_one_ca(tmp_path: Path) -> None:
    data, auth = tmp_path / "data", tmp_path / "broker"
    replicas = [
        subprocess.Popen(
            [sys.executable, "-c", _PREPARE, str(data), str(auth)],
            cwd=ROOT,
            stdin=subprocess.PIPE,
            text=True,
            env={**os.environ},
        )
        for _ in range(REPLICAS)
    ]
    for replica in replicas:  # all imported and waiting: release them at once
        assert replica.stdin is not None
        replica.stdin.write("go\n")
        replica.stdin.close()
    for replica in replicas:
        assert replica.wait(timeout=60) == 0
    ca = x509.load_pem_x509_certificate((auth / "ca.crt").read_bytes())
    ca_key = serialization.load_pem_private_key((data / "broker-ca.key").read_bytes(), None)
    assert isinstance(ca_key, ec.EllipticCurvePrivateKey)
    assert ca_key.public_key().public_numbers() == ca.public_key().public_numbers()  # type: ignore[union-attr]
    broker = x509.load_pem_x509_certificate((auth / "broker.crt").read_bytes())
    broker.verify_directly_issued_by(ca)
    broker_key = serialization.load_pem_private_key((auth / "broker.key").read_bytes(), None)
    assert broker_key.public_key().public_numbers() == broker.public_key().public_numbers()  # type: ignore[union-attr]


def test_the_tls_material_is_made_under_the_replicas_lock(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """While one replica makes the files, another cannot take the lock (flock is per open
    file, so a second open in this process stands for another replica)."""
    settings = ServerSettings(
        data_dir=tmp_path / "data", broker_auth_dir=tmp_path / "broker", broker_issue_tls=True
    )
    probed: list[bool] = []

    def ensure(*args: object, **kwargs: object) -> None:
        with (settings.data_dir / ".broker-tls.lock").open("a") as other:
            try:
                fcntl.flock(other, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                probed.append(True)
            else:
                probed.append(False)

    monkeypatch.setattr(sync, "ensure_broker_tls", ensure)
    sync.BrokerSync(settings, make_engine("sqlite://")).prepare_tls()
    assert probed == [True]
