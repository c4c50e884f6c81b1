"""Wiring: an agent, its inbox and its MQTT transport, around the hardware it is given."""

from __future__ import annotations

import uuid

from station_agent.adapters.mqtt_paho import MqttTransport
from station_agent.adapters.store_sqlite import AgentStore
from station_agent.config import AgentSettings
from station_agent.inbox import Inbox
from station_agent.loop import StationAgent
from station_agent.ports import Clock, Hardware, Supervisor
from station_agent.trust import PinnedKeys


def build_agent(
    settings: AgentSettings,
    hardware: Hardware,
    clock: Clock,
    *,
    supervisor: Supervisor | None = None,
) -> tuple[StationAgent, MqttTransport]:
    inbox: Inbox = Inbox()
    session_id = uuid.uuid4().hex
    store = AgentStore(settings.store_path)  # port Store
    # Keys a verified config pinned since provisioning win over the provisioning bundle's.
    pinned = PinnedKeys(store.pinned_control_keys() or settings.control_keys)
    transport = MqttTransport(settings, inbox, session_id=session_id, clock=clock, pinned=pinned)
    agent = StationAgent(
        settings,
        hardware,
        transport,
        inbox,
        clock,
        session_id,
        store,
        pinned=pinned,
        supervisor=supervisor,
    )
    return agent, transport
