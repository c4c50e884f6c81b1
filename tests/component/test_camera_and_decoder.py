"""The simulated door camera and the real decoders: QR pixels in, token text out."""

from __future__ import annotations

import random
from pathlib import Path

import cv2
import numpy as np
import pytest

from firmware_sim.camera import HEIGHT, WIDTH, Pose, SimCamera, load_qr_image
from station_agent.adapters.camera_opencv import CameraError, OpenCvCamera
from station_agent.adapters.decoder_pyzbar import PyzbarDecoder
from tests.support.qr import qr_png

TOKEN_LIKE = "WS1:" + "6BFOXN*TS0BI$ZD.P9 JH+$3-:/K%" * 6  # alphanumeric, token-sized


def test_frames_are_640x480_grey() -> None:
    frame = SimCamera(seed=1).read()
    assert frame is not None
    assert frame.shape == (HEIGHT, WIDTH)
    assert frame.dtype == np.uint8


def test_empty_doorway_decodes_to_nothing() -> None:
    camera, decoder = SimCamera(seed=2), PyzbarDecoder()
    assert all(decoder.decode(camera.read()) == [] for _ in range(5))  # type: ignore[arg-type]


def test_codes_decode_across_riders_poses() -> None:
    """Night, glare, tilt, blur and cracks: at least 95 % of presentations read within 3 frames."""
    camera, decoder, rng = SimCamera(seed=3), PyzbarDecoder(), random.Random(3)
    png = qr_png(TOKEN_LIKE)
    read = 0
    for _ in range(60):
        camera.present(png, Pose.random(rng))
        frames = (camera.read() for _ in range(3))
        read += any(decoder.decode(frame) == [TOKEN_LIKE] for frame in frames if frame is not None)
    assert read >= 57


def test_withdrawn_phone_leaves_the_frame() -> None:
    camera, decoder = SimCamera(seed=4), PyzbarDecoder()
    camera.present(qr_png("hello"), Pose())
    assert decoder.decode(camera.read()) == ["hello"]  # type: ignore[arg-type]
    camera.withdraw()
    assert decoder.decode(camera.read()) == []  # type: ignore[arg-type]


def test_presenting_something_that_is_no_image_is_refused() -> None:
    with pytest.raises(ValueError, match="not an image"):
        load_qr_image(b"definitely not a png")


def test_decoder_accepts_colour_frames() -> None:
    camera = SimCamera(seed=5)
    camera.present(qr_png("colour"), Pose())
    grey = camera.read()
    assert grey is not None
    assert PyzbarDecoder().decode(cv2.cvtColor(grey, cv2.COLOR_GRAY2BGR)) == ["colour"]


def test_opencv_camera_reads_a_recorded_door_video(tmp_path: Path) -> None:
    """The VideoCapture adapter, fed a recording of the simulated door instead of a device."""
    video = tmp_path / "door.avi"
    writer = cv2.VideoWriter(str(video), cv2.VideoWriter.fourcc(*"MJPG"), 10, (WIDTH, HEIGHT))
    camera = SimCamera(seed=6)
    camera.present(qr_png("recorded"), Pose())
    for _ in range(5):
        frame = camera.read()
        assert frame is not None
        writer.write(cv2.cvtColor(frame, cv2.COLOR_GRAY2BGR))
    writer.release()

    capture = OpenCvCamera(str(video))
    frames = [capture.read() for _ in range(6)]
    capture.close()

    assert all(frame is not None for frame in frames[:5])
    assert frames[5] is None
    assert PyzbarDecoder().decode(frames[0]) == ["recorded"]  # type: ignore[arg-type]


def test_opencv_camera_that_cannot_open_says_so(tmp_path: Path) -> None:
    with pytest.raises(CameraError, match="cannot open camera"):
        OpenCvCamera(str(tmp_path / "missing.avi"))
