"""Device certificates for riders' phones (``protocol.device_cert``): the server certifies a
phone's own key for a few hours, so that the phone can make codes at a door without signal.

Issued only to an active rider, authenticated by their link, at most ``per_hour`` in any hour
(a page that renews its certificate asks about twice a day; the limit stops a loop or a script
from filling the table). Each one is recorded: the rate limit counts them, and the minute jobs
delete them a day after they expire.
"""

from __future__ import annotations

import base64
import binascii
import math
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlmodel import Session, col, delete, select

from protocol.device_cert import DeviceCert, device_key_from_bytes, sign_cert
from server.core.localtime import as_utc
from server.keys.ring import KeyEntry
from server.riders.models import DeviceCertRecord, Rider

RATE_WINDOW = timedelta(hours=1)
KEPT_AFTER_EXPIRY = timedelta(days=1)


class TooManyDeviceCertsError(Exception):
    """This rider had their hourly share; ``retry_after_s`` until the oldest leaves the window."""

    def __init__(self, retry_after_s: int) -> None:
        super().__init__(f"too many device certificates; try again in {retry_after_s} s")
        self.retry_after_s = retry_after_s


@dataclass(frozen=True, slots=True)
class IssuedCert:
    signed: bytes  # certificate bytes and the server's signature, as the phone keeps them
    cert: DeviceCert


def parse_device_key(text: str) -> bytes:
    """The compressed point of a P-256 public key sent as base64url (padding optional).
    Raises ValueError saying what is wrong."""
    try:
        raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (binascii.Error, ValueError):
        raise ValueError("public_key is not base64url") from None
    return device_key_from_bytes(raw)


def issue_device_cert(
    session: Session,
    *,
    rider: Rider,
    device_key: bytes,
    signer: KeyEntry,
    audience: str,
    lifetime_s: int,
    presentation_lifetime_s: int,
    per_hour: int,
    now: float,
) -> IssuedCert:
    """Sign and record a certificate for ``device_key``. The caller has checked the rider is
    active (their link works, not revoked); raises ``TooManyDeviceCertsError``."""
    at = datetime.fromtimestamp(now, UTC)
    recent = session.exec(
        select(DeviceCertRecord.issued_at)
        .where(
            DeviceCertRecord.rider_id == rider.id,
            col(DeviceCertRecord.issued_at) > at - RATE_WINDOW,
        )
        .order_by(col(DeviceCertRecord.issued_at))
    ).all()
    if len(recent) >= per_hour:
        leaves_at = as_utc(recent[len(recent) - per_hour]) + RATE_WINDOW
        raise TooManyDeviceCertsError(max(1, math.ceil((leaves_at - at).total_seconds())))
    cert = DeviceCert(
        kid=signer.kid,
        rider_id=rider.id,
        audience=audience,
        not_before=int(now),
        not_after=int(now) + lifetime_s,
        presentation_lifetime_s=presentation_lifetime_s,
        credential_version=rider.credential_version,
        device_key=device_key,
    )
    signed = sign_cert(cert, signer.private_key)
    session.add(
        DeviceCertRecord(
            rider_id=rider.id,
            kid=signer.kid,
            device_key=base64.b64encode(device_key).decode("ascii"),
            credential_version=rider.credential_version,
            issued_at=at,
            not_after=datetime.fromtimestamp(cert.not_after, UTC),
        )
    )
    session.commit()
    return IssuedCert(signed, cert)


def prune_device_certs(session: Session, *, now: datetime) -> None:
    """Forget certificates that expired more than a day ago (in the minute jobs)."""
    session.exec(
        delete(DeviceCertRecord).where(col(DeviceCertRecord.not_after) < now - KEPT_AFTER_EXPIRY)
    )
    session.commit()
