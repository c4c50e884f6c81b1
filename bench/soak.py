"""Soak: N simulated stations (real agent processes with riders) for M minutes, with random
broker restarts and server kill -9 restarts. Nothing may be lost or duplicated.

Prints events produced, stored, lost, duplicated, the largest outbox depth seen, the spread of
station reconnections after each broker restart, and each agent's memory at start and end;
then one JSON line.

    .venv/bin/python bench/soak.py --stations 4 --minutes 2
"""

from __future__ import annotations

import argparse
import json
import random
import sqlite3
import statistics
import sys
import tempfile
import threading
import time
from contextlib import closing
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from demo.broker import PrivateBroker
from demo.processes import free_port
from demo.server_process import ServerProcess
from mqttlink import Inbound, Link, LinkSettings
from protocol import topics
from protocol.payloads import ProvisioningBundle, StationState, parse
from protocol.topics import Family
from tests.support.station_process import StationProcess


def rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def outbox_depth(data_dir: Path) -> int:
    try:
        with sqlite3.connect(data_dir / "agent.db", timeout=5) as db:
            depth: int = db.execute("SELECT count(*) FROM outbox").fetchone()[0]
            return depth
    except sqlite3.Error:
        return 0


class BirthWatch:
    """Records when each station's birth message arrives (each one is a reconnection)."""

    def __init__(self, port: int) -> None:
        self.births: list[tuple[float, str]] = []
        self._link = Link(
            client_id="soak-watch",
            settings=LinkSettings(port=port, reconnect_min_s=0.2, reconnect_jitter_s=0.0),
            on_message=self._on_message,
            subscriptions=[(topics.all_stations(Family.STATE), 1)],
        )
        self._link.start()

    def _on_message(self, message: Inbound) -> None:
        if message.retain or not message.payload:
            return
        state = parse(StationState, message.payload)
        if state.online:
            self.births.append((time.time(), state.station_id))

    def stop(self) -> None:
        self._link.stop()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--stations", type=int, default=4)
    parser.add_argument("--riders", type=int, default=3, help="per station")
    parser.add_argument("--minutes", type=float, default=2.0)
    parser.add_argument("--fault-every", type=float, nargs=2, default=(15.0, 30.0))
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    rng = random.Random(args.seed)
    work = Path(tempfile.mkdtemp(prefix="ws-soak-"))
    broker = PrivateBroker(workdir=work / "broker").start()
    server = ServerProcess(
        data_dir=work / "server", http_port=free_port(), broker_port=broker.port
    ).start()
    ids = [f"soak-{i:03d}" for i in range(args.stations)]
    with closing(server.client()) as http:
        links = {}
        bundles = {}
        for sid in ids:
            reply = http.post("/api/stations", json={"id": sid, "name": sid, "capacity": 50})
            bundles[sid] = ProvisioningBundle.model_validate(
                reply.raise_for_status().json()["bundle"]
            )
            links[sid] = [
                http.post("/api/riders", json={}).json()["link"] for _ in range(args.riders)
            ]
    stations = {
        sid: StationProcess(
            bundles[sid],
            data_dir=work / sid,
            server_url=server.base_url,
            rider_links=links[sid],
            heartbeat_s=2.0,
        )
        for sid in ids
    }
    for station in stations.values():
        station.wait_ready()
    time.sleep(5)
    memory_start = {sid: rss_kib(s.process.pid) for sid, s in stations.items()}
    watch = BirthWatch(broker.port)
    max_depth = 0
    spreads: list[float] = []
    faults: list[str] = []
    sampling = threading.Event()

    def sample_depths() -> None:
        nonlocal max_depth
        while not sampling.wait(1.0):
            max_depth = max(max_depth, *(outbox_depth(work / sid) for sid in ids))

    sampler = threading.Thread(target=sample_depths, daemon=True)
    sampler.start()
    end = time.monotonic() + args.minutes * 60
    while True:
        pause = rng.uniform(*args.fault_every)
        if time.monotonic() + pause + 15 > end:
            break
        time.sleep(pause)
        if rng.random() < 0.5:
            faults.append("broker restart")
            broker.stop()
            time.sleep(rng.uniform(1, 5))
            restarted = time.time()
            watch.births.clear()
            broker.start()
            time.sleep(12)
            back = sorted(t for t, _ in watch.births if t >= restarted)
            if len(back) >= args.stations:
                spreads.append(back[args.stations - 1] - back[0])
        else:
            faults.append("server kill -9")
            server.kill()
            time.sleep(rng.uniform(1, 5))
            server.start()
    time.sleep(max(0.0, end - time.monotonic()))
    memory_end = {sid: rss_kib(s.process.pid) for sid, s in stations.items()}
    sampling.set()
    produced = 0
    for sid, station in stations.items():
        station.stop()
        drainer = StationProcess(bundles[sid], data_dir=work / sid)
        drainer.wait_ready()
        deadline = time.monotonic() + 60
        while outbox_depth(work / sid) and time.monotonic() < deadline:
            time.sleep(0.2)
        drainer.stop()
        produced += drainer.last_seq()
    time.sleep(1)
    watch.stop()
    server.stop()
    broker.stop()
    with sqlite3.connect(work / "server" / "warm_station.db") as db:
        stored_rows = db.execute("SELECT count(*) FROM event").fetchone()[0]
        unique = db.execute(
            "SELECT count(*) FROM (SELECT DISTINCT station_id, epoch, seq FROM event)"
        ).fetchone()[0]
    result = {
        "bench": "soak",
        "stations": args.stations,
        "minutes": args.minutes,
        "faults": faults,
        "events_produced": produced,
        "events_stored": unique,
        "events_lost": produced - unique,
        "events_duplicated": stored_rows - unique,
        "max_outbox_depth": max_depth,
        "reconnect_spread_s": [round(s, 2) for s in spreads],
        "agent_rss_kib_start_mean": round(statistics.mean(memory_start.values())),
        "agent_rss_kib_end_mean": round(statistics.mean(memory_end.values())),
        "agent_rss_growth_ratio": round(
            statistics.mean(memory_end.values()) / statistics.mean(memory_start.values()), 3
        ),
    }
    for key, value in result.items():
        print(f"{key:<28} {value}")
    print(json.dumps(result))


if __name__ == "__main__":
    main()
