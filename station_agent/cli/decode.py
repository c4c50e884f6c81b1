"""``station_agent decode FILE...``: what the agent's decoder reads in still images, one JSON
line per file (``{"file", "codes", "ours", "ms"}``), for a technician checking what the
camera sees. An unreadable file is one line on stderr; the exit status says if any was."""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path
from typing import TextIO

import cv2
import numpy as np

from protocol.codes import is_ours
from station_agent.ports import QrDecoder


def decode_files(
    files: list[Path], decoder: QrDecoder, *, out: TextIO = sys.stdout, err: TextIO = sys.stderr
) -> int:
    failed = 0
    for path in files:
        image = cv2.imread(str(path), cv2.IMREAD_COLOR) if path.is_file() else None
        if image is None:
            print(f"error: {path}: not a readable image", file=err)
            failed += 1
            continue
        started = time.perf_counter()
        codes = decoder.decode(np.asarray(image, dtype=np.uint8))
        took_ms = (time.perf_counter() - started) * 1000
        line = {
            "file": str(path),
            "codes": codes,
            "ours": [is_ours(code) for code in codes],
            "ms": round(took_ms, 2),
        }
        print(json.dumps(line, ensure_ascii=False), file=out, flush=True)
    return 1 if failed else 0
