"""The simulated door camera and the real decoders (zbar, zxing-cpp): QR pixels in, token
text out."""

from __future__ import annotations

import random
from collections.abc import Callable

import cv2
import numpy as np
import pytest
import zxingcpp

from firmware_sim.camera import HEIGHT, WIDTH, Pose, SimCamera, load_qr_image
from station_agent.adapters.decoder_pyzbar import PyzbarDecoder
from station_agent.adapters.decoder_zxing import ZxingDecoder, fixed_threshold, halved
from station_agent.ports import Frame, QrDecoder
from tests.support.qr import qr_png

TOKEN_LIKE = "WS1:" + "6BFOXN*TS0BI$ZD.P9 JH+$3-:/K%" * 6  # alphanumeric, token-sized
DECODERS = pytest.mark.parametrize(
    "decoder",
    [PyzbarDecoder(), ZxingDecoder(), ZxingDecoder(second_looks=False)],
    ids=[
        "zbar",
        "zxing",
        "zxing-one-look",
    ],  # where zxing-cpp is missing; the box's; its first look
)


def test_frames_are_640x480_grey() -> None:
    frame = SimCamera(seed=1).read()
    assert frame is not None
    assert frame.shape == (HEIGHT, WIDTH)
    assert frame.dtype == np.uint8


@DECODERS
def test_empty_doorway_decodes_to_nothing(decoder: QrDecoder) -> None:
    camera = SimCamera(seed=2)
    assert all(decoder.decode(camera.read()) == [] for _ in range(5))  # type: ignore[arg-type]


@DECODERS
def test_codes_decode_across_riders_poses(decoder: QrDecoder) -> None:
    """Night, glare, tilt, blur and cracks: at least 95 % of presentations read within 3 frames."""
    camera, rng = SimCamera(seed=3), random.Random(3)
    png = qr_png(TOKEN_LIKE)
    read = 0
    for _ in range(60):
        camera.present(png, Pose.random(rng))
        frames = (camera.read() for _ in range(3))
        read += any(decoder.decode(frame) == [TOKEN_LIKE] for frame in frames if frame is not None)
    assert read >= 57


@DECODERS
def test_withdrawn_phone_leaves_the_frame(decoder: QrDecoder) -> None:
    camera = SimCamera(seed=4)
    camera.present(qr_png("hello"), Pose())
    assert decoder.decode(camera.read()) == ["hello"]  # type: ignore[arg-type]
    camera.withdraw()
    assert decoder.decode(camera.read()) == []  # type: ignore[arg-type]


def test_presenting_something_that_is_no_image_is_refused() -> None:
    with pytest.raises(ValueError, match="not an image"):
        load_qr_image(b"definitely not a png")


@DECODERS
def test_decoder_accepts_colour_frames(decoder: QrDecoder) -> None:
    camera = SimCamera(seed=5)
    camera.present(qr_png("colour"), Pose())
    grey = camera.read()
    assert grey is not None
    assert decoder.decode(cv2.cvtColor(grey, cv2.COLOR_GRAY2BGR)) == ["colour"]


@DECODERS
def test_four_codes_at_once_are_all_read(decoder: QrDecoder) -> None:
    camera = SimCamera(seed=6)
    camera.show(camera.compose([qr_png(f"code-{i}") for i in range(4)]))
    assert sorted(decoder.decode(camera.read())) == [f"code-{i}" for i in range(4)]  # type: ignore[arg-type]


def test_zxing_reads_every_frame_zbar_reads() -> None:
    """Why zxing-cpp is the default decoder and zbar only its fallback: on the same frames of
    riders' phones it reads at least what zbar reads (ten times faster: ``bench/scanner.py``)."""
    camera, rng = SimCamera(seed=7), random.Random(7)
    png = qr_png(TOKEN_LIKE)
    frames = []
    for _ in range(40):
        camera.present(png, Pose.random(rng))
        frame = camera.read()
        assert frame is not None
        frames.append(frame)
    zbar = [PyzbarDecoder().decode(frame) == [TOKEN_LIKE] for frame in frames]
    zxing = [ZxingDecoder().decode(frame) == [TOKEN_LIKE] for frame in frames]
    assert sum(zbar) >= 38
    assert all(z for z, b in zip(zxing, zbar, strict=True) if b)


def _dim_cracked_frame() -> tuple[Frame, str]:
    """A dim, cracked screen (found in the bench): zxing-cpp's first look finds the symbol but
    cannot correct it, in this frame or the next."""
    camera, rng = SimCamera(seed=4), random.Random(4)
    text = f"{TOKEN_LIKE}4"
    png = qr_png(text)
    for _ in range(63):  # the old decoder bench's 63rd presentation of seed 4
        camera.present(png, Pose.random(rng))
    frame = camera.read()
    assert frame is not None
    return frame, text


def test_a_screen_the_first_look_gives_up_on_is_read_by_a_second_look() -> None:
    frame, text = _dim_cracked_frame()
    assert ZxingDecoder(second_looks=False).decode(frame) == []
    assert ZxingDecoder().decode(frame) == [text]


def test_a_symbol_zxing_cannot_read_at_all_goes_to_the_fallback() -> None:
    frame, text = _dim_cracked_frame()
    decoder = ZxingDecoder(fallback=PyzbarDecoder(), second_looks=False)
    assert decoder.decode(frame) == [text]  # zbar read it
    assert decoder.fallbacks == 1


def test_an_empty_doorway_never_goes_to_the_fallback() -> None:
    decoder = ZxingDecoder(fallback=PyzbarDecoder())
    frame = SimCamera(seed=3).read()
    assert frame is not None
    assert decoder.decode(frame) == []
    assert decoder.fallbacks == 0


@pytest.mark.parametrize(("width", "height"), [(640, 480), (1280, 720), (1920, 1080)])
def test_every_resolution_is_read(width: int, height: int) -> None:
    camera = SimCamera(seed=5, width=width, height=height)
    camera.present(qr_png(TOKEN_LIKE), Pose())
    frame = camera.read()
    assert frame is not None
    assert frame.shape == (height, width)
    assert ZxingDecoder().decode(frame) == [TOKEN_LIKE]


@pytest.mark.parametrize(
    ("look", "motion_px", "angle_deg"),
    [(halved, 7, 15), (fixed_threshold, 8, 30)],
    ids=["half-size", "fixed-threshold"],
)
def test_a_smeared_frame_is_read_by_a_second_look(
    look: Callable[[Frame], list[zxingcpp.Barcode]], motion_px: float, angle_deg: float
) -> None:
    """Motion blur: the full frame gives nothing; each second look reads a smear of its own
    (the fixed threshold one the half-size look cannot)."""
    camera = SimCamera(seed=2)
    camera.present(qr_png(TOKEN_LIKE), Pose(motion_px=motion_px, motion_angle_deg=angle_deg))
    frame = camera.read()
    assert frame is not None
    assert ZxingDecoder(second_looks=False).decode(frame) == []
    assert [code.text for code in look(frame) if code.valid] == [TOKEN_LIKE]
    assert ZxingDecoder().decode(frame) == [TOKEN_LIKE]


class SpyDecoder:
    def __init__(self) -> None:
        self.frames = 0

    def decode(self, frame: Frame) -> list[str]:
        self.frames += 1
        return ["from the fallback"]


def test_the_fallback_is_asked_only_for_small_frames() -> None:
    """On wider frames zbar read nothing more in the bench, at 24-54 ms a frame."""
    frame, _ = _dim_cracked_frame()
    wide = np.hstack([frame, np.full((frame.shape[0], 660), int(frame.mean()), np.uint8)])
    spy = SpyDecoder()
    decoder = ZxingDecoder(fallback=spy, second_looks=False)
    assert decoder.decode(wide) == []  # found, could not read, too wide for the fallback
    assert decoder.decode(frame) == ["from the fallback"]
    assert spy.frames == 1
