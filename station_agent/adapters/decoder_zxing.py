"""QrDecoder over zxing-cpp: QR codes only, in up to three looks at a frame, cheapest first,
then zbar for the rare small frame with a symbol zxing-cpp found but could not correct.

Measured on the door corpus of ``bench/scanner.py`` (docs/benchmarks.md, "Scanner"):

- zxing-cpp without its 90° rotations, inverted-colour and downscaled passes reads every code
  its defaults read but a few dim ones, in a third of the time (a QR code is found at any
  angle anyway; a phone never shows light-on-dark; the half-size look below is the better
  downscale);
- a frame where nothing was read gets a second look at half size (area-averaged: it halves a
  motion smear and the sensor noise of a dim frame), then a third with a fixed threshold
  instead of the local-average binarizer (a smear leaves too little local contrast); those two
  read about 5 % more of the codes, mostly motion blur and low light, and cost well under a
  millisecond on an empty 640x480 frame;
- above 1280 pixels wide the half-size look comes first (it reads as much as the full frame
  there, in a third of the time) and the fixed threshold looks at half size too;
- ``fallback`` (zbar, ``hardware.default_decoder``) gets a dim frame of at most 640 pixels
  wide in which some look found a symbol it could not correct: there zbar still read about 2 %
  more codes; on brighter or wider frames it read none and costs 8-54 ms. The empty doorway
  never pays for it.
"""

from __future__ import annotations

from collections.abc import Callable

import cv2
import numpy as np
import zxingcpp

from station_agent.ports import Frame, QrDecoder

_QR = zxingcpp.BarcodeFormats(zxingcpp.BarcodeFormat.QRCode)
_HALF_FIRST_ABOVE_PX = 1280  # frame width beyond which the half-size look goes first
# zbar reads some codes on dim screens that zxing-cpp finds but cannot correct, at 640x480;
# on brighter frames (motion blur, mostly) and wider ones it read none and costs 8-54 ms a
# frame (bench/scanner.py).
FALLBACK_MAX_WIDTH = 640
DIM_MEAN = 60.0  # grey level: a frame darker than this on average is dim

Look = Callable[[Frame], list[zxingcpp.Barcode]]


def _read(
    frame: Frame,
    binarizer: zxingcpp.Binarizer = zxingcpp.Binarizer.LocalAverage,
    *,
    try_downscale: bool = True,
) -> list[zxingcpp.Barcode]:
    return zxingcpp.read_barcodes(
        frame,
        formats=_QR,
        try_rotate=False,
        try_invert=False,
        try_downscale=try_downscale,
        binarizer=binarizer,
        return_errors=True,
    )


def as_is(frame: Frame) -> list[zxingcpp.Barcode]:
    # zxing-cpp's own downscaled passes are left to the half-size look, which reads more.
    return _read(frame, try_downscale=False)


def _half(frame: Frame) -> Frame:
    height, width = frame.shape[:2]
    half = cv2.resize(frame, (width // 2, height // 2), interpolation=cv2.INTER_AREA)
    return np.asarray(half, dtype=np.uint8)


def halved(frame: Frame) -> list[zxingcpp.Barcode]:
    return _read(_half(frame))


def fixed_threshold(frame: Frame) -> list[zxingcpp.Barcode]:
    return _read(frame, zxingcpp.Binarizer.FixedThreshold)


def halved_fixed_threshold(frame: Frame) -> list[zxingcpp.Barcode]:
    return _read(_half(frame), zxingcpp.Binarizer.FixedThreshold)


def looks_for(frame: Frame, *, second_looks: bool = True) -> tuple[Look, ...]:
    """The looks a frame of this size gets, in order, until one reads a code."""
    if not second_looks:
        return (as_is,)
    if frame.shape[1] > _HALF_FIRST_ABOVE_PX:
        return (halved, as_is, halved_fixed_threshold)
    return (as_is, halved, fixed_threshold)


class ZxingDecoder:
    def __init__(
        self,
        fallback: QrDecoder | None = None,
        *,
        second_looks: bool = True,
        fallback_max_width: int = FALLBACK_MAX_WIDTH,
    ) -> None:
        self._fallback = fallback
        self._second_looks = second_looks
        self._fallback_max_width = fallback_max_width
        self.fallbacks = 0  # frames handed on (for the bench)

    def decode(self, frame: Frame) -> list[str]:
        unreadable = False  # a symbol was found but its error correction gave up
        for look in looks_for(frame, second_looks=self._second_looks):
            found = look(frame)
            # The raw bytes as latin-1, as the zbar adapter gives them: our tokens are ASCII,
            # and anything else still reaches the verifier, which names it.
            texts = [barcode.bytes.decode("latin-1") for barcode in found if barcode.valid]
            if texts:
                return texts
            unreadable = unreadable or bool(found)
        if self._fallback is None or not unreadable or frame.shape[1] > self._fallback_max_width:
            return []
        if float(frame[::8, ::8].mean()) >= DIM_MEAN:
            return []
        # The whole frame: on the symbol's region alone zbar read none of those codes.
        self.fallbacks += 1
        return self._fallback.decode(frame)
