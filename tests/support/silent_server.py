"""A server that configures a station and then never answers: for offline behaviour."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from protocol import topics
from protocol.credential import Claims, new_nonce, public_key_to_text, raw_public_key, sign_token
from protocol.topics import Family
from tests.support.mqtt_peer import mqtt_peer

AUDIENCE = "ws-test"


class SilentServer:
    def __init__(self) -> None:
        self.key = Ed25519PrivateKey.generate()

    def configure(
        self, broker_port: int, station_id: str, *, issued_at: float | None = None
    ) -> None:
        """Publish the station's retained config, as the real server would, once."""
        config = {
            "v": 1,
            "station_id": station_id,
            "config_version": 1,
            "issued_at": datetime.fromtimestamp(issued_at or time.time(), UTC).isoformat(),
            "audience": AUDIENCE,
            "keys": {"k1": public_key_to_text(raw_public_key(self.key))},
        }
        with mqtt_peer(broker_port) as peer:
            peer.publish(
                topics.station_topic(station_id, Family.CONFIG),
                json.dumps(config).encode(),
                retain=True,
            )

    def token(self, rider_id: str = "r-offline") -> str:
        now = int(time.time())
        return sign_token(Claims("k1", rider_id, AUDIENCE, now, 60, new_nonce(), 1), self.key)
