"""A door camera that sees a phone held up to it: grey frames, 640x480 unless told otherwise.

A presented phone screen (the QR image the server rendered) is placed at a random scale,
rotation and perspective tilt, under dim or glaring light, with a cracked screen now and then,
then blurred (focus, or a hand still moving); every frame adds fresh sensor noise. With nobody
there the camera sees the empty doorway. A pose is in 640x480 pixels and scales with the frame.
"""

from __future__ import annotations

import math
import random
import threading
from collections.abc import Callable
from dataclasses import dataclass

import cv2
import numpy as np
import numpy.typing as npt

from station_agent.ports import Frame

WIDTH, HEIGHT = 640, 480


@dataclass(frozen=True, slots=True)
class Pose:
    """How the phone appears to the camera."""

    qr_side_px: float = 220.0  # side of the QR symbol (with quiet zone) in the frame
    angle_deg: float = 0.0
    tilt: float = 0.0  # 0: facing the camera; 0.2: far edge 20 % shorter
    center_x: float = WIDTH / 2
    center_y: float = HEIGHT / 2
    contrast: float = 1.0  # < 1: dim, night
    brightness: float = 0.0
    glare: float = 0.0  # strength of a bright spot on the screen, 0..1
    cracks: int = 0
    blur_sigma: float = 0.0
    motion_px: float = 0.0  # length of the smear of a phone still moving during the exposure
    motion_angle_deg: float = 0.0
    noise_std: float = 3.0

    @staticmethod
    def random(rng: random.Random) -> Pose:
        """A pose as riders hold phones: mostly fine, sometimes at night, in glare, cracked."""
        night = rng.random() < 0.25
        return Pose(
            qr_side_px=rng.uniform(170, 300),
            angle_deg=rng.uniform(-20, 20),
            tilt=rng.uniform(0.0, 0.18),
            center_x=rng.uniform(230, WIDTH - 230),
            center_y=rng.uniform(190, HEIGHT - 190),
            contrast=rng.uniform(0.45, 0.7) if night else rng.uniform(0.8, 1.0),
            brightness=rng.uniform(-30, 0) if night else rng.uniform(-10, 20),
            glare=rng.uniform(0.2, 0.5) if rng.random() < 0.2 else 0.0,
            cracks=rng.choice([0, 0, 0, 1, 2]),
            blur_sigma=rng.uniform(0.0, 1.0),
            noise_std=rng.uniform(4, 9) if night else rng.uniform(1, 4),
        )


def empty_doorway(
    rng: np.random.Generator, width: int = WIDTH, height: int = HEIGHT
) -> npt.NDArray[np.float32]:
    """A dim wall and floor with a vertical gradient, the background every frame starts from."""
    rows = np.linspace(70, 120, height, dtype=np.float32)[:, None]
    wall = np.repeat(rows, width, axis=1)
    wall[int(height * 0.8) :, :] -= 25  # floor
    texture = rng.normal(0, 4, size=(height, width)).astype(np.float32)
    background: npt.NDArray[np.float32] = np.clip(
        wall + cv2.GaussianBlur(texture, (0, 0), 3), 0, 255
    ).astype(np.float32)
    return background


def _phone(qr_grey: npt.NDArray[np.uint8], pose: Pose, rng: random.Random) -> npt.NDArray[np.uint8]:
    """The phone body with the QR image on its (perhaps cracked) screen."""
    side = qr_grey.shape[0]
    margin, chin = side // 12, side // 3
    phone = np.full((side + 2 * chin, side + 2 * margin), 25, dtype=np.uint8)
    phone[chin : chin + side, margin : margin + side] = qr_grey
    for _ in range(pose.cracks):
        x0, y0 = rng.randrange(phone.shape[1]), rng.randrange(phone.shape[0])
        x1, y1 = rng.randrange(phone.shape[1]), rng.randrange(phone.shape[0])
        cv2.line(phone, (x0, y0), (x1, y1), 90, 1, cv2.LINE_AA)
    return phone


def render_scene(
    qr_grey: npt.NDArray[np.uint8],
    pose: Pose,
    background: npt.NDArray[np.float32],
    rng: random.Random,
) -> npt.NDArray[np.float32]:
    """The doorway with the phone in it, before per-frame noise (the frame has the
    background's size; the pose's pixels scale with its width)."""
    height, width = background.shape
    zoom = width / WIDTH
    shift_y = (height - HEIGHT * zoom) / 2  # a wider frame (16:9) shows more above and below
    phone = _phone(qr_grey, pose, rng)
    h, w = phone.shape
    scale = pose.qr_side_px * zoom / qr_grey.shape[0]
    half_w, half_h = w * scale / 2, h * scale / 2
    # Corners of the phone, tilted away at the top edge, then rotated about the centre.
    shrink = 1.0 - pose.tilt
    corners = [
        (-half_w * shrink, -half_h),
        (half_w * shrink, -half_h),
        (half_w, half_h),
        (-half_w, half_h),
    ]
    a = math.radians(pose.angle_deg)
    cos_a, sin_a = math.cos(a), math.sin(a)
    dst = np.array(
        [
            (
                pose.center_x * zoom + x * cos_a - y * sin_a,
                pose.center_y * zoom + shift_y + x * sin_a + y * cos_a,
            )
            for x, y in corners
        ],
        dtype=np.float32,
    )
    src = np.array([(0, 0), (w, 0), (w, h), (0, h)], dtype=np.float32)
    matrix = cv2.getPerspectiveTransform(src, dst)
    warped = cv2.warpPerspective(phone.astype(np.float32), matrix, (width, height))
    mask = cv2.warpPerspective(np.ones((h, w), np.float32), matrix, (width, height))
    scene = background * (1 - mask) + warped * mask
    scene = scene * pose.contrast + pose.brightness
    if pose.glare > 0:
        yy, xx = np.mgrid[0:height, 0:width].astype(np.float32)
        gx = (pose.center_x + rng.uniform(-60, 60)) * zoom
        gy = (pose.center_y + rng.uniform(-60, 60)) * zoom + shift_y
        spread = 2 * (pose.qr_side_px * zoom / 4) ** 2
        spot = np.exp(-((xx - gx) ** 2 + (yy - gy) ** 2) / spread)
        scene = scene + pose.glare * 255 * spot * mask
    if pose.blur_sigma > 0:
        scene = cv2.GaussianBlur(scene, (0, 0), pose.blur_sigma * zoom)
    if pose.motion_px >= 1:
        scene = cv2.filter2D(
            scene, -1, _motion_kernel(pose.motion_px * zoom, pose.motion_angle_deg)
        )
    return np.clip(scene, 0, 255).astype(np.float32)


def _motion_kernel(length_px: float, angle_deg: float) -> npt.NDArray[np.float32]:
    """A straight smear of this length: the average of the scene along the motion."""
    size = math.ceil(length_px) | 1
    kernel = np.zeros((size, size), np.float32)
    half = (length_px - 1) / 2
    a = math.radians(angle_deg)
    dx, dy = half * math.cos(a), half * math.sin(a)
    c = size // 2
    cv2.line(kernel, (round(c - dx), round(c - dy)), (round(c + dx), round(c + dy)), 1.0, 1)
    kernel /= kernel.sum()
    return kernel


def load_qr_image(png: bytes) -> npt.NDArray[np.uint8]:
    """Decode a PNG into a grey image; raises ValueError for bytes that are no image."""
    image = cv2.imdecode(np.frombuffer(png, np.uint8), cv2.IMREAD_GRAYSCALE)
    if image is None:
        raise ValueError("not an image")
    return np.asarray(image, dtype=np.uint8)


class SimCamera:
    """Implements the Camera port. Thread-safe: riders present, the agent reads."""

    def __init__(
        self, seed: int | None = None, *, width: int = WIDTH, height: int = HEIGHT
    ) -> None:
        self._rng = random.Random(seed)
        self._np_rng = np.random.default_rng(seed)
        self._background = empty_doorway(self._np_rng, width, height)
        self._scene: npt.NDArray[np.float32] | None = None
        self._noise_std = 3.0
        self._guard = threading.Lock()
        self._subscribers: list[Callable[[], None]] = []
        self.frames_read = 0

    def subscribe(self, callback: Callable[[], None]) -> None:
        """Called back whenever the scene changes (each ``read`` renders a new frame anyway)."""
        self._subscribers.append(callback)

    def _changed(self) -> None:
        for callback in self._subscribers:
            callback()

    def present(self, png: bytes, pose: Pose | None = None) -> Pose:
        """A phone showing this image is now in front of the camera."""
        pose = pose or Pose.random(self._rng)
        scene = render_scene(load_qr_image(png), pose, self._background, self._rng)
        with self._guard:
            self._scene, self._noise_std = scene, pose.noise_std
        self._changed()
        return pose

    def compose(self, pngs: list[bytes]) -> npt.NDArray[np.float32]:
        """A scene of up to four codes held up at once, one per quarter; see ``show``."""
        if not 0 < len(pngs) <= 4:
            raise ValueError("between one and four codes")
        scene = self._background
        for i, png in enumerate(pngs):
            pose = Pose(
                qr_side_px=150,
                center_x=WIDTH / 4 * (1 + 2 * (i % 2)),
                center_y=HEIGHT / 4 * (1 + 2 * (i // 2)),
                noise_std=2.0,
            )
            scene = render_scene(load_qr_image(png), pose, scene, self._rng)
        return scene

    def show(self, scene: npt.NDArray[np.float32], noise_std: float = 2.0) -> None:
        """Put a composed scene in front of the camera (cheap: scenes can be made ahead)."""
        with self._guard:
            self._scene, self._noise_std = scene, noise_std
        self._changed()

    def cover(self) -> None:
        """Someone puts a hand or tape over the lens: a dark, flat picture."""
        with self._guard:
            self._scene = np.full(self._background.shape, 8.0, np.float32)
            self._noise_std = 0.5
        self._changed()

    def withdraw(self) -> None:
        with self._guard:
            self._scene, self._noise_std = None, 3.0
        self._changed()

    def read(self) -> Frame | None:
        with self._guard:
            scene = self._background if self._scene is None else self._scene
            noise_std = self._noise_std
            self.frames_read += 1
        noise = self._np_rng.normal(0, noise_std, size=scene.shape).astype(np.float32)
        frame: Frame = np.clip(scene + noise, 0, 255).astype(np.uint8)
        return frame

    def close(self) -> None:
        self.withdraw()
