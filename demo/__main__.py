"""``python -m demo``: broker, server, simulated stations and riders, and a staff page.

By default the city as the union runs it (``demo/city.py``): Hangzhou's 16 stations open 24
hours, 13 in the main districts and 3 in the county town of Tonglu, riders of several
platforms who keep to their part of town, and a day compressed into ``--day-seconds`` with its
lunch and dinner rushes. ``--stations N`` takes fewer, or adds more on the main roads.

Prints every entry, exit and denial as it happens; on exit (after ``--duration`` seconds or
Ctrl-C) stops everything in order and prints one JSON summary as its last line.

With ``--attach-broker`` and ``--attach-server`` it runs only the simulated stations and riders
against a broker and server that run elsewhere (docker-compose does this).
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import shutil
import signal
import sys
import threading
import time
from contextlib import ExitStack
from pathlib import Path
from types import FrameType
from typing import Any

import httpx

from demo import city
from demo.broker import PrivateBroker
from demo.processes import free_port, port_open
from demo.server_process import ServerProcess, staff_client
from demo.tap import EventTap
from firmware_sim.crowd import RiderCrowd
from firmware_sim.station import SimStation
from mqttlink import LinkSettings
from protocol.payloads import ProvisioningBundle
from server.broker.accounts import (
    DEFAULT_MONITOR_USERNAME,
    DEFAULT_SERVER_USERNAME,
    BrokerAccount,
    Role,
    new_password,
)
from station_agent.adapters.decoder_pyzbar import PyzbarDecoder
from station_agent.enrolment import settings_from_bundle
from station_agent.loop import StationAgent
from station_agent.ports import Hardware
from station_agent.runtime import build_agent
from telemetry.logs import configure

# The union's hotline (全国总工会职工服务热线), shown to riders on the finder.
HOTLINE = "12351"
MAX_STATIONS = 200


def _parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="./scripts/demo", description=__doc__)
    parser.add_argument("--duration", type=float, default=None, help="seconds (default: Ctrl-C)")
    parser.add_argument(
        "--stations", type=int, default=len(city.PLACES), help="default: the city's 16"
    )
    parser.add_argument("--riders", type=int, default=None, help="default: 1.5 per station")
    parser.add_argument("--capacity", type=int, default=None, help="default: each station's own")
    parser.add_argument("--day-seconds", type=float, default=300.0, help="one day passes in this")
    parser.add_argument("--start-hour", type=float, default=10.5, help="the demo's first hour")
    parser.add_argument("--http-port", type=int, default=8080, help="0: any free port")
    parser.add_argument("--broker-port", type=int, default=0, help="default: a free port")
    parser.add_argument("--data-dir", type=Path, default=Path("data/demo"))
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--attach-broker", metavar="HOST:PORT", help="use this broker")
    parser.add_argument("--attach-server", metavar="URL", help="use this server")
    parser.add_argument(
        "--staff-user", default="admin", help="with --attach-server (password: WS_STAFF_PASSWORD)"
    )
    args = parser.parse_args(argv)
    if (args.attach_broker is None) != (args.attach_server is None):
        parser.error("--attach-broker and --attach-server go together")
    if not 1 <= args.stations <= MAX_STATIONS:
        parser.error(f"--stations: from 1 to {MAX_STATIONS}")
    if args.riders is None:
        args.riders = max(4, args.stations * 3 // 2)
    if args.day_seconds <= 0 or not 0 <= args.start_hour < 24:
        parser.error("--day-seconds must be positive and --start-hour within 0-24")
    return args


class Stations:
    """Simulated station hardware, each driven by a real station agent on its own thread."""

    def __init__(self) -> None:
        self.sims: list[SimStation] = []
        self._agents: list[tuple[StationAgent, threading.Thread]] = []

    def start(
        self, bundle: ProvisioningBundle, seed: int, data_dir: Path, **overrides: object
    ) -> None:
        sim = SimStation.build(seed=seed)
        station_id = bundle.station_id
        settings = settings_from_bundle(
            bundle, data_dir=data_dir / "stations" / station_id, frame_interval_s=0.15, **overrides
        )
        hardware = Hardware(
            sim.camera, PyzbarDecoder(), sim.lock, sim.door, sim.exit_button, sim.display
        )
        agent, _ = build_agent(settings, hardware, time.time)
        thread = threading.Thread(target=agent.run, name=f"agent-{station_id}", daemon=True)
        thread.start()
        self.sims.append(sim)
        self._agents.append((agent, thread))

    def stop(self) -> None:
        for agent, _ in self._agents:
            agent.stopping.set()
        for _, thread in self._agents:
            thread.join(10)

    @property
    def events_emitted(self) -> int:
        return sum(agent.events_emitted for agent, _ in self._agents)

    @property
    def events_pending(self) -> int:
        """Still in the stations' outboxes after they stopped: sent at their next start."""
        return sum(agent.final_outbox_depth for agent, _ in self._agents)


def _enrol(http: httpx.Client, count: int) -> list[str]:
    """Riders enrolled through the staff API; their personal links."""
    links = []
    for platform, name in city.riders(count):
        reply = http.post("/api/riders", json={"platform": platform, "display_name": name})
        reply.raise_for_status()
        links.append(reply.json()["link"])
    return links


def _provision(
    http: httpx.Client, station_id: str, place: city.Place, capacity: int
) -> dict[str, Any]:
    """The station at the server (again, with a new identity, if it knows it already), with
    what riders read about it on the finder."""
    reply = http.post(
        "/api/stations",
        json={
            "id": station_id,
            "name": place.name,
            "capacity": capacity,
            "latitude": place.lat,
            "longitude": place.lon,
        },
    )
    if reply.status_code == 409:  # attached to a server that knows it already
        reply = http.post(
            f"/api/stations/{station_id}/provision", json={"reason": "demo restarted"}
        )
    reply.raise_for_status()
    http.patch(
        f"/api/stations/{station_id}/details",
        json={"address": place.address, "amenities": list(place.amenities), "reason": "demo"},
    ).raise_for_status()
    provisioned: dict[str, Any] = reply.json()
    return provisioned


def _wait_stored(http: httpx.Client, produced: int, timeout_s: float) -> dict[str, int]:
    deadline = time.monotonic() + timeout_s
    while True:
        summary: dict[str, int] = http.get("/api/summary").raise_for_status().json()
        if summary["events_stored"] >= produced or time.monotonic() > deadline:
            return summary
        time.sleep(0.2)


def run(argv: list[str] | None = None) -> int:
    args = _parse_args(argv)
    configure(
        component="demo", level=logging.WARNING, text_format="%(asctime)s %(name)s %(message)s"
    )
    # Ctrl-C and SIGTERM set a flag (an exception raised into a Thread.join() can leave a
    # thread marked stopped while it still runs); the shutdown below then runs in order.
    stop_requested = threading.Event()

    def request_stop(signum: int, frame: FrameType | None) -> None:
        if stop_requested.is_set():
            print("still stopping, please wait…", file=sys.stderr, flush=True)
        stop_requested.set()

    signal.signal(signal.SIGTERM, request_stop)
    signal.signal(signal.SIGINT, request_stop)
    started = time.monotonic()
    stations = Stations()
    summary: dict[str, int] = {}
    stored_before: dict[str, int]
    with ExitStack() as stack:
        tap_settings: LinkSettings | None = None
        if args.attach_broker:
            broker_host, _, port = args.attach_broker.rpartition(":")
            broker_port, base_url = int(port), args.attach_server.rstrip("/")
            http = staff_client(base_url, args.staff_user, os.environ.get("WS_STAFF_PASSWORD", ""))
            stack.callback(http.close)
            login_hint = ""
            # The attached server has history: the summary counts only this run.
            stored_before = http.get("/api/summary").raise_for_status().json()
        else:
            shutil.rmtree(args.data_dir, ignore_errors=True)  # every demo starts afresh
            args.data_dir.mkdir(parents=True)
            # 0, or a port already taken (a second demo, say): any free port.
            http_port = args.http_port
            if not http_port or port_open(http_port):
                http_port = free_port()
            # The broker as deployed: TLS, no anonymous clients, an account per station that
            # the server writes at provisioning; the server and the event tap (a read-only
            # monitor, which never sees riders' codes) on the internal listener.
            server_password, monitor_password = new_password(), new_password()
            server_account = BrokerAccount.with_password(
                DEFAULT_SERVER_USERNAME, server_password, Role.SERVER
            )
            broker = PrivateBroker(
                port=args.broker_port, workdir=args.data_dir / "broker", accounts=[server_account]
            )
            stack.enter_context(broker)
            broker_host, broker_port = "127.0.0.1", broker.port
            server = ServerProcess(
                data_dir=args.data_dir,
                http_port=http_port,
                broker_port=broker.port,
                extra_env={
                    **broker.server_env(server_password),
                    "WS_SERVER_BROKER_MONITOR_PASSWORD": monitor_password,
                    "WS_SERVER_HOTLINE": HOTLINE,
                },
            )
            tap_settings = broker.client_settings(
                DEFAULT_MONITOR_USERNAME, monitor_password, internal=True
            )
            stack.enter_context(server)
            base_url = server.base_url
            stored_before = {}
            http = server.client()
            stack.callback(http.close)
            login_hint = f"{server.admin_user} / {server.admin_password}"
        stack.callback(stations.stop)
        places = city.stations(args.stations, args.seed)
        for i, place in enumerate(places):
            station_id = f"station-{i + 1:02d}"
            provisioned = _provision(http, station_id, place, args.capacity or place.capacity)
            bundle = ProvisioningBundle.model_validate(provisioned["bundle"])
            # Attached: the broker as this machine reaches it, whatever the server tells boxes.
            where = {"broker_host": broker_host, "broker_port": broker_port}
            stations.start(
                bundle,
                seed=args.seed + i,
                data_dir=args.data_dir,
                **(where if args.attach_broker else {}),
            )
        if tap_settings is not None:
            tap = EventTap(tap_settings)
            tap.start()
            stack.callback(tap.stop)
        else:
            print("(attached: events are not printed; the staff pages show them)", flush=True)
        day_started = time.monotonic()

        def pace() -> float:
            elapsed = time.monotonic() - day_started
            hour = city.clock_hour(elapsed, day_s=args.day_seconds, start_hour=args.start_hour)
            return city.activity(hour)

        crowd = RiderCrowd(
            base_url=base_url,
            stations=stations.sims,
            seed=args.seed,
            rest_s=(3.0, 8.0),
            pace=pace,
            # Each rider works around one station: it and its two nearest.
            haunts=lambda i: city.nearest(places, i % len(places), min(3, len(places))),
        )
        crowd.add(_enrol(http, args.riders), pranksters=1)
        print(
            f"Broker  : mqtts://{broker_host}:{broker_port}  (TLS, an account per station)",
            flush=True,
        )
        print(f"Staff   : {base_url}/   (API docs {base_url}/docs)", flush=True)
        print(f"Riders  : {base_url}/find   (the station finder, no login)", flush=True)
        if login_hint:
            print(f"Log in  : {login_hint}", flush=True)
        in_town = sum(1 for p in places if p.district.startswith(city.TOWN))
        print(
            f"City    : {city.CITY}, {len(places) - in_town} stations in the city and {in_town}"
            f" in {city.TOWN}; a day every {args.day_seconds:g} s from"
            f" {int(args.start_hour):02d}:{int(args.start_hour % 1 * 60):02d}",
            flush=True,
        )
        print(f"Stations: {args.stations}, riders: {args.riders}; Ctrl-C stops.", flush=True)
        crowd.start()
        if stop_requested.wait(args.duration):
            print("stopping…", file=sys.stderr, flush=True)
        crowd.join(timeout_s=20)  # riders inside walk out
        stations.stop()
        produced, pending = stations.events_emitted, stations.events_pending
        expected = stored_before.get("events_stored", 0) + produced - pending
        totals = _wait_stored(http, expected, 15)
        summary = {key: value - stored_before.get(key, 0) for key, value in totals.items()}
        summary["occupancy"] = totals["occupancy"]
        summary["events_produced"] = produced
        summary["events_pending"] = pending
    result = {
        "entries": summary.get("entries", 0),
        "exits": summary.get("exits", 0),
        "denials": summary.get("denials", 0),
        "events_produced": summary.get("events_produced", 0),
        "events_stored": summary.get("events_stored", 0),
        "events_pending": summary.get("events_pending", 0),
        "events_lost": max(
            0,
            summary.get("events_produced", 0)
            - summary.get("events_stored", 0)
            - summary.get("events_pending", 0),
        ),
        "occupancy_end": summary.get("occupancy", 0),
        "stations": args.stations,
        "riders": args.riders,
        "seconds": round(time.monotonic() - started, 1),
    }
    print(json.dumps(result), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(run())
