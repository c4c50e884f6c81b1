"""The FastAPI application; the MQTT consumer starts and stops with it."""

from __future__ import annotations

import logging
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from server import __version__
from server.api.deps import Services
from server.api.routes import keys, operations, riders, stations
from server.config import ServerSettings
from server.db import init_db, make_engine
from server.keyholder import KeyHolder
from server.mqtt.consumer import Clock, MqttConsumer
from server.web import pages

log = logging.getLogger(__name__)


def create_app(settings: ServerSettings, clock: Clock = time.time) -> FastAPI:
    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        engine = make_engine(settings.sqlalchemy_url)
        init_db(engine)
        key_holder = KeyHolder(engine)
        key_holder.reload()
        consumer = MqttConsumer(settings, engine, key_holder, clock)
        consumer.start()
        if not consumer.wait_connected(10):
            log.warning(
                "broker %s:%d not reachable yet; retrying in the background",
                settings.broker_host,
                settings.broker_port,
            )
        consumer.publish_all_configs()
        app.state.services = Services(settings, engine, key_holder, consumer, clock)
        try:
            yield
        finally:
            consumer.stop()
            engine.dispose()

    app = FastAPI(title="Warm Station server", version=__version__, lifespan=lifespan)
    app.include_router(stations.router)
    app.include_router(riders.router)
    app.include_router(keys.router)
    app.include_router(operations.router)
    app.include_router(pages.router)

    @app.get("/healthz", include_in_schema=False)
    def healthz() -> dict[str, str]:
        return {"status": "ok"}

    return app
