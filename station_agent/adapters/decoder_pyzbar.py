"""QrDecoder over zbar (pyzbar): QR codes only, on a grey image."""

from __future__ import annotations

import cv2
from pyzbar import pyzbar

from station_agent.ports import Frame


class PyzbarDecoder:
    def decode(self, frame: Frame) -> list[str]:
        grey = frame if frame.ndim == 2 else cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY)
        found = pyzbar.decode(grey, symbols=[pyzbar.ZBarSymbol.QRCODE])
        # Our tokens are ASCII; anything else still reaches the verifier, which names it.
        return [symbol.data.decode("latin-1") for symbol in found]
