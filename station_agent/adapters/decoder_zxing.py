"""QrDecoder over zxing-cpp: QR codes only, about ten times faster than zbar on the door
camera's frames (``bench/bench_decoders.py``; docs/architecture.md, "Station hardware").

zxing-cpp alone misses about 1 presentation in 500 that zbar reads (a dim, cracked screen: it
finds the symbol but its error correction gives up, whatever the next frames). So a frame
where it found a QR code it could not read goes to the ``fallback`` decoder too; that is rare,
and the empty doorway, most of what a station sees, never pays for it.
"""

from __future__ import annotations

import zxingcpp

from station_agent.ports import Frame, QrDecoder

_QR = zxingcpp.BarcodeFormats(zxingcpp.BarcodeFormat.QRCode)


class ZxingDecoder:
    def __init__(self, fallback: QrDecoder | None = None) -> None:
        self._fallback = fallback
        self.fallbacks = 0  # frames handed on (for the bench)

    def decode(self, frame: Frame) -> list[str]:
        found = zxingcpp.read_barcodes(frame, formats=_QR, return_errors=self._fallback is not None)
        # The raw bytes as latin-1, as the zbar adapter gives them: our tokens are ASCII, and
        # anything else still reaches the verifier, which names it.
        texts = [barcode.bytes.decode("latin-1") for barcode in found if barcode.valid]
        if self._fallback is not None and len(texts) < len(found):
            self.fallbacks += 1
            texts += [text for text in self._fallback.decode(frame) if text not in texts]
        return texts
