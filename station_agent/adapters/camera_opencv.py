"""Camera over OpenCV's VideoCapture: a device index, a stream URL or a video file."""

from __future__ import annotations

import cv2
import numpy as np

from station_agent.ports import Frame


class CameraError(RuntimeError):
    """The camera could not be opened."""


class OpenCvCamera:
    def __init__(self, source: int | str, *, width: int = 640, height: int = 480) -> None:
        self._capture = cv2.VideoCapture(source)
        if not self._capture.isOpened():
            raise CameraError(f"cannot open camera {source!r}")
        self._capture.set(cv2.CAP_PROP_FRAME_WIDTH, width)
        self._capture.set(cv2.CAP_PROP_FRAME_HEIGHT, height)

    def read(self) -> Frame | None:
        ok, frame = self._capture.read()
        return np.asarray(frame, dtype=np.uint8) if ok else None

    def close(self) -> None:
        self._capture.release()
