"""Issue 10, the broker's side, against a real Mosquitto: only known accounts, over TLS, each
confined by its ACL (station A, station B, server, monitor × every topic family × publish and
subscribe), no session takeover, accounts added and removed by a reload.

Mosquitto 2.0's ACL file does not judge SUBSCRIBE: every filter is granted and each message
is checked against "read" when it would be delivered. So a refused subscription shows as
nothing delivered, and an unauthorised QoS 1 publish as PUBACK 0x87 with nothing delivered
(an allowed one is 0x00, or 0x10 when nobody subscribes).
"""

from __future__ import annotations

import socket
import ssl
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from demo.broker import PrivateBroker
from protocol.topics import (
    DENYLIST_BUCKETS,
    TRUST_KEYS,
    Family,
    all_stations,
    all_trust_topics,
    denylist_topic,
    shared,
    station_topic,
)
from server.broker.accounts import BrokerAccount, Role, new_password, new_share_group
from server.broker.tls import ensure_broker_tls
from tests.support.raw_client import RawClient
from tests.support.waiting import stays, wait_for

QUIET_S = 0.3  # "nothing (more) arrives": every allowed message has arrived by then
NOT_AUTHORIZED = 0x87

RUN = uuid.uuid4().hex[:6]
A, B = f"acl-a-{RUN}", f"acl-b-{RUN}"
SERVER, MONITOR = "ws-server", "ws-monitor"
PASSWORDS = {name: new_password() for name in (A, B, SERVER, MONITOR)}
ROLES = {A: Role.STATION, B: Role.STATION, SERVER: Role.SERVER, MONITOR: Role.MONITOR}
SHARE_GROUP = new_share_group()
KINDS = {A: "station_a", B: "station_b", SERVER: "server", MONITOR: "monitor"}

F = Family
STATION_WRITES = {F.ACCESS_REQUEST, F.EVENTS, F.STATE, F.HEARTBEAT}
SERVER_WRITES = {F.ACCESS_DECISION, F.CONFIG, F.COMMANDS, F.EVENTS_ACK}
EVERY = {(station, family) for station in (A, B) for family in Family}

# The table of issue 10, written out here independently of server.broker.accounts.
MAY_READ = {
    A: {(A, f) for f in SERVER_WRITES},
    B: {(B, f) for f in SERVER_WRITES},
    SERVER: {(s, f) for s in (A, B) for f in STATION_WRITES},
    MONITOR: {(s, f) for s, f in EVERY if f is not F.ACCESS_REQUEST},
}
MAY_WRITE = {
    A: {(A, f) for f in STATION_WRITES},
    B: {(B, f) for f in STATION_WRITES},
    SERVER: {(s, f) for s in (A, B) for f in SERVER_WRITES},
    MONITOR: set(),
}


def make_accounts(*extra: BrokerAccount) -> list[BrokerAccount]:
    # mosquitto_passwd's 101 iterations: cheap for random passwords, and the broker
    # re-hashes every connected client's password on each reload.
    made = [
        BrokerAccount.with_password(name, PASSWORDS[name], ROLES[name], iterations=101)
        for name in PASSWORDS
    ]
    return [*made, *extra]


@pytest.fixture(scope="module")
def broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PrivateBroker]:
    workdir = tmp_path_factory.mktemp("secure-broker")
    with PrivateBroker(accounts=make_accounts(), workdir=workdir) as running:
        yield running


@dataclass
class Clients:
    broker: PrivateBroker
    opened: list[RawClient] = field(default_factory=list)

    def raw(self, name: str | None, **options: object) -> RawClient:
        """A client of account ``name`` on that account's listener, not yet connected."""
        internal = ROLES.get(name or "") in (Role.SERVER, Role.MONITOR)
        settings: dict[str, object] = {
            "port": self.broker.internal_port if internal else self.broker.port,
            "username": name,
            "password": PASSWORDS.get(name or ""),
            "ca_file": str(self.broker.ca_file),
            **options,
        }
        client = RawClient(**settings)
        self.opened.append(client)
        return client

    def connect(self, name: str, *filters: str, **options: object) -> RawClient:
        client = self.raw(name, **options)
        assert client.connect() == 0, f"{name} could not connect"
        if filters:
            # Granted, whatever the filter: Mosquitto 2.0 judges each delivery instead.
            assert [code.value for code in client.subscribe(*filters)] == [1] * len(filters)
        return client


@pytest.fixture
def clients(broker: PrivateBroker) -> Iterator[Clients]:
    made = Clients(broker)
    yield made
    for client in made.opened:
        client.close()


def _tag(who: str, station: str, family: Family) -> bytes:
    return f"{who}|{station_topic(station, family)}".encode()


def _publish_all(clients: Clients, tag: str, connected: dict[str, RawClient]) -> None:
    """Every family of both stations, each written by the one account allowed to write it.

    A station's second connection would replace its first (same client id), so a station
    that is already connected (as the reader) writes through that connection."""
    writers = {name: connected.get(name) or clients.connect(name) for name in (A, B, SERVER)}
    for station, family in sorted(EVERY):
        writer = writers[station] if family in STATION_WRITES else writers[SERVER]
        code = writer.publish(station_topic(station, family), _tag(tag, station, family))
        assert not code.is_failure, code


def _nothing_more(client: RawClient, expected: set[str]) -> set[str]:
    """What beyond ``expected`` has arrived, waiting the quiet period for latecomers."""

    def extra() -> set[str]:
        return client.topics_received() - expected

    stays(extra, for_s=QUIET_S)
    return extra()


# -- reading ------------------------------------------------------------------------------
READERS = {
    A: ["#", all_stations(F.ACCESS_REQUEST), *(station_topic(B, f) for f in Family)],
    B: ["#", all_stations(F.ACCESS_REQUEST), *(station_topic(A, f) for f in Family)],
    # As the server's consumer subscribes: shared groups, station state directly.
    SERVER: [
        shared(SHARE_GROUP, all_stations(F.ACCESS_REQUEST)),
        shared(SHARE_GROUP, all_stations(F.EVENTS)),
        shared(SHARE_GROUP, all_stations(F.HEARTBEAT)),
        all_stations(F.STATE),
    ],
    MONITOR: ["#", all_stations(F.ACCESS_REQUEST)],
}


@pytest.mark.parametrize("reader", list(READERS), ids=KINDS.get)
def test_each_account_reads_exactly_its_families(clients: Clients, reader: str) -> None:
    client = clients.connect(reader, *READERS[reader])
    _publish_all(clients, "read", {reader: client})
    expected = {station_topic(s, f) for s, f in MAY_READ[reader]}
    wait_for(lambda: client.topics_received() >= expected, what=f"{reader}'s messages")
    assert _nothing_more(client, expected) == set()


def test_the_server_subscribing_everything_still_reads_only_its_families(
    clients: Clients,
) -> None:
    client = clients.connect(SERVER, "#")
    _publish_all(clients, "server-wildcard", {})
    expected = {station_topic(s, f) for s, f in MAY_READ[SERVER]}
    wait_for(lambda: client.topics_received() >= expected, what="the server's messages")
    assert _nothing_more(client, expected) == set()


def test_retained_config_reaches_only_its_own_station(clients: Clients) -> None:
    server = clients.connect(SERVER)
    topic = station_topic(A, F.CONFIG)
    assert not server.publish(topic, b"config of A", retain=True).is_failure
    try:
        a = clients.connect(A, topic)
        monitor = clients.connect(MONITOR, all_stations(F.CONFIG))
        b = clients.connect(B, all_stations(F.CONFIG), "#")
        for reader in (a, monitor):
            wait_for(lambda r=reader: r.topics_received() == {topic}, what="retained config")
            assert reader.received[0].retain
        assert stays(b.topics_received, for_s=QUIET_S)
    finally:
        server.publish(topic, b"", retain=True)


# -- writing ------------------------------------------------------------------------------
@pytest.mark.parametrize("writer", [A, B, SERVER, MONITOR], ids=KINDS.get)
def test_each_account_writes_exactly_its_families(clients: Clients, writer: str) -> None:
    # Between them the monitor (all but requests) and the server (requests) read everything.
    observers = [clients.connect(MONITOR, "#"), clients.connect(SERVER, "#")]
    client = clients.connect(writer)
    codes = {
        (s, f): client.publish(station_topic(s, f), _tag(writer, s, f)).value
        for s, f in sorted(EVERY)
    }
    allowed = MAY_WRITE[writer]
    # Allowed: 0x00, or 0x10 "no matching subscribers"; refused: 0x87 "not authorized".
    assert {key for key, code in codes.items() if code < 0x80} == allowed
    assert {codes[key] for key in EVERY - allowed} <= {NOT_AUTHORIZED}

    def seen() -> set[bytes]:
        return {p for o in observers for p in o.payloads_received()}

    expected = {_tag(writer, s, f) for s, f in allowed}
    mine = {_tag(writer, s, f) for s, f in EVERY}
    wait_for(lambda: seen() & mine >= expected, what=f"{writer}'s allowed messages")
    assert stays(lambda: (seen() & mine) - expected, for_s=QUIET_S)


# -- trust pages (one set for every station) ---------------------------------------------
TRUST_PAGES = [TRUST_KEYS, denylist_topic(0), denylist_topic(DENYLIST_BUCKETS - 1)]
MAY_READ_TRUST = {A, B, MONITOR}
MAY_WRITE_TRUST = {SERVER}


@pytest.mark.parametrize("writer", [A, B, SERVER, MONITOR], ids=KINDS.get)
def test_only_the_server_writes_trust_pages_and_every_station_reads_them(
    clients: Clients, writer: str
) -> None:
    readers = {name: clients.connect(name, all_trust_topics()) for name in (A, B, MONITOR, SERVER)}
    client = readers[writer]
    codes = {
        topic: client.publish(topic, f"{writer}|{topic}".encode()).value for topic in TRUST_PAGES
    }
    allowed = writer in MAY_WRITE_TRUST
    assert all((code < 0x80) == allowed for code in codes.values()), codes
    assert allowed or set(codes.values()) == {NOT_AUTHORIZED}
    expected = set(TRUST_PAGES) if allowed else set()
    for name, reader in readers.items():
        wanted = expected if name in MAY_READ_TRUST else set()
        wait_for(lambda r=reader, w=wanted: r.topics_received() >= w, what=f"{name}'s pages")
        assert _nothing_more(reader, wanted) == set()


# -- shared subscriptions -----------------------------------------------------------------
def test_server_workers_split_a_secret_share_group_that_others_cannot_join(
    clients: Clients,
) -> None:
    """Two workers (one username, own client ids) share the requests; a station and the
    monitor joining groups they might guess take nothing away from them."""
    request_filter = all_stations(F.ACCESS_REQUEST)
    workers = [clients.connect(SERVER, shared(SHARE_GROUP, request_filter)) for _ in range(2)]
    for intruder in (A, MONITOR):
        clients.connect(intruder, shared("ws-server", request_filter), shared("g", request_filter))
    b = clients.connect(B)
    sent = {f"request {i}".encode() for i in range(8)}
    for payload in sorted(sent):
        assert b.publish(station_topic(B, F.ACCESS_REQUEST), payload) == 0

    def got() -> set[bytes]:
        return set().union(*(w.payloads_received() for w in workers))

    wait_for(lambda: got() == sent, what="every request at one worker or the other")
    assert all(w.payloads_received() for w in workers), "the group did not split the load"
    assert all(w.is_connected for w in workers)


def test_a_member_that_may_not_read_swallows_its_turn_in_mosquitto_2_0(clients: Clients) -> None:
    """Why the group name must be secret: Mosquitto 2.0 picks group members in turn and drops
    the message when the chosen one may not read it. (If this fails after a broker upgrade,
    the broker now skips such members: good news, worth a note in docs/architecture.md.)"""
    group = f"guessable-{RUN}"
    server = clients.connect(SERVER, shared(group, all_stations(F.ACCESS_REQUEST)))
    clients.connect(A, shared(group, all_stations(F.ACCESS_REQUEST)))
    b = clients.connect(B)
    for i in range(8):
        assert b.publish(station_topic(B, F.ACCESS_REQUEST), f"r{i}".encode()) == 0
    wait_for(lambda: len(server.received) >= 1, what="the server's share")
    stays(lambda: len(server.received) >= 8, for_s=QUIET_S)
    assert 0 < len(server.received) < 8


# -- who may connect ----------------------------------------------------------------------
def test_a_station_cannot_take_over_another_stations_session(clients: Clients) -> None:
    b = clients.connect(B, station_topic(B, F.COMMANDS))
    log = clients.broker.log_path
    before = log.read_text().count(f" as {A} (")
    intruder = clients.raw(A, client_id=B)
    assert intruder.connect() == 0
    # The broker replaced the id it asked for (and does not say so in CONNACK).
    assert log.read_text().count(f" as {A} (") == before + 1
    assert stays(b.disconnected.is_set, for_s=QUIET_S)
    assert clients.connect(SERVER).publish(station_topic(B, F.COMMANDS), b"still there") == 0
    wait_for(lambda: b.payloads_received() == {b"still there"}, what="B still served")


def test_client_ids_are_one_space_across_listeners(clients: Clients) -> None:
    """The residual risk of the internal listener (docs/architecture.md): an internal account
    that uses a station's client id displaces that station. Only trusted programs get one."""
    a = clients.connect(A)
    assert clients.connect(MONITOR, client_id=A).is_connected
    wait_for(a.disconnected.is_set, what="station A displaced")


@pytest.mark.parametrize("internal", [False, True], ids=["station_listener", "internal"])
@pytest.mark.parametrize("case", ["anonymous", "wrong_password", "other_listener"])
def test_unknown_or_misplaced_logins_are_refused(
    clients: Clients, broker: PrivateBroker, case: str, internal: bool
) -> None:
    port = broker.internal_port if internal else broker.port
    name = {False: A, True: SERVER}[internal if case != "other_listener" else not internal]
    options: dict[str, object] = {"port": port}
    if case == "anonymous":
        options.update(username=None, password=None)
    elif case == "wrong_password":
        options.update(password=PASSWORDS[name] + "x")
    client = clients.raw(name, **options)
    code = client.connect()
    assert code is not None
    assert code.value == NOT_AUTHORIZED  # 2.0.11 says 0x87 for a wrong password too
    assert not client.is_connected


@pytest.mark.parametrize("internal", [False, True], ids=["station_listener", "internal"])
def test_plain_mqtt_gets_no_answer(clients: Clients, broker: PrivateBroker, internal: bool) -> None:
    port = broker.internal_port if internal else broker.port
    client = clients.raw(SERVER if internal else A, port=port, ca_file=None)
    assert client.connect() is None
    assert client.disconnected.is_set()


def _handshake(port: int, ca_file: Path, server_hostname: str) -> str | None:
    """The TLS version agreed, as a client that verifies the broker (as mqttlink does)."""
    context = ssl.create_default_context(cafile=str(ca_file))
    with (
        socket.create_connection(("127.0.0.1", port), timeout=5) as raw,
        context.wrap_socket(raw, server_hostname=server_hostname) as tls,
    ):
        return tls.version()


@pytest.mark.parametrize("internal", [False, True], ids=["station_listener", "internal"])
@pytest.mark.parametrize("name", ["localhost", "127.0.0.1"])
def test_the_broker_certificate_names_loopback(
    broker: PrivateBroker, name: str, internal: bool
) -> None:
    port = broker.internal_port if internal else broker.port
    assert _handshake(port, broker.ca_file, name) in ("TLSv1.2", "TLSv1.3")


def test_a_certificate_for_another_name_is_not_trusted(broker: PrivateBroker) -> None:
    with pytest.raises(ssl.SSLCertVerificationError, match="mismatch"):
        _handshake(broker.port, broker.ca_file, "broker.invalid")


def test_a_broker_signed_by_another_ca_is_not_trusted(
    broker: PrivateBroker, tmp_path: Path
) -> None:
    other_ca = ensure_broker_tls(tmp_path).ca_cert
    with pytest.raises(ssl.SSLCertVerificationError, match="certificate verify failed"):
        _handshake(broker.port, other_ca, "127.0.0.1")


# -- changing accounts while running -------------------------------------------------------
def test_accounts_added_and_removed_by_reload_without_restart(tmp_path: Path) -> None:
    c_name, c_password = f"acl-c-{RUN}", new_password()
    c_account = BrokerAccount.with_password(c_name, c_password, Role.STATION, iterations=101)
    with PrivateBroker(accounts=make_accounts(), workdir=tmp_path) as broker:
        pid = broker.pid_file.read_text()
        clients = Clients(broker)
        try:
            assert clients.raw(c_name, password=c_password).connect() == NOT_AUTHORIZED
            broker.update_accounts(make_accounts(c_account))
            assert broker.pid_file.read_text() == pid  # the same process
            c = clients.raw(c_name, password=c_password)
            assert c.connect() == 0
            server = clients.connect(SERVER, all_stations(F.STATE))
            assert c.publish(station_topic(c_name, F.STATE), b"C online") == 0  # %u applies
            wait_for(lambda: server.payloads_received() == {b"C online"}, what="C's state")

            broker.update_accounts(make_accounts())
            wait_for(c.disconnected.is_set, what="C disconnected once its account is gone")
            assert server.is_connected
        finally:
            for client in clients.opened:
                client.close()


def test_a_restarted_broker_keeps_its_ca(tmp_path: Path) -> None:
    with PrivateBroker(accounts=make_accounts(), workdir=tmp_path) as broker:
        ca = broker.ca_file.read_bytes()
        broker.stop()
        broker.start()
        assert broker.ca_file.read_bytes() == ca
        client = Clients(broker).raw(A)
        try:
            assert client.connect() == 0
        finally:
            client.close()
