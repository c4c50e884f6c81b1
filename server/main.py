"""The FastAPI application; the MQTT consumer starts and stops with it."""

from __future__ import annotations

import logging
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from urllib.parse import quote

from fastapi import FastAPI, Request, Response
from fastapi.responses import JSONResponse, RedirectResponse
from fastapi.staticfiles import StaticFiles

from server import __version__, auth
from server.api.deps import NotLoggedInError, Services
from server.api.routes import dashboard, keys, operations, riders, staff, stations
from server.config import ServerSettings
from server.db import init_db, make_engine, session_scope
from server.keyholder import KeyHolder
from server.models import utcnow
from server.mqtt.consumer import Clock, MqttConsumer
from server.web import pages, staff_pages

log = logging.getLogger(__name__)


def create_app(settings: ServerSettings, clock: Clock = time.time) -> FastAPI:
    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        engine = make_engine(settings.sqlalchemy_url)
        init_db(engine)
        if settings.admin_password is not None:
            with session_scope(engine) as session:
                if auth.ensure_admin(
                    session,
                    username=settings.admin_user,
                    password=settings.admin_password,
                    now=utcnow(),
                ):
                    log.info("created the first admin account %r", settings.admin_user)
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
    app.include_router(staff.router)
    app.include_router(dashboard.router)

    @app.exception_handler(NotLoggedInError)
    async def _not_logged_in(request: Request, exc: NotLoggedInError) -> Response:
        if request.url.path.startswith("/api/"):
            return JSONResponse({"detail": "log in first"}, status_code=401)
        return RedirectResponse(f"/login?next={quote(request.url.path)}", status_code=303)

    app.include_router(staff_pages.router)
    app.mount("/static", StaticFiles(directory=pages.STATIC_DIR), name="static")

    @app.get("/healthz", include_in_schema=False)
    def healthz() -> dict[str, str]:
        return {"status": "ok"}

    return app
