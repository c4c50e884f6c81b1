"""What the demo costs the machine: CPU of the whole demo (the demo process with its station
agents, simulated cameras and riders; the server; Mosquitto) over a steady window, read from
/proc (utime + stime of every process of the tree), after start-up is done.

    .venv/bin/python bench/demo_cpu.py --stations 16 --seconds 60

Prints a table per process and one JSON line.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TICKS = os.sysconf("SC_CLK_TCK")


def _stat(pid: int) -> tuple[int, str, float] | None:
    """(parent pid, name, CPU seconds so far) of a live process."""
    try:
        raw = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    name = raw[raw.index("(") + 1 : raw.rindex(")")]
    fields = raw[raw.rindex(")") + 2 :].split()
    return int(fields[1]), name, (int(fields[11]) + int(fields[12])) / TICKS


def _tree(root: int) -> dict[int, tuple[str, float]]:
    """Every process under ``root`` (itself included): name and CPU seconds."""
    table = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit() and (found := _stat(int(entry))) is not None:
            table[int(entry)] = found
    inside = {root}
    grew = True
    while grew:
        grew = False
        for pid, (parent, _, _) in table.items():
            if parent in inside and pid not in inside:
                inside.add(pid)
                grew = True
    return {pid: (table[pid][1], table[pid][2]) for pid in inside if pid in table}


def _cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()[:60]
    except OSError:
        return "?"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--stations", type=int, default=16)
    parser.add_argument("--seconds", type=float, default=60.0)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as data:
        demo = subprocess.Popen(
            [sys.executable, "-m", "demo", "--stations", str(args.stations), "--http-port", "0",
             "--data-dir", data, "--duration", str(args.seconds + 5)],
            cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
        )  # fmt: skip
        assert demo.stdout is not None
        for line in demo.stdout:
            if line.startswith("Stations:"):
                break
        time.sleep(2)  # the riders' first steps
        before, started = _tree(demo.pid), time.monotonic()
        names = {pid: _cmdline(pid) for pid in before}
        time.sleep(args.seconds)
        after, wall = _tree(demo.pid), time.monotonic() - started
        summary_line = ""
        for line in demo.stdout:
            summary_line = line
        demo.wait()
    rows = []
    for pid, (name, cpu) in after.items():
        used = cpu - before.get(pid, (name, 0.0))[1]
        rows.append((names.get(pid, name), used))
    total = sum(used for _, used in rows)
    print(f"{'process':<62} {'CPU s':>7} {'cores':>6}")
    for name, used in sorted(rows, key=lambda r: -r[1]):
        print(f"{name:<62} {used:7.1f} {used / wall:6.2f}")
    print(f"{'total':<62} {total:7.1f} {total / wall:6.2f}")
    summary = json.loads(summary_line) if summary_line.startswith("{") else {}
    print(
        json.dumps(
            {
                "stations": args.stations,
                "seconds": round(wall, 1),
                "cpu_s": round(total, 1),
                "cores": round(total / wall, 2),
                "entries": summary.get("entries"),
                "events_lost": summary.get("events_lost"),
            }
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
