"""Everything the server sends to stations: on each station's own topics its config
(retained), commands, decisions and event acknowledgements (never retained); once for all
stations the trust pages (retained: keys, and one denylist page per bucket). Each is signed
with every published control key (``protocol.signing``): a station acts on nothing else.

Nothing here loops over stations: a revocation publishes one denylist page, a key rotation
the keys page, the periodic refresh the keys page and the 256 denylist pages."""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Sequence

from sqlalchemy import Engine

from mqttlink import Link
from protocol import topics
from protocol.payloads import MAX_ACKED, AccessDecision, EventsAck, StationCommand, dump
from protocol.signing import sign, sign_trust
from protocol.topics import TRUST_KEYS, Family, TrustTopic
from server.core.db import session_scope
from server.core.localtime import utcnow
from server.core.settings import ServerSettings
from server.events.store import StreamAck
from server.homeassistant.discovery import DISCOVERY_PREFIX as HA_DISCOVERY_PREFIX
from server.homeassistant.discovery import STATE_ROOT as HA_STATE_ROOT
from server.keys.ring import KeyHolder
from server.stations.published_config import build_config
from server.trust.pages import all_bucket_pages, bucket_page, keys_page


class Publisher:
    def __init__(
        self, link: Link, engine: Engine, keys: KeyHolder, settings: ServerSettings
    ) -> None:
        self._link = link
        self._engine = engine
        self._keys = keys
        self._settings = settings
        self._trust_published_after = -1  # the link's reconnect count at the last publish_trust
        # Messages handed to the link, by kind (``config``, ``trust_denylist``...), for metrics.
        self.published: Counter[str] = Counter()
        self._published_lock = threading.Lock()

    def publish_config(self, station_id: str) -> None:
        """Publish one station's config (retained), freshly built; at a birth, after a broker
        restart, also the trust pages (the broker may have lost its retained store)."""
        if self._link.reconnects != self._trust_published_after:
            self.publish_trust()
        with session_scope(self._engine) as session:
            config = build_config(session, station_id=station_id, now=utcnow())
        self._publish(station_id, Family.CONFIG, dump(config), retain=True)

    def publish_keys(self) -> None:
        """The keys page, once for every station. The ring is first checked against the
        database, so this worker never publishes a page lacking a key another one added."""
        self._keys.refresh_if_changed()
        now = utcnow()
        with session_scope(self._engine) as session:
            page = keys_page(
                session,
                ring=self._keys.ring,
                control=self._keys.control,
                settings=self._settings,
                now=now,
            )
        self._publish_trust(TrustTopic(None), dump(page))

    def publish_denylist(self, bucket: int) -> None:
        """One bucket's denylist page: what a revocation sends, whatever the station count."""
        with session_scope(self._engine) as session:
            page = bucket_page(session, bucket=bucket, settings=self._settings, now=utcnow())
        self._publish_trust(TrustTopic(bucket), dump(page))

    def publish_trust(self) -> None:
        """Every trust page, with a fresh ``issued_at``: at start, periodically, and after a
        reconnection to the broker (257 messages, whatever the number of stations)."""
        self._trust_published_after = self._link.reconnects
        self.publish_keys()
        with session_scope(self._engine) as session:
            pages = all_bucket_pages(session, settings=self._settings, now=utcnow())
        for page in pages:
            self._publish_trust(TrustTopic(page.bucket), dump(page))

    def send_command(self, command: StationCommand) -> None:
        """QoS 1, never retained, expiring with the command."""
        ttl = max(1, int((command.expires_at - command.issued_at).total_seconds()))
        self._publish(command.station_id, Family.COMMANDS, dump(command), expiry_s=ttl)

    def answer(self, station_id: str, decision: AccessDecision, correlation_data: bytes) -> None:
        """Only on the station's own decision topic, whatever response topic was asked for: a
        client must not be able to make the server publish elsewhere."""
        self._publish(
            station_id,
            Family.ACCESS_DECISION,
            dump(decision),
            correlation_data=correlation_data,
            expiry_s=self._settings.decision_ttl_s,
        )

    def acknowledge(self, acks: Sequence[StreamAck]) -> None:
        """Only after the commit that stored the events."""
        for ack in acks:
            for start in range(0, len(ack.acked), MAX_ACKED):
                payload = EventsAck(
                    station_id=ack.station_id,
                    epoch=ack.epoch,
                    acked=ack.acked[start : start + MAX_ACKED],
                    missing=ack.missing,
                )
                self._publish(ack.station_id, Family.EVENTS_ACK, dump(payload))

    @property
    def reconnects(self) -> int:
        return self._link.reconnects

    def publish_homeassistant(self, topic: str, payload: bytes) -> None:
        """A retained Home Assistant discovery config or state (server/homeassistant): for
        Home Assistant, not stations, so not signed."""
        if not topic.startswith((f"{HA_DISCOVERY_PREFIX}/", f"{HA_STATE_ROOT}/")):
            raise ValueError(f"not a Home Assistant topic: {topic}")
        self._link.publish(topic, payload, qos=1, retain=True)

    def _publish_trust(self, page: TrustTopic, payload: bytes) -> None:
        topic = TRUST_KEYS if page.bucket is None else topics.denylist_topic(page.bucket)
        self._counted("trust_keys" if page.bucket is None else "trust_denylist")
        self._link.publish(
            topic,
            payload,
            qos=1,
            retain=True,
            user_properties=sign_trust(self._keys.control.signers, page, payload),
        )

    def _publish(
        self,
        station_id: str,
        family: Family,
        payload: bytes,
        *,
        retain: bool = False,
        correlation_data: bytes | None = None,
        expiry_s: int | None = None,
    ) -> None:
        self._counted(family.name.lower())
        self._link.publish(
            topics.station_topic(station_id, family),
            payload,
            qos=1,
            retain=retain,
            correlation_data=correlation_data,
            expiry_s=expiry_s,
            user_properties=sign(self._keys.control.signers, family, station_id, payload),
        )

    def _counted(self, kind: str) -> None:
        with self._published_lock:
            self.published[kind] += 1
