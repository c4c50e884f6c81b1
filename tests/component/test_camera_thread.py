"""The OpenCV camera adapter's reader thread, fed recordings of the simulated door
(``firmware_sim.video``): newest frame only, never blocking, gone and back again."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from firmware_sim.phone import render_qr_png
from firmware_sim.video import write_door_video
from station_agent.adapters.camera_opencv import OpenCvCamera
from station_agent.adapters.decoder_zxing import ZxingDecoder
from station_agent.core import door
from station_agent.core.camera_health import classify
from station_agent.core.door import AlarmKind, CameraHealth, DoorState, DoorTimings
from station_agent.ports import Frame


@pytest.fixture
def cameras() -> Iterator[Callable[..., OpenCvCamera]]:
    opened: list[OpenCvCamera] = []

    def make(source: Path, **options: float) -> OpenCvCamera:
        camera = OpenCvCamera(str(source), **options)  # type: ignore[arg-type]
        opened.append(camera)
        return camera

    yield make
    for camera in opened:
        camera.close()


def _watch(camera: OpenCvCamera, seconds: float) -> list[Frame | None]:
    """What the loop would see reading every 10 ms."""
    seen: list[Frame | None] = []
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        seen.append(camera.read())
        time.sleep(0.01)
    return seen


def _first_frame(camera: OpenCvCamera, timeout_s: float = 2.0) -> Frame | None:
    deadline = time.monotonic() + timeout_s
    while (frame := camera.read()) is None and time.monotonic() < deadline:
        time.sleep(0.01)
    return frame


def _runs(seen: list[Frame | None]) -> list[bool]:
    """Frame (True) or none (False), consecutive repeats collapsed."""
    runs: list[bool] = []
    for item in seen:
        if not runs or runs[-1] != (item is not None):
            runs.append(item is not None)
    return runs


def test_a_recording_that_ends_gives_none_then_plays_again(
    tmp_path: Path, cameras: Callable[..., OpenCvCamera]
) -> None:
    video = write_door_video(tmp_path / "door.avi", render_qr_png("recorded"), frames=6, fps=30)
    camera = cameras(video, retry_s=0.2)
    seen = _watch(camera, 0.8)
    runs = _runs(seen)
    if not runs[0]:
        runs.pop(0)  # read before the thread had opened the file
    assert runs[:4] == [True, False, True, False]  # frames, the end, reopened, the end again
    assert camera.opened >= 2
    frame = next(item for item in seen if item is not None)
    assert frame.ndim == 2  # grey: decoders and the health check need no colour
    assert ZxingDecoder().decode(frame) == ["recorded"]


def test_read_never_waits_for_the_device(
    tmp_path: Path, cameras: Callable[..., OpenCvCamera]
) -> None:
    video = write_door_video(tmp_path / "door.avi", None, frames=20, fps=10)
    camera = cameras(video)
    assert _first_frame(camera) is not None
    slowest = 0.0
    for _ in range(50):
        started = time.perf_counter()
        camera.read()
        slowest = max(slowest, time.perf_counter() - started)
        time.sleep(0.005)
    assert slowest < 0.005


def test_a_camera_gone_at_the_start_is_read_when_it_appears(
    tmp_path: Path, cameras: Callable[..., OpenCvCamera]
) -> None:
    """Unplugged at boot, plugged in later: None until then, no exception, no restart."""
    video = tmp_path / "later.avi"
    camera = cameras(video, retry_s=0.05, retry_max_s=0.1)
    assert all(item is None for item in _watch(camera, 0.2))
    write_door_video(tmp_path / "writing.avi", None, frames=30, fps=10).rename(video)
    assert _first_frame(camera) is not None


def test_a_frozen_picture_counts_as_none(
    tmp_path: Path, cameras: Callable[..., OpenCvCamera]
) -> None:
    """A frame older than ``stale_s`` is not the doorway now: a hung device raises trouble."""
    video = write_door_video(tmp_path / "door.avi", None, frames=2, fps=2)  # a frame each 0.5 s
    camera = cameras(video, stale_s=0.2, retry_s=5)
    assert _first_frame(camera) is not None
    time.sleep(0.3)
    assert camera.read() is None


def test_camera_trouble_raises_and_clears_the_tamper_alarm(
    tmp_path: Path, cameras: Callable[..., OpenCvCamera]
) -> None:
    """The adapter's None frames through the real health check and door machine, as the loop
    feeds them: missing for camera_trouble_s raises the alarm, frames again clear it."""
    timings = DoorTimings(camera_trouble_s=0.2)
    video = tmp_path / "door.avi"
    camera = cameras(video, retry_s=0.05, retry_max_s=0.05)
    state, raised, cleared = DoorState(), [], []
    healths: set[CameraHealth] = set()

    def feed(seconds: float, until: Callable[[], bool]) -> None:
        nonlocal state
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline and not until():
            health = classify(camera.read())
            healths.add(health)
            step = door.camera_status(state, health=health, now=time.monotonic(), timings=timings)
            state = step.state
            raised.extend(alarm.kind for alarm in step.alarms_raised)
            cleared.extend(step.alarms_cleared)
            time.sleep(0.02)

    feed(1.0, until=lambda: bool(raised))
    assert raised == [AlarmKind.CAMERA_TAMPER]
    assert healths == {CameraHealth.MISSING}
    write_door_video(tmp_path / "writing.avi", None, frames=30, fps=10).rename(video)
    feed(2.0, until=lambda: bool(cleared))
    assert cleared == [AlarmKind.CAMERA_TAMPER]
    assert CameraHealth.OK in healths


def test_each_new_frame_is_announced_as_it_arrives(
    tmp_path: Path, cameras: Callable[..., OpenCvCamera]
) -> None:
    """The loop reads a frame when the camera says so, at the camera's own rate."""
    video = write_door_video(tmp_path / "door.avi", render_qr_png("recorded"), frames=6, fps=30)
    camera = cameras(video, retry_s=0.2)
    announced: list[Frame | None] = []
    enough = threading.Event()

    def on_frame() -> None:
        announced.append(camera.read())
        if len(announced) >= 6:
            enough.set()

    camera.subscribe(on_frame)
    assert enough.wait(5.0)
    first = announced[:6]
    assert all(frame is not None for frame in first)
    assert len({id(frame) for frame in first}) == 6  # each announcement is a new frame
