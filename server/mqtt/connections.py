"""The consumer's connections: to the broker (its settings) and to the database (an engine per
kind of work, each tuned for it)."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Engine

from mqttlink import LinkSettings
from server.core.db import make_engine
from server.core.settings import ServerSettings


def broker_link_settings(settings: ServerSettings) -> LinkSettings:
    return LinkSettings(
        host=settings.broker_host,
        port=settings.broker_port,
        username=settings.broker_username,
        password=(
            settings.broker_password.get_secret_value()
            if settings.broker_password is not None
            else None
        ),
        ca_file=str(settings.broker_ca) if settings.broker_ca else None,
    )


@dataclass(frozen=True, slots=True)
class WorkEngines:
    decisions: Engine
    events: Engine
    heartbeats: Engine

    def dispose(self) -> None:
        for engine in (self.decisions, self.events, self.heartbeats):
            engine.dispose()


def work_engines(settings: ServerSettings) -> WorkEngines:
    url = settings.sqlalchemy_url
    return WorkEngines(
        # The decisions' own connections: no ping before each, and (unless configured
        # otherwise) commits that do not wait for the disk.
        decisions=make_engine(
            url, durable_commits=settings.decision_synchronous_commit, pre_ping=False
        ),
        # The bulk worker's own connection: durable commits, but no ping before each batch
        # (a round trip per batch; a dead connection fails one batch, which is sent again).
        events=make_engine(url, pre_ping=False),
        # Heartbeats are not history (the next one comes within a minute): their batches
        # commit without waiting for the disk, so on SQLite a decision waiting for its turn
        # never waits for a heartbeat batch's fsync (docs/scaling.md, "Decisions and
        # durability"). Events keep durable commits: a stored event is acknowledged.
        heartbeats=make_engine(url, durable_commits=False, pre_ping=False),
    )
