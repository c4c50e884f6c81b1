"""``python -m demo``: broker, server, simulated stations and riders, and a staff page.

Prints every entry, exit and denial as it happens; on exit (after ``--duration`` seconds or
Ctrl-C) stops everything in order and prints one JSON summary as its last line.
"""

from __future__ import annotations

import argparse
import json
import logging
import shutil
import signal
import sys
import threading
import time
from pathlib import Path
from types import FrameType

import httpx

from demo.broker import PrivateBroker
from demo.processes import free_port, port_open
from demo.riders import RiderCrowd
from demo.server_process import ServerProcess
from demo.tap import EventTap
from firmware_sim.station import SimStation
from station_agent.adapters.decoder_pyzbar import PyzbarDecoder
from station_agent.config import AgentSettings
from station_agent.runtime import build_agent
from station_agent.service import Hardware, StationAgent

STATION_NAMES = (
    "人民路暖心驿站",
    "解放路暖心驿站",
    "滨江暖心驿站",
    "火车站暖心驿站",
    "科技园暖心驿站",
    "老城暖心驿站",
)


def _parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="./scripts/demo", description=__doc__)
    parser.add_argument(
        "--duration", type=float, default=None, help="seconds; default: until Ctrl-C"
    )
    parser.add_argument("--stations", type=int, default=3, choices=range(1, 7))
    parser.add_argument("--riders", type=int, default=8)
    parser.add_argument("--capacity", type=int, default=6)
    parser.add_argument("--http-port", type=int, default=8080, help="0: any free port")
    parser.add_argument("--broker-port", type=int, default=0, help="default: a free port")
    parser.add_argument("--data-dir", type=Path, default=Path("data/demo"))
    parser.add_argument("--seed", type=int, default=7)
    return parser.parse_args(argv)


def _raise_interrupt(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt


def _start_agent(
    station_id: str, broker_port: int, sim: SimStation
) -> tuple[StationAgent, threading.Thread]:
    settings = AgentSettings(station_id=station_id, broker_port=broker_port, frame_interval_s=0.15)
    hardware = Hardware(
        sim.camera, PyzbarDecoder(), sim.lock, sim.door, sim.exit_button, sim.display
    )
    agent, _ = build_agent(settings, hardware, time.time)
    thread = threading.Thread(target=agent.run, name=f"agent-{station_id}", daemon=True)
    thread.start()
    return agent, thread


def _stop_agents(agents: list[tuple[StationAgent, threading.Thread]]) -> None:
    for agent, _ in agents:
        agent.stopping.set()
    for _, thread in agents:
        thread.join(10)


def _wait_stored(http: httpx.Client, produced: int, timeout_s: float) -> dict[str, int]:
    deadline = time.monotonic() + timeout_s
    while True:
        summary: dict[str, int] = http.get("/api/summary").raise_for_status().json()
        if summary["events_stored"] >= produced or time.monotonic() > deadline:
            return summary
        time.sleep(0.2)


def run(argv: list[str] | None = None) -> int:
    args = _parse_args(argv)
    logging.basicConfig(
        level=logging.WARNING, format="%(asctime)s %(name)s %(levelname)s %(message)s"
    )
    signal.signal(signal.SIGTERM, _raise_interrupt)
    shutil.rmtree(args.data_dir, ignore_errors=True)  # every demo starts from an empty station log
    args.data_dir.mkdir(parents=True)
    # 0, or a port already taken (a second demo, say): any free port.
    http_port = args.http_port if args.http_port and not port_open(args.http_port) else free_port()

    started = time.monotonic()
    broker = PrivateBroker(port=args.broker_port, workdir=args.data_dir / "broker").start()
    server = ServerProcess(data_dir=args.data_dir, http_port=http_port, broker_port=broker.port)
    tap = EventTap(broker.port)
    agents: list[tuple[StationAgent, threading.Thread]] = []
    crowd: RiderCrowd | None = None
    summary: dict[str, int] = {}
    try:
        server.start()
        http = httpx.Client(base_url=server.base_url, timeout=10)
        sims: list[SimStation] = []
        for i in range(args.stations):
            station_id = f"station-{i + 1:02d}"
            http.post(
                "/api/stations",
                json={"id": station_id, "name": STATION_NAMES[i], "capacity": args.capacity},
            ).raise_for_status()
            sim = SimStation.build(seed=args.seed + i)
            sims.append(sim)
            agents.append(_start_agent(station_id, broker.port, sim))
        tap.start()
        crowd = RiderCrowd(
            base_url=server.base_url, stations=sims, seed=args.seed, rest_s=(3.0, 8.0)
        )
        crowd.enrol(args.riders)
        print(f"Broker  : mqtt://127.0.0.1:{broker.port}  (config {broker.conf_path})", flush=True)
        print(f"Staff   : {server.base_url}/   (API docs {server.base_url}/docs)", flush=True)
        print(f"Stations: {args.stations}, riders: {args.riders}; Ctrl-C stops.", flush=True)
        crowd.start()
        try:
            if args.duration is None:
                threading.Event().wait()
            else:
                time.sleep(args.duration)
        except KeyboardInterrupt:
            print("stopping…", file=sys.stderr, flush=True)
        crowd.join(timeout_s=20)
        _stop_agents(agents)
        produced = sum(agent.events_emitted for agent, _ in agents)
        summary = _wait_stored(http, produced, timeout_s=15)
        summary["events_produced"] = produced
    finally:
        _stop_agents(agents)
        tap.stop()
        server.stop()
        broker.stop()
    result = {
        "entries": summary.get("entries", 0),
        "exits": summary.get("exits", 0),
        "denials": summary.get("denials", 0),
        "events_produced": summary.get("events_produced", 0),
        "events_stored": summary.get("events_stored", 0),
        "events_lost": max(0, summary.get("events_produced", 0) - summary.get("events_stored", 0)),
        "occupancy_end": summary.get("occupancy", 0),
        "stations": args.stations,
        "riders": args.riders,
        "seconds": round(time.monotonic() - started, 1),
    }
    print(json.dumps(result), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(run())
