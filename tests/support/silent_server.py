"""A stand-in for the server that provisions and configures a station and then never answers:
for offline behaviour. It signs what it publishes with its own control key, which the
station pins from the bundle, exactly as with the real server."""

from __future__ import annotations

import time
import uuid
from datetime import UTC, datetime, timedelta

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from demo.broker import PrivateBroker
from protocol import topics
from protocol.credential import Claims, new_nonce, public_key_to_text, raw_public_key, sign_token
from protocol.payloads import ProvisioningBundle, StationConfig, TrustKeys, dump
from protocol.signing import SigningKey, sign, sign_trust
from protocol.topics import Family, TrustTopic
from protocol.trust import by_bucket, denylist_page
from tests.support.mqtt_peer import Peer, mqtt_peer

AUDIENCE = "ws-test"


class SilentServer:
    def __init__(self, broker: PrivateBroker, bundles: dict[str, ProvisioningBundle]) -> None:
        self.key = Ed25519PrivateKey.generate()  # signs riders' codes
        self.control = SigningKey.generate()  # signs what it tells stations
        self._broker = broker
        self._bundles = bundles

    def provision(self, station_id: str) -> ProvisioningBundle:
        now = datetime.now(UTC)
        bundle = ProvisioningBundle(
            bundle_id=uuid.uuid4().hex,
            station_id=station_id,
            issued_at=now,
            expires_at=now + timedelta(days=1),
            broker_host="127.0.0.1",
            broker_port=self._broker.port,
            broker_username=station_id,
            broker_password="not-checked-by-this-broker",
            control_keys={self.control.kid: self.control.public_key_text},
            station_key=SigningKey.generate().to_text(),
        )
        self._bundles[station_id] = bundle
        return bundle

    def signed(
        self, station_id: str, family: Family, payload: bytes
    ) -> tuple[tuple[str, str], ...]:
        return sign([self.control], family, station_id, payload)

    def configure(
        self,
        station_id: str,
        *,
        issued_at: float | None = None,
        denylist: dict[str, int] | None = None,
        version: int = 1,
    ) -> None:
        """Publish the station's retained config and every trust page (keys, each denylist
        bucket), as the real server would, once."""
        at = datetime.fromtimestamp(issued_at or time.time(), UTC)
        config = StationConfig(station_id=station_id, config_version=version, issued_at=at)
        keys = TrustKeys(
            version=version,
            issued_at=at,
            audience=AUDIENCE,
            keys={"k1": public_key_to_text(raw_public_key(self.key))},
            control_keys={self.control.kid: self.control.public_key_text},
        )
        buckets = by_bucket(denylist or {})
        with mqtt_peer(self._broker.port) as peer:
            payload = dump(config)
            peer.publish(
                topics.station_topic(station_id, Family.CONFIG),
                payload,
                retain=True,
                user_properties=self.signed(station_id, Family.CONFIG, payload),
            )
            self.publish_page(peer, TrustTopic(None), dump(keys))
            for bucket in range(topics.DENYLIST_BUCKETS):
                page = denylist_page(
                    bucket, buckets.get(bucket, {}).items(), version=version, issued_at=at
                )
                self.publish_page(peer, TrustTopic(bucket), dump(page))

    def publish_page(self, peer: Peer, page: TrustTopic, payload: bytes) -> None:
        topic = topics.TRUST_KEYS if page.bucket is None else topics.denylist_topic(page.bucket)
        signatures = sign_trust([self.control], page, payload)
        peer.publish(topic, payload, retain=True, user_properties=signatures)

    def token(self, rider_id: str = "r-offline") -> str:
        now = int(time.time())
        return sign_token(Claims("k1", rider_id, AUDIENCE, now, 60, new_nonce(), 1), self.key)
