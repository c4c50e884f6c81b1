"""The real parts wired for a test: the server in-process (FastAPI lifespan, real MQTT consumer,
real SQLite file) and station agents driving simulated hardware, all on a private broker."""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import uvicorn
from fastapi import FastAPI
from sqlmodel import Session, col, select

from demo.processes import free_port
from firmware_sim.station import SimStation
from server.access.models import DecisionRecord
from server.core.deps import Services
from server.events.models import EventRecord
from server.stations.models import Station
from station_agent.adapters.decoder_pyzbar import PyzbarDecoder
from station_agent.adapters.mqtt_paho import MqttTransport
from station_agent.config import AgentSettings
from station_agent.loop import StationAgent
from station_agent.ports import Hardware
from station_agent.runtime import build_agent
from tests.support.waiting import wait_for


def unique_station_id() -> str:
    return f"st-{uuid.uuid4().hex[:10]}"


@contextmanager
def serve_in_thread(app: FastAPI) -> Iterator[httpx.Client]:
    """The app behind real HTTP on a free port, its lifespan (and MQTT consumer) running."""
    port = free_port()
    config = uvicorn.Config(
        app, host="127.0.0.1", port=port, log_level="warning", server_header=False
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, name="uvicorn", daemon=True)
    thread.start()
    try:
        wait_for(lambda: server.started, timeout_s=15, what="the server to start")
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=10) as client:
            yield client
    finally:
        server.should_exit = True
        thread.join(15)


@dataclass
class ServerHarness:
    client: httpx.Client
    services: Services

    def add_station(self, station_id: str, capacity: int = 10) -> None:
        reply = self.client.post(
            "/api/stations", json={"id": station_id, "name": station_id, "capacity": capacity}
        )
        assert reply.status_code == 201, reply.text

    def enrol(self) -> tuple[str, str]:
        """A new rider: (rider id, personal link)."""
        reply = self.client.post("/api/riders", json={"platform": "food_delivery"})
        assert reply.status_code == 201, reply.text
        body = reply.json()
        return body["id"], body["link"]

    def qr_png(self, link: str) -> bytes:
        reply = self.client.get(f"{link}/qr.png")
        assert reply.status_code == 200, reply.text
        return reply.content

    def token(self, link: str) -> str:
        reply = self.client.get(f"{link}/token")
        assert reply.status_code == 200, reply.text
        token: str = reply.json()["token"]
        return token

    def station(self, station_id: str) -> Station:
        with Session(self.services.engine) as session:
            station = session.get(Station, station_id)
            assert station is not None
            return station

    def events(self, station_id: str) -> list[EventRecord]:
        with Session(self.services.engine) as session:
            statement = (
                select(EventRecord)
                .where(EventRecord.station_id == station_id)
                .order_by(col(EventRecord.seq))
            )
            return list(session.exec(statement))

    def decisions(self, station_id: str) -> list[DecisionRecord]:
        with Session(self.services.engine) as session:
            statement = select(DecisionRecord).where(DecisionRecord.station_id == station_id)
            return list(session.exec(statement))


@dataclass
class StationHarness:
    station_id: str
    sim: SimStation
    agent: StationAgent
    transport: MqttTransport
    thread: threading.Thread = field(repr=False)

    def stop(self) -> None:
        self.agent.stopping.set()
        self.thread.join(10)


def start_station(
    station_id: str,
    broker_port: int,
    data_dir: Path,
    *,
    wait_config: bool = True,
    **settings_overrides: Any,
) -> StationHarness:
    sim = SimStation.build(seed=hash(station_id) & 0xFFFF)
    settings = AgentSettings(
        station_id=station_id,
        broker_port=broker_port,
        data_dir=data_dir / station_id,
        **{
            "frame_interval_s": 0.05,
            # Generous: a loaded test machine must not turn server decisions into offline ones.
            "decision_timeout_s": 2.0,
            **settings_overrides,
        },
    )
    hardware = Hardware(
        sim.camera, PyzbarDecoder(), sim.lock, sim.door, sim.exit_button, sim.display
    )
    agent, transport = build_agent(settings, hardware, time.time)
    thread = threading.Thread(target=agent.run, name=f"agent-{station_id}", daemon=True)
    thread.start()
    if wait_config:
        wait_for(lambda: agent.configured, what=f"{station_id} to receive its config")
    return StationHarness(station_id, sim, agent, transport, thread)
