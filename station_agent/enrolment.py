"""A provisioning bundle (``protocol.payloads.ProvisioningBundle``, made by the server when
staff add the station) turned into this station's settings: broker address and account, the
broker's CA (written beside the store, owner-only), the control keys to pin, and the
station's own signing key."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from protocol.payloads import ProvisioningBundle
from station_agent.config import AgentSettings


def write_private(path: Path, text: str) -> None:
    """Owner-only from the start (the bundle's secrets never sit readable by others)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w") as out:
        out.write(text)
    path.chmod(0o600)


def settings_from_bundle(
    bundle: ProvisioningBundle, *, data_dir: Path, **overrides: Any
) -> AgentSettings:
    ca_file: Path | None = None
    if bundle.broker_ca_pem is not None:
        ca_file = data_dir / "broker-ca.pem"
        write_private(ca_file, bundle.broker_ca_pem)
    values: dict[str, Any] = {
        "station_id": bundle.station_id,
        "broker_host": bundle.broker_host,
        "broker_port": bundle.broker_port,
        "broker_username": bundle.broker_username,
        "broker_password": bundle.broker_password,
        "broker_ca_file": ca_file,
        "control_keys": dict(bundle.control_keys),
        "station_key": bundle.station_key,
        "data_dir": data_dir,
    }
    return AgentSettings(**(values | overrides))
