"""The MQTT adapter's edge, without a broker: what reaches the inbox and what is dropped.
(Against a real Mosquitto: tests/integration/test_agent_rejections.py.)"""

from __future__ import annotations

import uuid

from mqttlink import Inbound
from protocol import topics
from protocol.payloads import CommandKind, dump
from protocol.signing import SigningKey, sign, sign_trust
from protocol.topics import Family, TrustTopic
from station_agent.adapters.mqtt_paho import MqttTransport
from station_agent.config import AgentSettings
from station_agent.inbox import (
    CommandArrived,
    ConfigArrived,
    ConfigDropped,
    Inbox,
    TrustArrived,
)
from station_agent.trust import PinnedKeys
from tests.unit.station_agent.rig import (
    CONTROL,
    IDENTITY,
    STATION,
    FakeClock,
    command,
    config,
    decision,
    denylist_pages,
    keys_page,
)


def _transport() -> tuple[MqttTransport, Inbox]:
    inbox: Inbox = Inbox()
    settings = AgentSettings(station_id=STATION, **IDENTITY)
    pinned = PinnedKeys(settings.control_keys)
    transport = MqttTransport(
        settings, inbox, session_id="session-1", clock=FakeClock(), pinned=pinned
    )
    return transport, inbox


def _from_server(
    topic: str, payload: bytes, *, retain: bool = False, key: SigningKey = CONTROL
) -> Inbound:
    """As the server sends it: signed with its control key for this topic's station."""
    parsed = topics.parse(topic)
    family = parsed.family if parsed else Family.CONFIG
    station = parsed.station_id if parsed else STATION
    return Inbound(
        topic, payload, retain=retain, user_properties=sign([key], family, station, payload)
    )


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

    _deliver(transport, _from_server(topic, payload, retain=True))
    assert _queued(inbox) == []
    assert transport.dropped_messages == 1

    _deliver(transport, _from_server(topic, payload))
    assert _queued(inbox) == [arrived]


def test_messages_for_another_station_or_not_valid_are_dropped() -> None:
    transport, inbox = _transport()
    other = topics.station_topic("station-02", Family.ACCESS_DECISION)
    mine = topics.station_topic(STATION, Family.CONFIG)

    _deliver(transport, _from_server(other, dump(decision(uuid.uuid4().hex).decision)))
    _deliver(transport, _from_server(mine, b"{not json", retain=True))
    _deliver(transport, _from_server("elsewhere/entirely", b"{}"))

    # Only the station's own config dropped is worth telling the loop (and the heartbeat).
    assert _queued(inbox) == [ConfigDropped("config", "invalid")]
    assert transport.dropped_messages == 3


def test_config_and_commands_are_queued_with_what_the_loop_needs() -> None:
    transport, inbox = _transport()
    sent = command(CommandKind.LOCKDOWN)

    _deliver(
        transport,
        _from_server(topics.station_topic(STATION, Family.CONFIG), dump(config()), retain=True),
    )
    _deliver(
        transport,
        _from_server(
            topics.station_topic(STATION, Family.COMMANDS), dump(sent.command), retain=True
        ),
    )

    assert _queued(inbox) == [ConfigArrived(config()), CommandArrived(sent.command, retained=True)]


def test_only_what_the_server_signed_for_this_station_reaches_the_loop() -> None:
    """Forged commands, raced decisions, overwritten configs and acks (issue 10, attacks 1-3):
    unsigned, signed by another key, signed for another station or another family, or
    altered after signing: all dropped, each counted by why."""
    transport, inbox = _transport()
    unlock = dump(command(CommandKind.REMOTE_UNLOCK).command)
    commands = topics.station_topic(STATION, Family.COMMANDS)
    signed = _from_server(commands, unlock)
    forger = SigningKey.generate()

    _deliver(transport, Inbound(commands, unlock, retain=False))
    _deliver(transport, _from_server(commands, unlock, key=forger))
    other_station = sign([CONTROL], Family.COMMANDS, "station-02", unlock)
    _deliver(transport, Inbound(commands, unlock, retain=False, user_properties=other_station))
    as_config = sign([CONTROL], Family.CONFIG, STATION, unlock)
    _deliver(transport, Inbound(commands, unlock, retain=False, user_properties=as_config))
    altered = unlock.replace(b"remote_unlock", b"lockdown")
    _deliver(
        transport, Inbound(commands, altered, retain=False, user_properties=signed.user_properties)
    )
    _deliver(transport, Inbound(commands, unlock, retain=False, user_properties=(("ws-sig", "x"),)))

    assert _queued(inbox) == []
    assert transport.dropped == {
        "unsigned": 1,
        "unknown_key": 1,
        "bad_signature": 3,
        "malformed_signature": 1,
    }
    _deliver(transport, signed)
    assert len(_queued(inbox)) == 1


def test_once_the_pins_moved_only_new_keys_count() -> None:
    transport, inbox = _transport()
    successor = SigningKey.generate()
    pinned = transport._pinned
    pinned.replace({successor.kid: successor.public_key_text})
    topic = topics.station_topic(STATION, Family.CONFIG)

    _deliver(transport, _from_server(topic, dump(config())))  # the old key no longer counts
    assert _queued(inbox) == [ConfigDropped("config", "unknown_key")]
    _deliver(transport, _from_server(topic, dump(config()), key=successor))
    assert _queued(inbox) == [ConfigArrived(config())]


def _trust(page: TrustTopic, payload: bytes, *, key: SigningKey = CONTROL) -> Inbound:
    topic = topics.TRUST_KEYS if page.bucket is None else topics.denylist_topic(page.bucket)
    return Inbound(topic, payload, retain=True, user_properties=sign_trust([key], page, payload))


def test_trust_pages_signed_for_their_page_reach_the_loop() -> None:
    transport, inbox = _transport()
    keys = keys_page()
    [*_, last] = denylist_pages(denylist={"r-9": 2})
    _deliver(transport, _trust(TrustTopic(None), dump(keys)))
    _deliver(transport, _trust(TrustTopic(last.bucket), dump(last)))
    assert _queued(inbox) == [TrustArrived(keys), TrustArrived(last)]


def test_forged_or_misplaced_trust_pages_are_dropped_and_reported() -> None:
    """A page not signed by a pinned key, signed for another page, about another bucket
    than its topic, or not valid: dropped, and the loop told (it says so in its heartbeat)."""
    transport, inbox = _transport()
    pages = denylist_pages(denylist={"r-9": 2})
    page3, page4 = dump(pages[3]), dump(pages[4])
    on_3 = topics.denylist_topic(3)
    forger = SigningKey.generate()

    _deliver(transport, Inbound(on_3, page3, retain=True))
    _deliver(transport, _trust(TrustTopic(3), page3, key=forger))
    as_4 = sign_trust([CONTROL], TrustTopic(4), page3)
    _deliver(transport, Inbound(on_3, page3, retain=True, user_properties=as_4))
    _deliver(
        transport,
        Inbound(
            on_3, page4, retain=True, user_properties=sign_trust([CONTROL], TrustTopic(3), page4)
        ),
    )
    _deliver(transport, _trust(TrustTopic(3), b"{not json"))
    as_station = sign([CONTROL], Family.CONFIG, STATION, page3)  # a station message's signature
    _deliver(transport, Inbound(on_3, page3, retain=True, user_properties=as_station))

    assert _queued(inbox) == [
        ConfigDropped("denylist/03", why)
        for why in (
            "unsigned",
            "unknown_key",
            "bad_signature",
            "wrong_bucket",
            "invalid",
            "bad_signature",
        )
    ]
