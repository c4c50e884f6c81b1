"""Everything the server sends to stations, on each station's own topics: configs (retained),
commands, decisions and event acknowledgements (never retained). Each is signed with every
published control key (``protocol.signing``): a station acts on nothing else."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import Engine

from mqttlink import Link
from protocol import topics
from protocol.payloads import MAX_ACKED, AccessDecision, EventsAck, StationCommand, dump
from protocol.signing import sign
from protocol.topics import Family
from server.core.db import session_scope
from server.core.localtime import utcnow
from server.core.settings import ServerSettings
from server.events.store import StreamAck
from server.keys.ring import KeyHolder
from server.stations.published_config import build_config
from server.stations.repo import list_stations


class Publisher:
    def __init__(
        self, link: Link, engine: Engine, keys: KeyHolder, settings: ServerSettings
    ) -> None:
        self._link = link
        self._engine = engine
        self._keys = keys
        self._settings = settings

    def publish_config(self, station_id: str) -> None:
        """Publish one station's config (retained), freshly built."""
        with session_scope(self._engine) as session:
            config = build_config(
                session,
                station_id=station_id,
                ring=self._keys.ring,
                control=self._keys.control,
                settings=self._settings,
                now=utcnow(),
            )
        self._publish(station_id, Family.CONFIG, dump(config), retain=True)

    def publish_all_configs(self) -> None:
        """After a revocation or key change, and periodically: every station learns it."""
        with session_scope(self._engine) as session:
            station_ids = [station.id for station in list_stations(session)]
        for station_id in station_ids:
            self.publish_config(station_id)

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
        self._link.publish(
            topics.station_topic(station_id, family),
            payload,
            qos=1,
            retain=retain,
            correlation_data=correlation_data,
            expiry_s=expiry_s,
            user_properties=sign(self._keys.control.signers, family, station_id, payload),
        )
