"""Device codes at the station (protocol/device_cert.py): checked with the rider-token keys the
station already holds, then the same rules as a server code: the denylist, the replay cache,
the presentation's lifetime, and an offline decision recorded as the station's own."""

from __future__ import annotations

from dataclasses import replace

from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from firmware_sim.display import Shown
from protocol.credential import Claims, Rejected, raw_public_key
from protocol.device_cert import DeviceCert, new_nonce, present, sign_cert
from protocol.payloads import DecidedBy, EventKind
from protocol.reasons import Reason
from station_agent.core.scan import StationView, check_scan
from tests.unit.station_agent.rig import AUDIENCE, KEY, KID, NOW, Rig, configure

PHONE = ec.generate_private_key(ec.SECP256R1())
CERT = DeviceCert(
    kid=KID,
    rider_id="r-1",
    audience=AUDIENCE,
    not_before=NOW - 600,
    not_after=NOW + 12 * 3600,
    presentation_lifetime_s=60,
    credential_version=1,
    device_key=PHONE.public_key().public_bytes(Encoding.X962, PublicFormat.CompressedPoint),
)


def device_code(cert: DeviceCert = CERT, *, at: float = NOW, nonce: bytes | None = None) -> str:
    """What the rider page shows without signal: the certificate and a fresh presentation."""
    return present(sign_cert(cert, KEY), PHONE, now=at, nonce=nonce or new_nonce())


def test_with_the_link_down_a_device_code_is_admitted_as_the_stations_own_decision() -> None:
    rig = Rig.build(connected=False)
    nonce = new_nonce()
    rig.scan(device_code(nonce=nonce))

    assert rig.transport.requests == []
    assert rig.lock.unlock_count == 1
    assert rig.shown == [Shown(allowed=True, reason=Reason.GRANTED)]
    [granted] = rig.events(EventKind.ACCESS_GRANTED)
    assert (granted.rider_id, granted.decided_by) == ("r-1", DecidedBy.STATION)
    assert granted.nonce == nonce.hex()  # so the server uses it up everywhere when told


def test_a_device_code_opens_once_and_a_fresh_presentation_again() -> None:
    rig = Rig.build(connected=False)
    text = device_code()
    rig.scan(text)
    rig.turn(rig.settings.scan_cooldown_s + rig.settings.unlock_s + 0.1)  # relocked, cooled

    rig.scan(text)  # the same QR again: a screenshot, say
    assert rig.lock.unlock_count == 1
    assert rig.shown[-1] == Shown(allowed=False, reason=Reason.REPLAYED)

    rig.scan(device_code(at=rig.clock()))  # the phone signs a new one
    assert rig.lock.unlock_count == 2


def test_a_revoked_riders_device_code_is_refused_once_the_denylist_page_arrives() -> None:
    rig = Rig.build(connected=False)
    rig.send(*configure(2, denylist={"r-1": 2}))  # revoked: version 1 no longer valid

    rig.scan(device_code())

    assert rig.lock.unlock_count == 0
    assert rig.shown == [Shown(allowed=False, reason=Reason.REVOKED)]
    [denied] = rig.events(EventKind.ACCESS_DENIED)
    assert (denied.reason, denied.decided_by) == (Reason.REVOKED, DecidedBy.STATION)


def test_an_expired_certificate_is_refused_with_its_own_reason() -> None:
    rig = Rig.build(connected=False)
    rig.scan(device_code(replace(CERT, not_before=NOW - 13 * 3600, not_after=NOW - 3600)))
    assert rig.lock.unlock_count == 0
    assert rig.shown == [Shown(allowed=False, reason=Reason.DEVICE_CERT_EXPIRED)]


def test_online_the_station_asks_the_server_about_a_device_code() -> None:
    rig = Rig.build()
    text = device_code()
    rig.scan(text)
    [request] = rig.transport.requests
    assert request.token == text
    assert rig.lock.unlock_count == 0  # the server decides


def test_check_scan_knows_device_codes_and_their_denylist() -> None:
    keys = {KID: raw_public_key(KEY)}
    view = StationView("station-01", AUDIENCE, keys, config_version=1)
    claims = check_scan(device_code(), view, NOW)
    assert isinstance(claims, Claims)
    assert (claims.rider_id, claims.credential_version) == ("r-1", 1)
    revoked = replace(view, denylist={"r-1": 2})
    assert check_scan(device_code(), revoked, NOW) == Rejected(Reason.REVOKED)
    assert check_scan(device_code(), None, NOW) == Rejected(Reason.NOT_CONFIGURED)
