"""Issuing a rider's short-lived token and drawing it as a QR image (PNG or SVG)."""

from __future__ import annotations

import io
from datetime import UTC, datetime
from typing import Any

import qrcode
import qrcode.constants
from qrcode.image.pil import PilImage
from qrcode.image.svg import SvgPathFillImage

from protocol.credential import Claims, new_nonce, sign_token
from server.keys.ring import KeyEntry
from server.riders.models import Rider


def issue_token(
    *, rider: Rider, signer: KeyEntry, audience: str, lifetime_s: int, now: float
) -> tuple[str, datetime]:
    claims = Claims(
        kid=signer.kid,
        rider_id=rider.id,
        audience=audience,
        issued_at=int(now),
        lifetime_s=lifetime_s,
        nonce=new_nonce(),
        credential_version=rider.credential_version,
    )
    return sign_token(claims, signer.private_key), datetime.fromtimestamp(claims.expires_at, UTC)


_CORRECTION = {"L": qrcode.constants.ERROR_CORRECT_L, "M": qrcode.constants.ERROR_CORRECT_M}


def _qr(text: str, box_size: int, error_correction: str = "M") -> qrcode.QRCode[Any]:
    # Error correction M tolerates a cracked screen or some glare; one segment, since the
    # token is all alphanumeric-mode text.
    code: qrcode.QRCode[Any] = qrcode.QRCode(
        error_correction=_CORRECTION[error_correction], box_size=box_size, border=4
    )
    code.add_data(text, optimize=0)
    code.make(fit=True)
    return code


def qr_version(text: str, *, error_correction: str = "M") -> int:
    """The QR version (size: 17 + 4 x version modules) this text is drawn at."""
    return int(_qr(text, 1, error_correction).version)


def render_qr_png(text: str, *, box_size: int = 8, error_correction: str = "M") -> bytes:
    image = _qr(text, box_size, error_correction).make_image(image_factory=PilImage)
    out = io.BytesIO()
    image.save(out, format="PNG")
    return out.getvalue()


def render_qr_svg(text: str) -> str:
    """A scalable QR with a white background, for the rider page to draw at any size."""
    image = _qr(text, 10).make_image(image_factory=SvgPathFillImage)
    svg: str = image.to_string(encoding="unicode")
    return svg
