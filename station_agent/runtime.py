"""Wiring: an agent, its inbox and its MQTT transport, around the hardware it is given."""

from __future__ import annotations

import queue
import uuid

from station_agent.adapters.mqtt_paho import MqttTransport
from station_agent.adapters.store_sqlite import AgentStore
from station_agent.config import AgentSettings
from station_agent.ports import Clock
from station_agent.service import AgentInput, Hardware, StationAgent


def build_agent(
    settings: AgentSettings, hardware: Hardware, clock: Clock
) -> tuple[StationAgent, MqttTransport]:
    inbox: queue.SimpleQueue[AgentInput] = queue.SimpleQueue()
    session_id = uuid.uuid4().hex
    transport = MqttTransport(settings, inbox, session_id=session_id, clock=clock)
    store = AgentStore(settings.store_path)  # port Store
    agent = StationAgent(settings, hardware, transport, inbox, clock, session_id, store)
    return agent, transport
