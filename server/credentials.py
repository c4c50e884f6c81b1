"""Issuing a rider's short-lived token and drawing it as a QR image."""

from __future__ import annotations

import io
from datetime import UTC, datetime

import qrcode
import qrcode.constants
from qrcode.image.pil import PilImage

from protocol.credential import Claims, new_nonce, sign_token
from server.keys import SigningKey
from server.models import Rider


def issue_token(
    *, rider: Rider, key: SigningKey, audience: str, lifetime_s: int, now: float
) -> tuple[str, datetime]:
    claims = Claims(
        kid=key.kid,
        rider_id=rider.id,
        audience=audience,
        issued_at=int(now),
        lifetime_s=lifetime_s,
        nonce=new_nonce(),
        credential_version=rider.credential_version,
    )
    return sign_token(claims, key.private_key), datetime.fromtimestamp(claims.expires_at, UTC)


def render_qr_png(text: str, *, box_size: int = 8) -> bytes:
    """A high-contrast QR image; error correction M tolerates a cracked screen or some glare."""
    code = qrcode.QRCode(
        error_correction=qrcode.constants.ERROR_CORRECT_M, box_size=box_size, border=4
    )
    code.add_data(text, optimize=0)  # one segment: the token is all alphanumeric-mode text
    code.make(fit=True)
    image = code.make_image(image_factory=PilImage)
    out = io.BytesIO()
    image.save(out, format="PNG")
    return out.getvalue()
