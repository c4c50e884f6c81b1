"""Trust data at national size, on real parts: a revocation publishes one denylist page for
every station (never one message per station), a forged page is ignored and reported up to
the dashboard, and every server worker knows a key before any worker signs with it."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine, insert

from protocol import topics
from protocol.payloads import DenylistPage, TrustKeys, dump, parse
from protocol.signing import SignatureCheck, verify_trust
from protocol.topics import TrustTopic
from protocol.trust import bucket_of
from server.core.db import session_scope
from server.core.settings import ServerSettings
from server.keys import ring
from server.keys.ring import KeyHolder
from server.mqtt.publisher import Publisher
from server.stations.models import Station
from tests.support.mqtt_peer import mqtt_peer
from tests.support.stack import ServerHarness, StationHarness, unique_station_id
from tests.support.waiting import wait_for

MakeStation = Callable[..., StationHarness]
QUIET_S = 1.0


def _add_station_rows(engine: Engine, count: int) -> None:
    """Stations in the database in one statement (no broker accounts: none connects)."""
    now = datetime.now(UTC)
    rows = [
        {"id": f"bulk-{i:06d}", "name": f"bulk {i}", "capacity": 10, "online_changed_at": now}
        for i in range(count)
    ]
    with session_scope(engine) as session:
        session.execute(insert(Station), rows)
        session.commit()


# Counting everything the server sends needs a reader of every topic: an open broker (the
# secure broker's rules for trust pages are in test_broker_acl.py).
OPEN_BROKER = pytest.mark.parametrize("broker", ["open"], indirect=True)


@OPEN_BROKER
@pytest.mark.parametrize("server", ["sqlite", "postgres"], indirect=True)
def test_a_revocation_publishes_one_signed_page_whatever_the_number_of_stations(
    server: ServerHarness,
) -> None:
    _add_station_rows(server.services.engine, 2_000)
    rider_id, _ = server.enrol()
    control = {key.kid: key.public_key for key in server.services.keys.control.signers}
    with mqtt_peer(server.peer_settings(), ["ws/v1/#"]) as peer:
        peer.drain(QUIET_S)  # what is retained already
        server.client.post(f"/api/riders/{rider_id}/revoke").raise_for_status()
        [message] = peer.drain(QUIET_S)

    bucket = bucket_of(rider_id)
    assert message.topic == topics.denylist_topic(bucket)
    check = verify_trust(
        message.user_properties, keys=control, page=TrustTopic(bucket), payload=message.payload
    )
    assert check is SignatureCheck.OK
    page = parse(DenylistPage, message.payload)
    assert (page.bucket, page.denylist) == (bucket, {rider_id: 2})
    with mqtt_peer(server.peer_settings(), [message.topic]) as late:  # a station that comes later
        kept = late.next()
    assert (kept.retain, kept.payload) == (True, message.payload)


@OPEN_BROKER
def test_the_periodic_refresh_is_every_trust_page_and_no_station_config(
    server: ServerHarness,
) -> None:
    _add_station_rows(server.services.engine, 500)
    with mqtt_peer(server.peer_settings(), ["ws/v1/#"]) as peer:
        peer.drain(QUIET_S)
        server.services.publisher.publish_trust()
        got = peer.drain(QUIET_S)
    assert sorted(m.topic for m in got) == sorted(
        [topics.TRUST_KEYS, *(topics.denylist_topic(b) for b in range(topics.DENYLIST_BUCKETS))]
    )


def test_a_forged_trust_page_is_ignored_and_reported_up_to_the_dashboard(
    server: ServerHarness, make_station: MakeStation
) -> None:
    """With the server's broker password stolen: an unsigned denylist page that would lock a
    rider out, and a keys page signed by another key. The station keeps what it had, says so
    in its heartbeat, the server stores it, and staff see it; the next genuine page clears it."""
    station_id = unique_station_id()
    server.add_station(station_id)
    station = make_station(station_id, heartbeat_s=0.3)
    rider_id, _ = server.enrol()
    bucket = bucket_of(rider_id)
    forged = DenylistPage(
        bucket=bucket, version=10**6, issued_at=datetime.now(UTC), denylist={rider_id: 99}
    )
    with mqtt_peer(server.peer_settings()) as thief:
        thief.publish(topics.denylist_topic(bucket), dump(forged), retain=True)

    wait_for(
        lambda: server.station(station_id).config_error,
        what="the dropped page in the station's row",
    )
    assert server.station(station_id).config_error == f"denylist/{bucket:02x}: unsigned"
    assert rider_id not in station.agent.state.denylist
    overview = server.client.get("/", params={"lang": "en"}).text
    assert "config-error" in overview
    assert "dropped a config" in overview
    assert "config-error" in server.client.get(f"/stations/{station_id}").text

    server.services.publisher.publish_trust()  # genuine pages again (the periodic refresh)
    wait_for(lambda: server.station(station_id).config_error is None, what="the error cleared")
    assert rider_id not in station.agent.state.denylist


# -- several server workers, one database ---------------------------------------------------
class FakeLink:
    """Records what a publisher sends; the broker is not what is tested here."""

    reconnects = 0

    def __init__(self) -> None:
        self.sent: list[tuple[str, bytes]] = []

    def publish(self, topic: str, payload: bytes, **_: object) -> None:
        self.sent.append((topic, payload))


class Clock:
    def __init__(self) -> None:
        self.now = 1_000.0

    def __call__(self) -> float:
        return self.now


def test_a_rotation_on_one_worker_reaches_every_worker_before_the_new_key_signs(
    engine: Engine, tmp_path: Path
) -> None:
    settings = ServerSettings(data_dir=tmp_path, audience="ws-test")
    clocks = Clock(), Clock()
    workers = [KeyHolder(engine, check_s=settings.key_check_s, clock=c) for c in clocks]
    for holder in workers:
        holder.reload()
    first, second = workers
    link = FakeLink()
    second_publisher = Publisher(link, engine, second, settings)  # type: ignore[arg-type]

    now = datetime.now(UTC)
    propagation = timedelta(seconds=settings.key_propagation_s)
    with session_scope(engine) as session:
        new = ring.rotate(session, now=now, propagation=propagation, by="test")
    first.reload()
    assert new.kid in first.ring.published(now)
    assert second.ring.published(now).keys() != first.ring.published(now).keys()  # not yet

    # The other worker's keys page never lacks the key: it checks the ring's version first.
    second_publisher.publish_keys()
    [(topic, payload)] = link.sent
    assert topic == topics.TRUST_KEYS
    assert new.kid in parse(TrustKeys, payload).keys

    # And every worker re-reads the ring within key_check_s, long before the key signs.
    third = KeyHolder(engine, check_s=settings.key_check_s, clock=clocks[1])
    third.reload()
    with session_scope(engine) as session:
        newer = ring.rotate(session, now=now, propagation=propagation, by="test")
    assert newer.kid not in third.ring.published(now)
    clocks[1].now += settings.key_check_s
    assert newer.kid in third.ring.published(now)
    assert 2 * settings.key_check_s <= settings.key_propagation_s
    assert third.ring.signer(now).kid not in (new.kid, newer.kid)  # still the old one signs


def test_a_propagation_shorter_than_two_key_checks_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="key_propagation_s"):
        ServerSettings(data_dir=tmp_path, key_propagation_s=5, key_check_s=5)
    assert json.dumps({"ok": True})  # settings above are otherwise valid
