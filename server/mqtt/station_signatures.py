"""Whether a station's registered key signed a message (``protocol.signing``), trying the key
once more from the database when it fails: the station may have been provisioned anew."""

from __future__ import annotations

from mqttlink import Inbound
from protocol.signing import SignatureCheck, key_id, verify
from protocol.topics import Family
from server.stations.identity import StationKeys


def unsigned_by_station(
    keys: StationKeys, family: Family, station_id: str, message: Inbound
) -> str | None:
    """None when the station's registered key signed ``message``, else why not."""
    key = keys.get(station_id)
    if key is None:
        return "unknown_station"
    check = _verify(family, station_id, key, message)
    if check is SignatureCheck.BAD_SIGNATURE or check is SignatureCheck.UNKNOWN_KEY:
        fresh = keys.get(station_id, fresh=True)  # provisioned anew?
        if fresh is not None and fresh != key:
            check = _verify(family, station_id, fresh, message)
    return None if check is SignatureCheck.OK else check.value


def _verify(family: Family, station_id: str, key: bytes, message: Inbound) -> SignatureCheck:
    return verify(
        message.user_properties,
        keys={key_id(key): key},
        family=family,
        station_id=station_id,
        payload=message.payload,
    )
