"""Camera over OpenCV's VideoCapture (a device index or path, a stream URL or a video file),
read by its own thread so that the agent's loop never waits on the device.

The reader keeps only the newest frame (grey: the decoder and the health check need no
colour) and tells subscribers at once, so the agent reads each frame as it arrives, at the
camera's own rate. ``read()`` hands it out while it is fresh; a camera that is unplugged, hangs or a
file that ends gives ``None`` (the door machine turns lasting ``None`` into a camera tamper
alarm) while the reader reopens it with a doubling backoff. A video file is played at its own
frame rate, as a camera would deliver it, and starts again after its end: a loop for dev and
tests.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from pathlib import Path

import cv2
import numpy as np

from station_agent.ports import Frame

log = logging.getLogger(__name__)


class OpenCvCamera:
    """Implements Camera."""

    def __init__(
        self,
        source: int | str,
        *,
        width: int = 640,
        height: int = 480,
        stale_s: float = 2.0,
        retry_s: float = 0.5,
        retry_max_s: float = 10.0,
    ) -> None:
        self.source = source
        self._size = (width, height)
        self._stale_s = stale_s
        self._retry_s, self._retry_max_s = retry_s, max(retry_s, retry_max_s)
        self._guard = threading.Lock()
        self._frame: Frame | None = None
        self._frame_at = 0.0  # time.monotonic() of the newest frame
        self.opened = 0  # how many times the source was opened (for tests and the log)
        self._subscribers: list[Callable[[], None]] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="camera", daemon=True)
        self._thread.start()

    def read(self) -> Frame | None:
        """The newest frame, or None when there has been none for ``stale_s``."""
        with self._guard:
            if self._frame is None or time.monotonic() - self._frame_at > self._stale_s:
                return None
            return self._frame

    def subscribe(self, callback: Callable[[], None]) -> None:
        self._subscribers.append(callback)

    def close(self) -> None:
        self._stop.set()
        self._thread.join(timeout=3.0)

    # -- the reader thread -------------------------------------------------------------
    def _run(self) -> None:
        delay = self._retry_s
        quiet = False  # an outage is logged once, not at every retry
        while not self._stop.is_set():
            # Asked at every open: a recording may appear (or a device path vanish) meanwhile.
            is_file = isinstance(self.source, str) and Path(self.source).is_file()
            capture = self._open(is_file)
            if capture is None:
                if not quiet:
                    log.warning("camera %r: cannot open it; retrying", self.source)
                quiet = True
            else:
                frames = self._pump(capture, is_file)
                capture.release()
                if frames:
                    delay, quiet = self._retry_s, is_file  # it worked: retry soon
                    if not is_file:
                        log.warning("camera %r: no more frames; reopening", self.source)
            self._lost()
            if self._stop.wait(delay):
                break
            delay = min(delay * 2, self._retry_max_s)

    def _open(self, is_file: bool) -> cv2.VideoCapture | None:
        capture = cv2.VideoCapture(self.source)
        if not capture.isOpened():
            capture.release()
            return None
        if not is_file:
            capture.set(cv2.CAP_PROP_FRAME_WIDTH, self._size[0])
            capture.set(cv2.CAP_PROP_FRAME_HEIGHT, self._size[1])
            capture.set(cv2.CAP_PROP_BUFFERSIZE, 1)  # the newest frame, not a queue of old ones
        self.opened += 1
        return capture

    def _pump(self, capture: cv2.VideoCapture, is_file: bool) -> int:
        """Read frames until the source fails or ends, or the camera is closed."""
        fps = capture.get(cv2.CAP_PROP_FPS) if is_file else 0.0
        period = 1.0 / fps if fps > 0 else 0.0
        frames = 0
        next_at = time.monotonic()
        while not self._stop.is_set():
            ok, image = capture.read()
            if not ok or image is None:
                return frames
            grey = image if image.ndim == 2 else cv2.cvtColor(image, cv2.COLOR_BGR2GRAY)
            with self._guard:
                self._frame = np.ascontiguousarray(grey, dtype=np.uint8)
                self._frame_at = time.monotonic()
            for callback in self._subscribers:
                callback()
            frames += 1
            if period:
                next_at += period
                if self._stop.wait(max(0.0, next_at - time.monotonic())):
                    break
        return frames

    def _lost(self) -> None:
        with self._guard:
            self._frame = None
