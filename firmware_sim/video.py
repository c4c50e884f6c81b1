"""A recording of the simulated door camera: a phone showing a QR code, as an MJPG ``.avi``.

For the real camera adapter in tests and on a dev box (``WS_AGENT_HARDWARE__CAMERA_SOURCE=
door.avi``: it plays at its frame rate and starts again at its end)::

    python -m firmware_sim.video door.avi --text "WS1:..." --seconds 3
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import cv2

from firmware_sim.camera import HEIGHT, WIDTH, Pose, SimCamera
from firmware_sim.phone import render_qr_png


def write_door_video(
    path: Path,
    png: bytes | None,
    *,
    frames: int = 30,
    empty_frames: int = 0,
    fps: float = 10.0,
    pose: Pose | None = None,
    seed: int = 1,
) -> Path:
    """``empty_frames`` of the empty doorway, then ``frames`` of the phone showing ``png`` (a
    QR image, e.g. ``firmware_sim.phone.render_qr_png(token)``; None: nobody comes)."""
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter.fourcc(*"MJPG"), fps, (WIDTH, HEIGHT))
    if not writer.isOpened():
        raise OSError(f"cannot write a video to {path}")
    camera = SimCamera(seed)
    try:
        for i in range(empty_frames + frames):
            if i == empty_frames and png is not None:
                camera.present(png, pose or Pose())
            frame = camera.read()
            assert frame is not None  # the simulator always has a picture
            writer.write(cv2.cvtColor(frame, cv2.COLOR_GRAY2BGR))
    finally:
        writer.release()
    return path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m firmware_sim.video", description=__doc__)
    parser.add_argument("path", type=Path, help="the .avi to write")
    parser.add_argument("--text", help="what the QR code says (default: nobody at the door)")
    parser.add_argument("--seconds", type=float, default=3.0)
    parser.add_argument("--fps", type=float, default=10.0)
    args = parser.parse_args(argv)
    png = render_qr_png(args.text) if args.text else None
    write_door_video(args.path, png, frames=max(1, round(args.seconds * args.fps)), fps=args.fps)
    return 0


if __name__ == "__main__":
    sys.exit(main())
