"""``station_agent enrol BUNDLE``: make this box the station a provisioning bundle names.

A bundle works once, until it expires, and only for the server this box already answers to
(unless staff re-purpose the box with ``--replace``): a bundle found on a USB stick a week
later, or copied to a second box, or from another deployment, enrols nothing.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime
from pathlib import Path

import cv2
import numpy as np

from protocol.payloads import PayloadError, ProvisioningBundle, parse
from station_agent.cli.files import (
    BUNDLE_FILE,
    ENROLLED_FILE,
    CliError,
    read_bundle,
    read_config,
    state_dir,
)
from station_agent.enrolment import write_private

IMAGE_SUFFIXES = frozenset({".png", ".jpg", ".jpeg"})


def enrol(
    bundle_path: Path, *, config_path: Path | None, replace: bool = False, now: float | None = None
) -> str:
    """Store the bundle (owner-only) and say what this box now is; CliError if refused."""
    now = time.time() if now is None else now
    if bundle_path.suffix.lower() in IMAGE_SUFFIXES:
        bundle = bundle_from_image(bundle_path)
    else:
        bundle = read_bundle(bundle_path, enrolled=False)
    directory = state_dir(read_config(config_path))
    if now > bundle.expires_at.timestamp():
        raise CliError(
            f"this bundle expired at {bundle.expires_at:%Y-%m-%d %H:%M} UTC: ask staff for a new"
            " one (server.cli reprovision)"
        )
    enrolled_file = directory / ENROLLED_FILE
    used = enrolled_file.read_text().split() if enrolled_file.exists() else []
    if bundle.bundle_id in used:
        raise CliError("this bundle was enrolled before: each works once; ask staff for a new one")
    current_file = directory / BUNDLE_FILE
    if current_file.exists() and not replace:
        _refuse_another_owner(read_bundle(current_file), bundle)
    if current_file.exists() and replace:
        _set_aside(directory, read_bundle(current_file), bundle, now)
    write_private(current_file, bundle.model_dump_json(indent=2))
    write_private(
        enrolled_file, "".join(f"{bundle_id}\n" for bundle_id in [*used, bundle.bundle_id])
    )
    return (
        f"enrolled as station {bundle.station_id}: broker {bundle.broker_host}:{bundle.broker_port}"
        f" ({'TLS' if bundle.broker_ca_pem else 'plain'}), control keys"
        f" {', '.join(sorted(bundle.control_keys))}; bundle stored in {current_file}"
    )


def bundle_from_image(path: Path) -> ProvisioningBundle:
    """A bundle shown as a QR code (``server.cli provision --qr``), photographed or saved."""
    from station_agent.adapters.hardware import default_decoder

    image = cv2.imread(str(path), cv2.IMREAD_COLOR) if path.is_file() else None
    if image is None:
        raise CliError(f"cannot read {path}: not a readable image")
    codes = default_decoder().decode(np.asarray(image, dtype=np.uint8))
    if len(codes) != 1:
        raise CliError(f"{path}: found {len(codes)} QR codes, expected the bundle's one")
    try:
        return parse(ProvisioningBundle, codes[0].encode())
    except PayloadError as exc:
        raise CliError(f"the QR code in {path} is not a station bundle: {exc}") from None


def _refuse_another_owner(current: ProvisioningBundle, new: ProvisioningBundle) -> None:
    if not set(current.control_keys) & set(new.control_keys):
        raise CliError(
            "this bundle is from another server than the one this box answers to"
            " (no control key in common): use --replace to re-purpose the box"
        )
    if current.station_id != new.station_id:
        raise CliError(
            f"this box is station {current.station_id}, the bundle is for {new.station_id}:"
            " use --replace to re-purpose the box"
        )


def _set_aside(
    directory: Path, current: ProvisioningBundle, new: ProvisioningBundle, now: float
) -> None:
    """Re-purposed for another station: its store (outbox, replay cache) is the old
    station's; keep it beside, for staff to drain, and start afresh."""
    if current.station_id == new.station_id:
        return  # the same station, a new identity: its outbox goes on
    stamp = datetime.fromtimestamp(now, UTC).strftime("%Y%m%dT%H%M%S")
    for name in ("agent.db", "agent.db-wal", "agent.db-shm"):
        old = directory / name
        if old.exists():
            old.rename(directory / f"{name}.{current.station_id}.{stamp}")
