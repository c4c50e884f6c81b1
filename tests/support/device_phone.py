"""A rider's phone that makes device codes (protocol/device_cert.py), as the rider page does in
JavaScript: its own P-256 key, a certificate from the server through the rider's link, and a
fresh signed presentation for each code."""

from __future__ import annotations

import base64
import time
from dataclasses import dataclass, field

import httpx
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from protocol.device_cert import present


def public_key_text(key: ec.EllipticCurvePrivateKey) -> str:
    """The public key as the page sends it: WebCrypto's raw export (65 bytes), base64url."""
    raw = key.public_key().public_bytes(Encoding.X962, PublicFormat.UncompressedPoint)
    return base64.urlsafe_b64encode(raw).decode("ascii").rstrip("=")


@dataclass
class DevicePhone:
    key: ec.EllipticCurvePrivateKey = field(
        default_factory=lambda: ec.generate_private_key(ec.SECP256R1())
    )
    signed_cert: bytes = b""

    def certify(self, client: httpx.Client, link: str) -> httpx.Response:
        """Ask the server for a certificate (while online); kept when it is granted."""
        reply = client.post(f"{link}/device-cert", json={"public_key": public_key_text(self.key)})
        if reply.status_code == 200:
            text = reply.json()["certificate"]
            self.signed_cert = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
        return reply

    def code(self, now: float | None = None) -> str:
        """A device code with a fresh presentation (no network needed)."""
        assert self.signed_cert, "no certificate yet"
        return present(self.signed_cert, self.key, now=time.time() if now is None else now)
