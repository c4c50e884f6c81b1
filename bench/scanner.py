"""The agent's scanning pipeline against raw decoders, on door frames made here.

A corpus of grey frames at 640x480, 1280x720 and 1920x1080: a phone showing a real rider code
(``WS1:`` + Base45, signed, as the rider page draws it) under eight conditions (clean, tilted,
far away, glare, cracked screen, motion blur, low light) and the empty doorway; and the same
again with a device code (``WSD1:``, protocol/device_cert.py: certificate and presentation, the
code a phone without signal signs itself, larger: QR version 11 against 8). Every decoder
reads every frame: raw zbar (pyzbar), raw zxing-cpp (its defaults), OpenCV's QRCodeDetector and
QRCodeDetectorAruco, and the agent's pipeline (``hardware.default_decoder``; beside it its zxing-cpp
looks alone and with zbar asked at every size, to show what zbar adds). Then the scan loop
itself: the real ``StationAgent`` fed by a camera thread at 25 frames/s, its CPU and whether it
keeps up. Prints tables (one set per kind of code, then the two side by side) and one JSON
line.

    .venv/bin/python bench/scanner.py [--frames 30] [--seconds 10] [--codes normal,device]
        [--resolutions 640x480,1280x720,1920x1080]
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import sys
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import cv2
import zxingcpp
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.scan_loop import measure_scan_loop
from firmware_sim.camera import Pose, SimCamera
from protocol.credential import Claims, sign_token
from protocol.device_cert import DeviceCert, present, sign_cert
from server.riders.tokens import qr_version, render_qr_png
from station_agent.adapters.decoder_pyzbar import PyzbarDecoder
from station_agent.adapters.decoder_zxing import ZxingDecoder
from station_agent.adapters.hardware import default_decoder
from station_agent.ports import Frame

RESOLUTIONS = ((640, 480), (1280, 720), (1920, 1080))
CODES = ("normal", "device")
CONDITIONS = ("clean", "tilt", "far", "glare", "cracked", "motion", "low_light", "empty")


def pose_for(condition: str, rng: random.Random) -> Pose:
    """A phone held up under this condition (in 640x480 units; the camera scales them)."""
    base = Pose(
        qr_side_px=rng.uniform(190, 270),
        angle_deg=rng.uniform(-15, 15),
        tilt=rng.uniform(0.0, 0.08),
        center_x=rng.uniform(250, 390),
        center_y=rng.uniform(190, 290),
        contrast=rng.uniform(0.85, 1.0),
        brightness=rng.uniform(-10, 15),
        blur_sigma=rng.uniform(0.0, 0.6),
        noise_std=rng.uniform(1, 3),
    )
    angle = rng.uniform(0, 180)
    changes: dict[str, dict[str, Any]] = {
        "clean": {},
        "tilt": {"tilt": rng.uniform(0.3, 0.45), "angle_deg": rng.uniform(-40, 40)},
        "far": {"qr_side_px": rng.uniform(95, 125)},
        "glare": {"glare": rng.uniform(0.5, 0.9)},
        "cracked": {"cracks": rng.randint(4, 8)},
        "motion": {"motion_px": rng.uniform(5, 12), "motion_angle_deg": angle},
        "low_light": {
            "contrast": rng.uniform(0.25, 0.4),
            "brightness": rng.uniform(-35, -20),
            "noise_std": rng.uniform(6, 10),
        },
    }
    return replace(base, **changes[condition])


@dataclass(frozen=True, slots=True)
class Sample:
    resolution: str
    condition: str
    frame: Frame
    expected: str | None  # None: the empty doorway


def rider_tokens(count: int) -> list[str]:
    key = Ed25519PrivateKey.generate()
    now = int(time.time())
    return [
        sign_token(
            Claims(
                "k-2026", f"r-{uuid.uuid4().hex[:20]}", "ws-prod", now, 60, uuid.uuid4().bytes, 1
            ),
            key,
        )
        for _ in range(count)
    ]


def device_codes(count: int) -> list[str]:
    """Codes a phone without signal shows: one certificate, a fresh presentation each. Drawn
    here by the server's QR writer (error correction M, alphanumeric mode, as the page's
    qrcode-generator draws it: the same version; only the mask pattern may differ)."""
    server_key = Ed25519PrivateKey.generate()
    phone = ec.generate_private_key(ec.SECP256R1())
    now = int(time.time())
    cert = DeviceCert(
        kid="3f2a9b1c",  # a rider key's id: 8 hex digits (protocol.signing.key_id)
        rider_id=f"r-{uuid.uuid4().hex[:12]}",  # as server.riders.repo makes them
        audience="ws-prod",
        not_before=now,
        not_after=now + 12 * 3600,
        presentation_lifetime_s=60,
        credential_version=1,
        device_key=phone.public_key().public_bytes(Encoding.X962, PublicFormat.CompressedPoint),
    )
    signed = sign_cert(cert, server_key)
    return [present(signed, phone, now=now) for _ in range(count)]


def build_corpus(
    frames_per_cell: int,
    seed: int,
    code: str = "normal",
    resolutions: tuple[tuple[int, int], ...] = RESOLUTIONS,
) -> list[Sample]:
    rng = random.Random(seed)
    tokens = rider_tokens(frames_per_cell) if code == "normal" else device_codes(frames_per_cell)
    pngs = [render_qr_png(token) for token in tokens]
    samples: list[Sample] = []
    for width, height in resolutions:
        name = f"{width}x{height}"
        for index, condition in enumerate(CONDITIONS):
            camera = SimCamera(seed * 100 + index, width=width, height=height)
            for i in range(frames_per_cell):
                expected: str | None = None
                if condition == "empty":
                    camera.withdraw()
                else:
                    camera.present(pngs[i], pose_for(condition, rng))
                    expected = tokens[i]
                frame = camera.read()
                assert frame is not None
                samples.append(Sample(name, condition, frame, expected))
    return samples


# -- the raw decoders, as a door box would call them with no help --------------------------
_QR = zxingcpp.BarcodeFormats(zxingcpp.BarcodeFormat.QRCode)


def raw_zxing(frame: Frame) -> list[str]:
    return [barcode.text for barcode in zxingcpp.read_barcodes(frame, formats=_QR)]


def opencv_reader(
    detector: cv2.QRCodeDetector | cv2.QRCodeDetectorAruco,
) -> Callable[[Frame], list[str]]:
    def read(frame: Frame) -> list[str]:
        try:
            text, _, _ = detector.detectAndDecode(frame)
        except cv2.error:  # an assertion inside OpenCV on some frames: nothing read
            return []
        return [text] if text else []

    return read


def decoders() -> dict[str, Callable[[Frame], list[str]]]:
    found: dict[str, Callable[[Frame], list[str]]] = {
        "zbar": PyzbarDecoder().decode,
        "zxing": raw_zxing,
        "opencv": opencv_reader(cv2.QRCodeDetector()),
    }
    if hasattr(cv2, "QRCodeDetectorAruco"):
        found["opencv-aruco"] = opencv_reader(cv2.QRCodeDetectorAruco())
    found["pipeline"] = default_decoder().decode
    # What zbar adds after zxing-cpp's looks: nothing (looks only), or at every size.
    found["looks only"] = ZxingDecoder().decode
    found["zbar any size"] = ZxingDecoder(
        fallback=PyzbarDecoder(), fallback_max_width=1 << 30
    ).decode
    return found


@dataclass
class Tally:
    read: dict[tuple[str, str], int]  # (resolution, condition) -> frames read correctly
    wrong: int  # texts that are not what the frame holds
    seconds: dict[tuple[str, str], list[float]]


def run_decoders(samples: list[Sample], repeat: int) -> dict[str, Tally]:
    """Each frame goes to every decoder in turn (the first one rotating), so that the machine's
    noisy moments fall on all of them alike; a frame's time is the least of ``repeat`` runs."""
    readers = decoders()
    tallies = {name: Tally({}, 0, {}) for name in readers}
    for decode in readers.values():
        decode(samples[0].frame)  # warm up (allocations, lazy tables)
    names = list(readers)
    for index, sample in enumerate(samples):
        key = (sample.resolution, sample.condition)
        shift = index % len(names)
        for name in names[shift:] + names[:shift]:
            tally, decode = tallies[name], readers[name]
            best = float("inf")
            for _ in range(repeat):
                started = time.perf_counter()
                texts = decode(sample.frame)
                best = min(best, time.perf_counter() - started)
            tally.seconds.setdefault(key, []).append(best)
            hit = sample.expected is not None and sample.expected in texts
            tally.read[key] = tally.read.get(key, 0) + hit
            tally.wrong += sum(text != sample.expected for text in texts)
    return tallies


def _quantile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def report(
    tallies: dict[str, Tally],
    frames_per_cell: int,
    resolutions: tuple[tuple[int, int], ...] = RESOLUTIONS,
) -> dict[str, object]:
    result: dict[str, object] = {}
    names = [f"{w}x{h}" for w, h in resolutions]
    codes = [c for c in CONDITIONS if c != "empty"]
    for resolution in names:
        print(f"\n{resolution}: codes read of {frames_per_cell} per condition; ms per frame")
        header = " ".join(f"{c[:9]:>9s}" for c in codes)
        print(
            f"{'decoder':13s} {header} {'all':>6s} "
            f"{'p50':>6s} {'p95':>6s} {'fps':>6s} {'empty':>6s}"
        )
        for name, tally in tallies.items():
            reads = [tally.read[(resolution, c)] for c in codes]
            times = [t for c in CONDITIONS for t in tally.seconds[(resolution, c)]]
            empty = tally.seconds[(resolution, "empty")]
            row = {
                "read": dict(zip(codes, reads, strict=True)),
                "read_rate": sum(reads) / (len(codes) * frames_per_cell),
                "p50_ms": statistics.median(times) * 1e3,
                "p95_ms": _quantile(times, 0.95) * 1e3,
                "fps": len(times) / sum(times),
                "empty_p50_ms": statistics.median(empty) * 1e3,
            }
            result.setdefault(resolution, {})[name] = row  # type: ignore[index]
            cells = " ".join(f"{r:9d}" for r in reads)
            print(
                f"{name:13s} {cells} {row['read_rate']:6.1%} {row['p50_ms']:6.2f} "
                f"{row['p95_ms']:6.2f} {row['fps']:6.0f} {row['empty_p50_ms']:6.2f}"
            )
    wrong = {name: tally.wrong for name, tally in tallies.items()}
    print(f"\nwrong texts (misreads): {wrong}")
    result["wrong"] = wrong
    return result


def compare(results: dict[str, dict[str, Any]], versions: dict[str, tuple[int, int]]) -> None:
    """The kinds of code side by side: QR version, and the box's pipeline on each."""
    print("\ncode     chars  QR version (M)  resolution  pipeline read  p50 ms  fps  empty ms")
    for code, result in results.items():
        chars, version = versions[code]
        for resolution, rows in result.items():
            if resolution == "wrong":
                continue
            row = rows["pipeline"]
            print(
                f"{code:8s} {chars:5d} {version:15d}  {resolution:10s}  {row['read_rate']:13.1%} "
                f"{row['p50_ms']:7.2f} {row['fps']:4.0f} {row['empty_p50_ms']:9.2f}"
            )


def _resolutions(text: str) -> tuple[tuple[int, int], ...]:
    pairs = (part.split("x") for part in text.split(","))
    return tuple((int(w), int(h)) for w, h in pairs)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument(
        "--frames", type=int, default=30, help="frames per resolution and condition"
    )
    parser.add_argument("--seconds", type=float, default=10.0, help="scan loop run per setting")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--repeat", type=int, default=1, help="runs per frame; the least counts")
    parser.add_argument("--codes", default=",".join(CODES), help="normal, device or both")
    parser.add_argument(
        "--resolutions", type=_resolutions, default=RESOLUTIONS, help="e.g. 640x480,1280x720"
    )
    args = parser.parse_args()
    results: dict[str, dict[str, Any]] = {}
    versions: dict[str, tuple[int, int]] = {}
    frames = 0
    for code in args.codes.split(","):
        if code not in CODES:
            parser.error(f"--codes: {code!r} is not one of {CODES}")
        samples = build_corpus(args.frames, args.seed, code, args.resolutions)
        text = next(s.expected for s in samples if s.expected is not None)
        versions[code] = (len(text), qr_version(text))
        frames += len(samples)
        print(
            f"\n== {code} codes: {len(text)} characters, QR version {versions[code][1]} (M);"
            f" corpus {len(samples)} frames"
        )
        results[code] = report(run_decoders(samples, args.repeat), args.frames, args.resolutions)
    compare(results, versions)
    result: dict[str, object] = {
        "frames": frames,
        "codes": {code: {"chars": c, "qr_version": v} for code, (c, v) in versions.items()},
        "decoders": results,
    }
    if args.seconds > 0:
        result["scan_loop"] = measure_scan_loop(args.seconds)
    print(json.dumps(result))


if __name__ == "__main__":
    main()
