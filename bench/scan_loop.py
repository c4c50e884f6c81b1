"""The agent's scan loop on a camera at its native rate: CPU and whether it keeps up.

The real ``StationAgent`` (its SQLite store in a temporary directory, no broker: nothing here
is about the network) is fed by a camera thread that hands out pre-rendered 640x480 frames at
25 a second and announces each, as ``OpenCvCamera`` does. Two doorways: empty (most of a
station's day) and a rider holding a code up (every frame holds one). Two loops side by side:

- before: the loop polled the camera every ``frame_interval_s`` (0.1 s, 10 frames/s) with the
  decoder as it was (zxing-cpp's defaults, zbar for a symbol it could not read); with zbar
  alone as well, the decoder of the issue's measurement;
- now: every announced frame read at once, the pipeline of ``hardware.default_decoder``.

CPU is the process's (user + system) over the run, so it includes the camera thread, which
only swaps arrays. Used by ``bench/scanner.py``.
"""

from __future__ import annotations

import random
import resource
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path

import zxingcpp

from firmware_sim.camera import Pose, SimCamera
from firmware_sim.display import SimDisplay
from firmware_sim.door import SimDoor
from firmware_sim.exit_button import SimExitButton
from firmware_sim.lock import SimLock
from protocol.payloads import AccessRequest, Heartbeat
from protocol.signing import SigningKey
from server.riders.tokens import render_qr_png
from station_agent.adapters.decoder_pyzbar import PyzbarDecoder
from station_agent.adapters.hardware import default_decoder
from station_agent.adapters.store_sqlite import AgentStore
from station_agent.config import AgentSettings
from station_agent.inbox import Inbox
from station_agent.loop import StationAgent
from station_agent.ports import Frame, Hardware, QrDecoder

_QR = zxingcpp.BarcodeFormats(zxingcpp.BarcodeFormat.QRCode)


class DecoderAsItWas:
    """zxing-cpp with its default options, zbar for a symbol it found but could not read."""

    def __init__(self) -> None:
        self._zbar = PyzbarDecoder()

    def decode(self, frame: Frame) -> list[str]:
        found = zxingcpp.read_barcodes(frame, formats=_QR, return_errors=True)
        texts = [code.text for code in found if code.valid]
        if len(texts) < len(found):
            texts += [text for text in self._zbar.decode(frame) if text not in texts]
        return texts


class PacedCamera:
    """Implements Camera: a thread hands out the given frames in turn at ``fps``, announcing
    each (a new array each time, as a real camera's reader makes one per frame)."""

    def __init__(self, frames: list[Frame], fps: float, *, announce: bool) -> None:
        self._frames = frames
        self._period = 1.0 / fps
        self._announce = announce
        self._frame: Frame | None = None
        self._subscribers: list[Callable[[], None]] = []
        self._stop = threading.Event()
        self.delivered = 0
        self._thread = threading.Thread(target=self._run, name="paced-camera", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def read(self) -> Frame | None:
        return self._frame

    def subscribe(self, callback: Callable[[], None]) -> None:
        if self._announce:
            self._subscribers.append(callback)

    def close(self) -> None:
        self._stop.set()
        self._thread.join(timeout=2.0)

    def _run(self) -> None:
        next_at = time.monotonic()
        while not self._stop.is_set():
            self._frame = self._frames[self.delivered % len(self._frames)].copy()
            self.delivered += 1
            for callback in self._subscribers:
                callback()
            next_at += self._period
            self._stop.wait(max(0.0, next_at - time.monotonic()))


class OfflineTransport:
    """Implements Transport: never connected (the scan loop is measured, not the network)."""

    def start(self) -> None: ...

    def stop(self) -> None: ...

    def is_connected(self) -> bool:
        return False

    def request_access(self, request: AccessRequest) -> None: ...

    def publish_event(self, payload: bytes) -> None: ...

    def publish_heartbeat(self, heartbeat: Heartbeat) -> None: ...

    def publish_state(self, *, online: bool) -> None: ...


def scene_frames(holding_code: bool, count: int = 20) -> list[Frame]:
    camera, rng = SimCamera(seed=5), random.Random(5)
    if holding_code:
        camera.present(
            render_qr_png("WS1:" + "6BFOXN*TS0BI$ZD.P9 JH+$3-:/K%" * 6), Pose.random(rng)
        )
    frames = []
    for _ in range(count):
        frame = camera.read()
        assert frame is not None
        frames.append(frame)
    return frames


def run_loop(
    frames: list[Frame], decoder: QrDecoder, *, announce: bool, seconds: float, fps: float
) -> dict[str, float]:
    control, own = SigningKey.generate(), SigningKey.generate()
    with tempfile.TemporaryDirectory() as data_dir:
        settings = AgentSettings(
            station_id="bench-01",
            control_keys={control.kid: control.public_key_text},
            station_key=own.to_text(),
            data_dir=Path(data_dir),
            frame_interval_s=0.1,
        )
        camera = PacedCamera(frames, fps, announce=announce)
        lock = SimLock()
        hardware = Hardware(camera, decoder, lock, SimDoor(lock), SimExitButton(), SimDisplay())
        clock = time.time
        agent = StationAgent(
            settings,
            hardware,
            OfflineTransport(),
            Inbox(),
            clock,
            "bench",
            AgentStore(settings.store_path),
        )
        runner = threading.Thread(target=agent.run, name="agent-loop")
        camera.start()
        runner.start()
        time.sleep(0.5)  # settle
        decoded, delivered = agent.frames_decoded, camera.delivered
        started, usage = time.monotonic(), resource.getrusage(resource.RUSAGE_SELF)
        time.sleep(seconds)
        after = resource.getrusage(resource.RUSAGE_SELF)
        elapsed = time.monotonic() - started
        decoded, delivered = agent.frames_decoded - decoded, camera.delivered - delivered
        agent.stopping.set()
        runner.join(timeout=10.0)
    cpu = (after.ru_utime - usage.ru_utime) + (after.ru_stime - usage.ru_stime)
    return {
        "cpu_pct": 100.0 * cpu / elapsed,
        "frames_per_s": delivered / elapsed,
        "decoded_per_s": decoded / elapsed,
        "kept_up": decoded / delivered if delivered else 0.0,
        "cpu_ms_per_frame": 1e3 * cpu / decoded if decoded else 0.0,
    }


def measure_scan_loop(seconds: float, fps: float = 25.0) -> dict[str, dict[str, float]]:
    setups: dict[str, tuple[Callable[[], QrDecoder], bool]] = {
        "before, zbar": (PyzbarDecoder, False),
        "before": (DecoderAsItWas, False),
        "now": (default_decoder, True),
    }
    result: dict[str, dict[str, float]] = {}
    print(f"\nscan loop, camera at {fps:.0f} frames/s, 640x480, {seconds:.0f} s each")
    print(
        f"{'loop':14s} {'doorway':8s} {'CPU %':>6s} {'frames/s':>9s} {'decoded/s':>10s} "
        f"{'kept up':>8s} {'CPU ms/decoded':>15s}"
    )
    for scene in ("empty", "code"):
        frames = scene_frames(holding_code=scene == "code")
        for name, (make_decoder, announce) in setups.items():
            row = run_loop(frames, make_decoder(), announce=announce, seconds=seconds, fps=fps)
            result[f"{name} / {scene}"] = row
            print(
                f"{name:14s} {scene:8s} {row['cpu_pct']:6.1f} {row['frames_per_s']:9.1f} "
                f"{row['decoded_per_s']:10.1f} {row['kept_up']:8.1%} "
                f"{row['cpu_ms_per_frame']:15.2f}"
            )
    return result
