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

from demo.broker import PrivateBroker
from demo.processes import free_port
from firmware_sim.station import SimStation
from mqttlink import LinkSettings
from protocol.payloads import ProvisioningBundle
from protocol.signing import sign
from protocol.topics import Family
from server.access.models import DecisionRecord
from server.core.deps import Services
from server.events.models import EventRecord
from server.stations.models import Station
from station_agent.adapters.decoder_pyzbar import PyzbarDecoder
from station_agent.adapters.mqtt_paho import MqttTransport
from station_agent.enrolment import settings_from_bundle
from station_agent.loop import StationAgent
from station_agent.ports import Hardware
from station_agent.runtime import build_agent
from tests.support.raw_client import admits
from tests.support.waiting import wait_for

# How long a test waits for a station to show something after a code is presented: seconds
# normally, but a station whose first frames meet a busy machine can take longer than the
# simulator's default 4 s. A test that passes never waits it out.
SHOW_WAIT_S = 15.0


def unique_station_id() -> str:
    return f"st-{uuid.uuid4().hex[:10]}"


@contextmanager
def serve_in_thread(app: FastAPI) -> Iterator[httpx.Client]:
    """The app behind real HTTP on a free port, its lifespan (and MQTT consumer) running."""
    port = free_port()
    config = uvicorn.Config(
        app,
        host="127.0.0.1",
        port=port,
        log_level="warning",
        server_header=False,
        timeout_graceful_shutdown=1,  # live streams a test left open end with it
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
    broker: PrivateBroker
    # Provisioning bundles of the stations added, shared with ``make_station``.
    bundles: dict[str, ProvisioningBundle] = field(default_factory=dict)
    app: FastAPI | None = None  # for what lives on app.state beside the services

    def add_station(
        self, station_id: str, capacity: int = 10, **fields: object
    ) -> ProvisioningBundle:
        body = {"id": station_id, "name": station_id, "capacity": capacity, **fields}
        return self.provision("/api/stations", body)

    def provision(self, path: str, body: dict[str, object]) -> ProvisioningBundle:
        """POST a provisioning request; its bundle, once the broker admits the station: the
        server rewrites the account files and signals the broker, which rereads them a moment
        later (a station connecting sooner would be refused and retry after seconds).

        Admitted means a connection with the bundle's password is accepted: counting the
        broker's reloads cannot tell one that began before the files were written."""
        reply = self.client.post(path, json=body)
        assert reply.status_code in (200, 201), reply.text
        bundle = ProvisioningBundle.model_validate(reply.json()["bundle"])
        self.bundles[bundle.station_id] = bundle
        if self.broker.secure:
            settings = self.broker.client_settings(bundle.broker_username, bundle.broker_password)
            wait_for(
                lambda: admits(settings),
                timeout_s=10,  # past the server's trailing reload signal (2 s)
                what=f"the broker to admit {bundle.station_id}",
            )
        return bundle

    def peer_settings(self) -> LinkSettings:
        """A test client with the server's broker account (on an open broker: anyone)."""
        password = self.services.settings.broker_password
        return self.broker.client_settings(
            self.services.settings.broker_username,
            password.get_secret_value() if password else None,
            internal=True,
        )

    def station_peer_settings(self, station_id: str) -> LinkSettings:
        """A test client with a provisioned station's broker account."""
        bundle = self.bundles[station_id]
        return self.broker.client_settings(bundle.broker_username, bundle.broker_password)

    def control_signed(
        self, station_id: str, family: Family, payload: bytes
    ) -> tuple[tuple[str, str], ...]:
        """User properties signing ``payload`` as the server would (for tests that speak as it)."""
        return sign(self.services.keys.control.signers, family, station_id, payload)

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

    def stop_soon(self, *, flush: bool = True) -> None:
        """Tell the agent to stop without waiting for it (``stop`` then waits). Without
        ``flush`` it does not give its outbox the usual moment to empty (a test's cleanup:
        nobody looks at what it would send)."""
        if not flush:
            self.agent.settings = self.agent.settings.model_copy(update={"shutdown_flush_s": 0.0})
        self.agent.stopping.set()


def start_station(
    bundle: ProvisioningBundle,
    data_dir: Path,
    *,
    wait_config: bool = True,
    **settings_overrides: Any,
) -> StationHarness:
    station_id = bundle.station_id
    sim = SimStation.build(seed=hash(station_id) & 0xFFFF)
    settings = settings_from_bundle(
        bundle,
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
