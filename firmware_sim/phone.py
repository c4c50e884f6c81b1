"""What a phone (or a printed sticker) shows: any text as a QR image."""

from __future__ import annotations

import io

import qrcode
from qrcode.image.pil import PilImage


def render_qr_png(text: str) -> bytes:
    image = qrcode.make(text, image_factory=PilImage, box_size=8, border=4)
    out = io.BytesIO()
    image.save(out, format="PNG")
    return out.getvalue()
