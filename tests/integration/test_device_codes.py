"""Device codes end to end (protocol/device_cert.py): the server certifies a rider's phone key
through their link, and refuses every bad request without storing anything; a device code
rendered to pixels opens a simulated station's door with the server's decision and, with the
broker down, with the station's own; revoking the rider, or renewing their link, ends it once
the station has the new denylist page."""

from __future__ import annotations

import base64
import random
import time
from collections.abc import Callable
from datetime import UTC, datetime

import pytest
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from sqlmodel import Session, func, select

from demo.broker import PrivateBroker
from firmware_sim.rider import enter
from protocol.codes import verify_code
from protocol.credential import Claims, raw_public_key
from protocol.device_cert import decode_cert
from protocol.reasons import Reason
from server.riders.models import DeviceCertRecord
from tests.support.device_phone import DevicePhone
from tests.support.qr import qr_png
from tests.support.stack import SHOW_WAIT_S, ServerHarness, StationHarness, unique_station_id
from tests.support.waiting import wait_for

MakeStation = Callable[..., StationHarness]


def _certs(server: ServerHarness) -> int:
    with Session(server.services.engine) as session:
        return session.exec(select(func.count()).select_from(DeviceCertRecord)).one()


def _no_pause(_: float) -> None:
    return None


def _show(station: StationHarness, text: str) -> tuple[bool, Reason]:
    shown = enter(station.sim, qr_png(text), random.Random(0), _no_pause, wait_s=SHOW_WAIT_S)
    assert shown is not None, "the station showed nothing"
    return shown.allowed, shown.reason


@pytest.mark.parametrize("server", ["sqlite", "postgres"], indirect=True)
def test_an_active_rider_gets_a_certificate_for_their_phones_key(server: ServerHarness) -> None:
    rider_id, link = server.enrol()
    phone = DevicePhone()

    reply = phone.certify(server.client, link)

    assert reply.status_code == 200, reply.text
    assert reply.headers["cache-control"] == "no-store"
    body = reply.json()
    cert = decode_cert(phone.signed_cert[:-64])
    compressed = phone.key.public_key().public_bytes(Encoding.X962, PublicFormat.CompressedPoint)
    assert (cert.rider_id, cert.audience, cert.credential_version) == (rider_id, "ws-test", 1)
    assert cert.device_key == compressed
    assert cert.not_after - cert.not_before == 12 * 3600  # the default lifetime
    assert cert.presentation_lifetime_s == 60  # a code's lifetime
    assert body["kid"] == cert.kid
    assert datetime.fromisoformat(body["not_after"]).timestamp() == cert.not_after
    signer = server.services.keys.ring.signer(datetime.now(UTC))
    assert cert.kid == signer.kid
    keys = {signer.kid: raw_public_key(signer.private_key)}
    claims = verify_code(phone.code(), keys=keys, audience="ws-test", now=time.time())
    assert isinstance(claims, Claims)
    assert claims.rider_id == rider_id
    assert _certs(server) == 1


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"public_key": "not base64url at all, not at all!!!!!!!!!!!"}, "not base64url"),
        ({"public_key": base64.urlsafe_b64encode(b"\x04" * 66).decode()}, "65-byte or 33-byte"),
        (
            {"public_key": base64.urlsafe_b64encode(b"\x04" + b"\x01" * 64).decode()},
            "not a point on the P-256 curve",
        ),
        ({"public_key": "short"}, "public_key"),
        ({}, "public_key"),
    ],
    ids=["not base64url", "wrong length", "off the curve", "too short", "missing"],
)
def test_a_bad_public_key_is_refused_and_stores_nothing(
    server: ServerHarness, body: dict[str, str], message: str
) -> None:
    _, link = server.enrol()
    reply = server.client.post(f"{link}/device-cert", json=body)
    assert reply.status_code == 422
    assert message in reply.text
    assert _certs(server) == 0


def test_unknown_and_disabled_links_get_no_certificate(server: ServerHarness) -> None:
    phone = DevicePhone()
    reply = phone.certify(server.client, "/r/not-a-real-link")
    assert (reply.status_code, reply.json()["detail"]) == (404, "this rider link is not valid")

    rider_id, link = server.enrol()
    server.client.post(f"/api/riders/{rider_id}/revoke").raise_for_status()
    reply = phone.certify(server.client, link)
    assert (reply.status_code, reply.json()["detail"]) == (410, "this rider pass has been disabled")
    assert _certs(server) == 0


@pytest.mark.parametrize("server", ["sqlite", "postgres"], indirect=True)
def test_issuing_is_rate_limited_per_rider(server: ServerHarness) -> None:
    _, link = server.enrol()
    per_hour = server.services.settings.device_certs_per_hour
    for _ in range(per_hour):
        assert DevicePhone().certify(server.client, link).status_code == 200

    refused = DevicePhone().certify(server.client, link)

    assert refused.status_code == 429
    assert "too many device certificates" in refused.json()["detail"]
    assert 3500 < int(refused.headers["retry-after"]) <= 3600
    assert _certs(server) == per_hour
    _, other = server.enrol()  # another rider is not held back
    assert DevicePhone().certify(server.client, other).status_code == 200


def test_a_device_code_opens_the_door_online_and_offline_until_the_rider_is_revoked(
    server: ServerHarness, broker: PrivateBroker, make_station: MakeStation
) -> None:
    station_id = unique_station_id()
    server.add_station(station_id)
    station = make_station(station_id, decision_timeout_s=1.0)
    rider_id, link = server.enrol()
    phone = DevicePhone()
    assert phone.certify(server.client, link).status_code == 200

    assert _show(station, phone.code()) == (True, Reason.GRANTED)  # the server decides

    broker.stop()  # no network at the door
    wait_for(lambda: not station.transport.is_connected(), what="the station to notice")
    offline_code = phone.code()
    assert _show(station, offline_code) == (True, Reason.GRANTED)  # the station decides

    broker.start()
    wait_for(
        lambda: station.transport.is_connected() and station.agent.outbox_depth == 0,
        timeout_s=30,
        what="the outbox to drain after the broker returns",
    )
    grants = [e.decided_by for e in server.events(station_id) if e.kind == "access_granted"]
    assert grants == ["server", "station"]  # recorded as decided offline
    # The offline entry used its nonce up at the server too: the same picture fails online.
    assert _show(station, offline_code) == (False, Reason.REPLAYED)

    server.client.post(f"/api/riders/{rider_id}/revoke").raise_for_status()
    assert _show(station, phone.code()) == (False, Reason.REVOKED)  # the server refuses at once
    wait_for(
        lambda: (view := station.agent.state.view) is not None and rider_id in view.denylist,
        what="the station to receive the rider's denylist page",
    )
    broker.stop()
    wait_for(lambda: not station.transport.is_connected(), what="the station to notice")
    assert _show(station, phone.code()) == (False, Reason.REVOKED)  # and the station alone
    assert station.sim.lock.unlock_count == 2


def test_renewing_a_link_ends_the_certificates_it_gave(
    server: ServerHarness, make_station: MakeStation
) -> None:
    station_id = unique_station_id()
    server.add_station(station_id)
    station = make_station(station_id)
    rider_id, link = server.enrol()
    lost = DevicePhone()  # the phone that was lost
    assert lost.certify(server.client, link).status_code == 200

    renewed = server.client.post(f"/api/riders/{rider_id}/link").raise_for_status().json()["link"]

    assert _show(station, lost.code()) == (False, Reason.REVOKED)
    wait_for(
        lambda: (view := station.agent.state.view) is not None and rider_id in view.denylist,
        what="the station to receive the rider's denylist page",
    )
    assert lost.certify(server.client, link).status_code == 404
    found = DevicePhone()
    assert found.certify(server.client, renewed).status_code == 200
    assert _show(station, found.code()) == (True, Reason.GRANTED)
