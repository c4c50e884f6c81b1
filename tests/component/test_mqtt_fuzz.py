"""Every MQTT handler on both sides, fed what an attacker or a broken peer might send: random
bytes, random JSON, deep nesting, huge numbers, the right keys with the wrong types, with and
without a valid signature. Only the declared rejection happens: the message is dropped and
counted under a known reason, nothing is stored, no door moves, and nothing escapes into
paho's network thread."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlmodel import Session, func, select

from mqttlink import Inbound
from protocol import topics
from protocol.payloads import (
    AccessDecision,
    AccessRequest,
    EventsAck,
    Heartbeat,
    StationCommand,
    StationConfig,
    StationEvent,
    StationState,
)
from protocol.signing import SigningKey, sign
from protocol.topics import Family
from server.access.models import DecisionRecord
from server.core.db import init_db, make_engine
from server.core.settings import ServerSettings
from server.events.models import EventRecord
from server.keys.ring import KeyHolder
from server.mqtt.consumer import MqttConsumer
from server.stations import provisioning
from server.stations.models import StationCreate
from station_agent.adapters.mqtt_paho import MqttTransport
from station_agent.config import AgentSettings
from station_agent.inbox import Inbox
from station_agent.trust import PinnedKeys
from tests.unit.station_agent.rig import CONTROL, IDENTITY, STATION, FakeClock, Rig

STATION_ID = "st-fuzz"
SERVER_DROPS = {
    "invalid",
    "too_large",
    "topic",
    "mismatch",
    "unsigned",
    "malformed_signature",
    "unknown_key",
    "bad_signature",
    "unknown_station",
    "rate_limited",
    "stale",
}
AGENT_DROPS = {
    "invalid",
    "too_large",
    "topic",
    "misaddressed",
    "retained",
    "unsigned",
    "malformed_signature",
    "unknown_key",
    "bad_signature",
}

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=False),
    st.text(max_size=40),
)
json_values = st.recursive(
    scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=5), st.dictionaries(st.text(max_size=10), inner, max_size=5)
    ),
    max_leaves=30,
)


def _keys_of(*models: type[Any]) -> list[str]:
    return sorted({name for model in models for name in model.model_fields})


def _wrong_types(keys: list[str]) -> st.SearchStrategy[bytes]:
    """The right field names, values of any type: the closest a random payload gets."""
    return st.dictionaries(st.sampled_from(keys), json_values, max_size=len(keys)).map(
        lambda d: json.dumps({"v": 1, **d}).encode()
    )


def payloads(*models: type[Any]) -> st.SearchStrategy[bytes]:
    return st.one_of(
        st.binary(max_size=300),
        json_values.map(lambda v: json.dumps(v).encode()),
        st.integers(min_value=1, max_value=50_000).map(lambda n: b"[" * n + b"]" * n),
        st.integers(min_value=1, max_value=50_000).map(lambda n: b'{"a":' * n + b"1" + b"}" * n),
        st.just(b"9" * 5000),
        st.just(b"x" * 70_000),  # over the payload cap
        _wrong_types(_keys_of(*models)),
    )


# -- the server ------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def consumer(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[MqttConsumer, Any]]:
    data = tmp_path_factory.mktemp("fuzz-server")
    server_settings = ServerSettings(data_dir=data, audience="ws-test", broker_port=1)
    engine = make_engine(server_settings.sqlalchemy_url)
    init_db(engine)
    keys = KeyHolder(engine)
    keys.reload()
    with Session(engine) as session:
        _, bundle = provisioning.create_station(
            session,
            station_in=StationCreate(id=STATION_ID, name="fuzz", capacity=5),
            settings=server_settings,
            control=keys.control,
            now=datetime.now(UTC),
            by="test",
        )
    consumer = MqttConsumer(server_settings, engine, keys)  # never connected: nothing sent
    yield consumer, (engine, SigningKey.from_text(bundle.station_key))
    engine.dispose()


def _count(engine: Any, table: type[Any]) -> int:
    with Session(engine) as session:
        result: int = session.exec(select(func.count()).select_from(table)).one()
        return result


STATION_FAMILIES = [Family.ACCESS_REQUEST, Family.EVENTS, Family.HEARTBEAT, Family.STATE]
STATION_MODELS = (AccessRequest, StationEvent, Heartbeat, StationState)


@settings(
    max_examples=300,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    family=st.sampled_from([*STATION_FAMILIES, Family.CONFIG, Family.COMMANDS]),
    payload=payloads(*STATION_MODELS),
    signed=st.booleans(),
    retain=st.booleans(),
    station=st.sampled_from([STATION_ID, "st-other", "ws"]),
)
def test_the_server_drops_whatever_is_not_a_valid_signed_message(
    consumer: tuple[MqttConsumer, Any],
    family: Family,
    payload: bytes,
    signed: bool,
    retain: bool,
    station: str,
) -> None:
    handler, (engine, station_key) = consumer
    events_before, decisions_before = _count(engine, EventRecord), _count(engine, DecisionRecord)
    dropped_before = sum(handler.dropped.values())
    properties = sign([station_key], family, station, payload) if signed else ()
    message = Inbound(
        topics.station_topic(station, family), payload, retain, None, None, properties
    )
    handler.handle(message)  # what the workers run per message

    assert set(handler.dropped) <= SERVER_DROPS, handler.dropped
    if not (family is Family.STATE and not payload):  # a cleared retained state: nothing to do
        assert sum(handler.dropped.values()) == dropped_before + 1
    assert (_count(engine, EventRecord), _count(engine, DecisionRecord)) == (
        events_before,
        decisions_before,
    )


@settings(max_examples=100, deadline=None)
@given(topic=st.text(max_size=80), payload=st.binary(max_size=100))
def test_the_server_drops_any_topic_it_does_not_own(
    consumer: tuple[MqttConsumer, Any], topic: str, payload: bytes
) -> None:
    handler, _ = consumer
    before = sum(handler.dropped.values())
    handler.handle(Inbound(topic, payload, False))
    assert sum(handler.dropped.values()) in (before, before + 1)
    assert set(handler.dropped) <= SERVER_DROPS


# -- the station -----------------------------------------------------------------------------
def _transport(tmp: Path) -> tuple[MqttTransport, Inbox]:
    agent_settings = AgentSettings(station_id=STATION, data_dir=tmp, **IDENTITY)
    inbox: Inbox = Inbox()
    transport = MqttTransport(
        agent_settings,
        inbox,
        session_id="s",
        clock=FakeClock(),
        pinned=PinnedKeys(agent_settings.control_keys),
    )
    return transport, inbox


SERVER_MODELS = (AccessDecision, StationConfig, EventsAck, StationCommand)


@settings(max_examples=300, deadline=None)
@given(
    family=st.sampled_from(list(Family)),
    payload=payloads(*SERVER_MODELS),
    signed=st.booleans(),
    retain=st.booleans(),
    station=st.sampled_from([STATION, "station-02"]),
    extra=st.lists(st.tuples(st.text(max_size=8), st.text(max_size=30)), max_size=3),
)
def test_the_station_acts_only_on_valid_signed_messages(
    tmp_path_factory: pytest.TempPathFactory,
    family: Family,
    payload: bytes,
    signed: bool,
    retain: bool,
    station: str,
    extra: list[tuple[str, str]],
) -> None:
    transport, inbox = _transport(tmp_path_factory.mktemp("agent"))
    properties = (sign([CONTROL], family, station, payload) if signed else ()) + tuple(extra)
    message = Inbound(
        topics.station_topic(station, family), payload, retain, None, None, properties
    )

    transport._on_message(message)  # what paho's network thread calls

    assert set(transport.dropped) <= AGENT_DROPS, transport.dropped
    rig = Rig.build()
    while not inbox.empty():  # a payload that validated: the loop must still refuse it
        rig.agent.handle(inbox.get_nowait())
        rig.turn()
    assert rig.lock.unlock_count == 0
