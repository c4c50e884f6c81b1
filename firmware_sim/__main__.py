"""``python -m firmware_sim``: one station as its own process: the real station agent on
simulated hardware, with simulated riders when given their links.

Used by fault tests (kill -9, SIGSTOP) and the soak benchmark; settings come from ``WS_AGENT_*``
and these arguments. Prints one JSON line on a clean exit.
"""

from __future__ import annotations

import argparse
import json
import logging
import signal
import sys
import threading
import time
from pathlib import Path
from types import FrameType

from firmware_sim.crowd import RiderCrowd
from firmware_sim.station import SimStation
from protocol.payloads import PayloadError, ProvisioningBundle, parse
from station_agent.adapters.decoder_pyzbar import PyzbarDecoder
from station_agent.enrolment import settings_from_bundle
from station_agent.ports import Hardware
from station_agent.runtime import build_agent
from telemetry.logs import configure


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m firmware_sim", description=__doc__)
    parser.add_argument(
        "--bundle", type=Path, required=True, help="the station's provisioning bundle (JSON)"
    )
    parser.add_argument("--data-dir", type=Path, required=True)
    parser.add_argument("--server-url", help="where riders fetch their codes")
    parser.add_argument("--riders-file", type=Path, help="JSON list of rider links")
    parser.add_argument("--rest", type=float, nargs=2, default=(1.0, 3.0), metavar=("MIN", "MAX"))
    parser.add_argument("--heartbeat-s", type=float, default=30.0)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args(argv)
    try:
        bundle = parse(ProvisioningBundle, args.bundle.read_bytes())
    except (OSError, PayloadError) as exc:
        print(f"error: cannot use the bundle {args.bundle}: {exc}", file=sys.stderr)
        return 2
    station_id = bundle.station_id
    configure(
        component="sim",
        level=logging.WARNING,
        text_format=f"%(asctime)s {station_id} %(message)s",
        station_id=station_id,
    )
    # A flag, not an exception: an exception raised into Thread.join() can leave the thread
    # marked stopped while it still runs (CPython 3.11), and the agent must finish cleanly.
    stop_requested = threading.Event()

    def request_stop(signum: int, frame: FrameType | None) -> None:
        stop_requested.set()

    signal.signal(signal.SIGTERM, request_stop)
    signal.signal(signal.SIGINT, request_stop)

    sim = SimStation.build(seed=args.seed)
    settings = settings_from_bundle(
        bundle, data_dir=args.data_dir, heartbeat_s=args.heartbeat_s, frame_interval_s=0.1
    )
    hardware = Hardware(
        sim.camera, PyzbarDecoder(), sim.lock, sim.door, sim.exit_button, sim.display
    )
    agent, _ = build_agent(settings, hardware, time.time)
    runner = threading.Thread(target=agent.run, name="agent", daemon=True)
    runner.start()
    print(json.dumps({"station_id": station_id, "ready": True}), flush=True)
    crowd = None
    if args.riders_file and args.server_url:
        crowd = RiderCrowd(
            base_url=args.server_url, stations=[sim], seed=args.seed, rest_s=tuple(args.rest)
        )
        crowd.add(json.loads(args.riders_file.read_text()))
        crowd.start()
    while runner.is_alive() and not stop_requested.wait(0.5):
        pass
    if crowd is not None:
        crowd.join(timeout_s=20)
    agent.stopping.set()
    runner.join(15)
    print(
        json.dumps(
            {
                "station_id": station_id,
                "events_emitted": agent.events_emitted,
                "unlocks": sim.lock.unlock_count,
                "visits": crowd.visits if crowd else 0,
            }
        ),
        flush=True,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
