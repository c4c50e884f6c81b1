"""The server's metrics, read at scrape time from the counters the consumer and publisher
already keep (nothing is counted twice), plus one aggregate query for the station counts."""

from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import TYPE_CHECKING

from prometheus_client import CollectorRegistry, ProcessCollector
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.metrics_core import Metric
from prometheus_client.registry import Collector
from sqlalchemy import Engine
from sqlalchemy.exc import SQLAlchemyError

from server.core.db import session_scope
from server.reports.listing import station_counts

if TYPE_CHECKING:
    from server.mqtt.consumer import MqttConsumer

log = logging.getLogger(__name__)


class ServerCollector(Collector):
    def __init__(self, consumer: MqttConsumer, engine: Engine) -> None:
        self._consumer = consumer
        self._engine = engine

    def collect(self) -> Iterable[Metric]:
        consumer = self._consumer
        yield from consumer.decision_metrics.collect()
        stats = consumer.stats()
        for name, key, what in (
            ("ws_events_stored", "events_stored", "Station events stored by this process"),
            ("ws_heartbeats_stored", "heartbeats_stored", "Heartbeats recorded"),
        ):
            value = stats.get(key, 0)
            yield CounterMetricFamily(name, what, value=value if isinstance(value, int) else 0)
        dropped = CounterMetricFamily(
            "ws_messages_dropped",
            "Station messages not handled, by reason (shed_* = load shed, others rejected)",
            labels=["reason"],
        )
        for reason, count in sorted(consumer.dropped.copy().items()):
            dropped.add_metric([reason], count)
        yield dropped
        depth = GaugeMetricFamily(
            "ws_consumer_queue_depth", "Messages waiting in a consumer lane", labels=["lane"]
        )
        age = GaugeMetricFamily(
            "ws_consumer_oldest_age_seconds",
            "How long the oldest message in a lane has waited",
            labels=["lane"],
        )
        for lane in consumer.lanes():
            depth.add_metric([lane.name], lane.depth())
            age.add_metric([lane.name], lane.oldest_age())
        yield depth
        yield age
        cpu = CounterMetricFamily(
            "ws_consumer_cpu_seconds",
            "CPU time used by each of the MQTT consumer's threads",
            labels=["thread"],
        )
        for thread, seconds in sorted(consumer.thread_cpu().items()):
            cpu.add_metric([thread], seconds)
        yield cpu
        connected = GaugeMetricFamily(
            "ws_broker_connected", "1 while the link to the broker is up", labels=["link"]
        )
        for link, up in consumer.links_connected().items():
            connected.add_metric([link], 1.0 if up else 0.0)
        yield connected
        published = CounterMetricFamily(
            "ws_published", "Messages the server published, by kind", labels=["kind"]
        )
        for kind, count in sorted(consumer.publisher.published.copy().items()):
            published.add_metric([kind], count)
        yield published
        yield from self._station_gauges()

    def _station_gauges(self) -> Iterable[Metric]:
        try:
            with session_scope(self._engine) as session:
                counts = station_counts(session)
        except SQLAlchemyError:
            # No figures rather than a failed scrape: /readyz says what is wrong.
            log.debug("station counts unavailable for metrics", exc_info=True)
            return
        stations = GaugeMetricFamily("ws_stations", "Stations by state", labels=["state"])
        stations.add_metric(["online"], counts.stations_online)
        stations.add_metric(["offline"], counts.stations_offline)
        yield stations
        yield GaugeMetricFamily("ws_alarms_open", "Unacknowledged alarms", value=counts.alarms_open)
        yield GaugeMetricFamily(
            "ws_occupancy", "People inside, over every station", value=counts.occupancy
        )


def server_registry(consumer: MqttConsumer, engine: Engine) -> CollectorRegistry:
    """One registry per app: the process's own figures and the server's."""
    registry = CollectorRegistry(auto_describe=False)
    ProcessCollector(registry=registry)
    registry.register(ServerCollector(consumer, engine))
    return registry
