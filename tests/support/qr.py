"""QR images of arbitrary text, for codes that are not ours."""

from __future__ import annotations

from server.riders.tokens import render_qr_png


def qr_png(text: str) -> bytes:
    return render_qr_png(text)
