"""QR decoders on the simulated door camera's frames: zbar (pyzbar) against zxing-cpp.

Riders' phones at random poses (night, glare, tilt, blur, cracks) over several seeds, each
frame decoded raw and after a JPEG round trip (what an MJPG USB camera delivers); then the
empty doorway, which is most frames a station sees. Prints a table and one JSON line.

    .venv/bin/python bench/bench_decoders.py [--seeds 30] [--frames 100]
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import time

import cv2

from firmware_sim.camera import Pose, SimCamera
from firmware_sim.phone import render_qr_png
from station_agent.adapters.decoder_pyzbar import PyzbarDecoder
from station_agent.adapters.decoder_zxing import ZxingDecoder
from station_agent.ports import Frame, QrDecoder

TOKEN = "WS1:" + "6BFOXN*TS0BI$ZD.P9 JH+$3-:/K%" * 6  # alphanumeric, token-sized


def _jpeg(frame: Frame) -> Frame:
    _, encoded = cv2.imencode(".jpg", frame, [cv2.IMWRITE_JPEG_QUALITY, 75])
    return cv2.imdecode(encoded, cv2.IMREAD_GRAYSCALE)  # type: ignore[return-value]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seeds", type=int, default=30)
    parser.add_argument("--frames", type=int, default=100)
    args = parser.parse_args()
    fallback = ZxingDecoder(fallback=PyzbarDecoder())
    decoders: dict[str, QrDecoder] = {
        "zbar": PyzbarDecoder(),
        "zxing": ZxingDecoder(),
        "zxing+zbar": fallback,  # the default: zbar for a frame zxing found but could not read
    }
    read = dict.fromkeys(decoders, 0)
    read_jpeg = dict.fromkeys(decoders, 0)
    times: dict[str, list[float]] = {name: [] for name in decoders}
    empty_times: dict[str, list[float]] = {name: [] for name in decoders}
    for seed in range(args.seeds):
        camera, rng = SimCamera(seed), random.Random(seed)
        text = f"{TOKEN}{seed}"
        png = render_qr_png(text)
        for _ in range(args.frames):
            camera.present(png, Pose.random(rng))
            frame = camera.read()
            assert frame is not None
            compressed = _jpeg(frame)
            for name, decoder in decoders.items():
                started = time.perf_counter()
                read[name] += decoder.decode(frame) == [text]
                times[name].append(time.perf_counter() - started)
                read_jpeg[name] += decoder.decode(compressed) == [text]
        camera.withdraw()
        for _ in range(10):
            frame = camera.read()
            assert frame is not None
            for name, decoder in decoders.items():
                started = time.perf_counter()
                assert decoder.decode(frame) == []
                empty_times[name].append(time.perf_counter() - started)
    total = args.seeds * args.frames
    result: dict[str, dict[str, float]] = {}
    for name in decoders:
        ordered = sorted(times[name])
        result[name] = {
            "read": read[name] / total,
            "read_jpeg": read_jpeg[name] / total,
            "median_ms": statistics.median(ordered) * 1e3,
            "p95_ms": ordered[int(0.95 * len(ordered))] * 1e3,
            "empty_median_ms": statistics.median(empty_times[name]) * 1e3,
        }
        r = result[name]
        print(
            f"{name:10s} read {read[name]}/{total} (JPEG {read_jpeg[name]}/{total})  "
            f"median {r['median_ms']:.2f} ms  p95 {r['p95_ms']:.2f} ms  "
            f"empty doorway {r['empty_median_ms']:.2f} ms"
        )
    print(f"zxing+zbar asked zbar for {fallback.fallbacks} frames (raw and JPEG)")
    print(json.dumps({"frames": total, "decoders": result, "fallbacks": fallback.fallbacks}))


if __name__ == "__main__":
    main()
