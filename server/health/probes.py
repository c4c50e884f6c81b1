"""The looks ``/readyz`` takes (I/O): a short query on a fresh database connection, the
consumer's links and lanes."""

from __future__ import annotations

from typing import TYPE_CHECKING

from sqlalchemy import Engine, create_engine, text
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.pool import NullPool

from server.health.readiness import LaneLook, Looks

if TYPE_CHECKING:
    from server.mqtt.consumer import MqttConsumer

PROBE_TIMEOUT_S = 3


def probe_engine(engine: Engine) -> Engine:
    """An engine that opens a new connection for every probe (a pooled one would keep
    answering from a SQLite file whose directory is gone), and gives up in seconds. SQLite is
    opened read-write without creating: a missing file is a database lost, not a new one."""
    url = engine.url
    if url.get_backend_name() == "sqlite":
        url = url.set(database=f"file:{url.database}", query={"mode": "rw", "uri": "true"})
        return create_engine(url, poolclass=NullPool, connect_args={"timeout": PROBE_TIMEOUT_S})
    options = f"-c statement_timeout={PROBE_TIMEOUT_S * 1000}"
    return create_engine(
        url,
        poolclass=NullPool,
        hide_parameters=True,
        connect_args={"connect_timeout": PROBE_TIMEOUT_S, "options": options},
    )


def database_error(probe: Engine) -> str | None:
    """None when the database answers a trivial query; else the kind of error (never the
    message: it may quote the URL)."""
    try:
        with probe.connect() as connection:
            connection.execute(text("SELECT 1"))
    except SQLAlchemyError as exc:
        cause = getattr(exc, "orig", None) or exc
        return f"unreachable ({type(cause).__name__})"
    return None


def look(probe: Engine, consumer: MqttConsumer) -> Looks:
    return Looks(
        database_error=database_error(probe),
        links=consumer.links_connected(),
        lanes=tuple(
            LaneLook(lane.name, lane.depth(), lane.capacity, lane.oldest_age())
            for lane in consumer.lanes()
        ),
    )
