"""The MQTT adapter's edge, without a broker: what reaches the inbox and what is dropped.
(Against a real Mosquitto: tests/integration/test_agent_rejections.py.)"""

from __future__ import annotations

import uuid

from mqttlink import Inbound
from protocol import topics
from protocol.payloads import CommandKind, dump
from protocol.topics import Family
from station_agent.adapters.mqtt_paho import MqttTransport
from station_agent.config import AgentSettings
from station_agent.inbox import CommandArrived, ConfigArrived, Inbox
from tests.unit.station_agent.rig import STATION, FakeClock, command, config, decision


def _transport() -> tuple[MqttTransport, Inbox]:
    inbox: Inbox = Inbox()
    settings = AgentSettings(station_id=STATION)
    return MqttTransport(settings, inbox, session_id="session-1", clock=FakeClock()), inbox


def _deliver(transport: MqttTransport, message: Inbound) -> None:
    transport._on_message(message)  # what paho's network thread would call


def _queued(inbox: Inbox) -> list[object]:
    items: list[object] = []
    while not inbox.empty():
        items.append(inbox.get_nowait())
    return items


def test_a_fresh_decision_is_queued_and_a_retained_one_dropped() -> None:
    transport, inbox = _transport()
    arrived = decision(uuid.uuid4().hex)
    topic = topics.station_topic(STATION, Family.ACCESS_DECISION)
    payload = dump(arrived.decision)

    _deliver(transport, Inbound(topic, payload, retain=True))
    assert _queued(inbox) == []
    assert transport.dropped_messages == 1

    _deliver(transport, Inbound(topic, payload, retain=False))
    assert _queued(inbox) == [arrived]


def test_messages_for_another_station_or_not_valid_are_dropped() -> None:
    transport, inbox = _transport()
    other = topics.station_topic("station-02", Family.ACCESS_DECISION)
    mine = topics.station_topic(STATION, Family.CONFIG)

    _deliver(transport, Inbound(other, dump(decision(uuid.uuid4().hex).decision), retain=False))
    _deliver(transport, Inbound(mine, b"{not json", retain=True))
    _deliver(transport, Inbound("elsewhere/entirely", b"{}", retain=False))

    assert _queued(inbox) == []
    assert transport.dropped_messages == 3


def test_config_and_commands_are_queued_with_what_the_loop_needs() -> None:
    transport, inbox = _transport()
    sent = command(CommandKind.LOCKDOWN)

    _deliver(
        transport,
        Inbound(topics.station_topic(STATION, Family.CONFIG), dump(config()), retain=True),
    )
    _deliver(
        transport,
        Inbound(topics.station_topic(STATION, Family.COMMANDS), dump(sent.command), retain=True),
    )

    assert _queued(inbox) == [ConfigArrived(config()), CommandArrived(sent.command, retained=True)]
