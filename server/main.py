"""The FastAPI application: every capability's routes and pages, and in its lifespan the MQTT
consumer, the scheduler and the alert delivery worker."""

from __future__ import annotations

import logging
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta
from urllib.parse import quote

from fastapi import FastAPI, Request, Response
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse
from fastapi.staticfiles import StaticFiles
from sqlalchemy import Engine

from server import __version__
from server.alarms import pages as alarm_pages
from server.alarms import routes as alarm_routes
from server.alarms.live import AlarmFeed
from server.alarms.repo import pulse_reader
from server.alerts import routes as alert_routes
from server.alerts.rules import Backoff
from server.alerts.worker import DeliveryWorker
from server.audit import pages as audit_pages
from server.audit import routes as audit_routes
from server.broker.sync import BrokerSync
from server.core.api_errors import error_body
from server.core.api_errors import install as install_api_errors
from server.core.db import make_engine, session_scope
from server.core.deps import Services
from server.core.errors import ErrorCode, english
from server.core.localtime import Clock, local_date, utcnow
from server.core.settings import ServerSettings
from server.events import routes as event_routes
from server.finder import pages as finder_pages
from server.finder import routes as finder_routes
from server.health import routes as health_routes
from server.health.probes import probe_engine
from server.jobs.scheduler import Scheduler
from server.join import pages as join_pages
from server.join import routes as join_routes
from server.keys import routes as key_routes
from server.keys.ring import KeyHolder, rider_key_grace
from server.metrics import routes as metric_routes
from server.metrics.collector import server_registry
from server.migrations.apply import SchemaNotCurrentError, prepare
from server.mqtt.consumer import MqttConsumer
from server.reports import pages as report_pages
from server.reports import routes as report_routes
from server.reports.live import LiveFeed
from server.reports.overview import LiveReader
from server.riders import pages as rider_pages
from server.riders import rider_pass
from server.riders import routes as rider_routes
from server.staff import pages as staff_pages
from server.staff import repo as staff_repo
from server.staff import routes as staff_routes
from server.staff.deps import NotLoggedInError
from server.stations import pages as station_pages
from server.stations import routes as station_routes
from server.stations.holidays import warn_if_stale
from server.web.render import STATIC_DIR
from server.web.request_ids import RequestIds
from server.web.security_headers import SecurityHeaders, docs_policy
from telemetry.edges import Watch

log = logging.getLogger(__name__)

API_ROUTERS = (
    station_routes.router,
    rider_routes.router,
    rider_pass.router,
    key_routes.router,
    event_routes.router,
    alarm_routes.router,
    alert_routes.router,
    audit_routes.router,
    staff_routes.router,
    report_routes.router,
    health_routes.router,
    metric_routes.router,
    join_routes.router,
    finder_routes.router,
)
SWAGGER_CDN = "https://cdn.jsdelivr.net"


class UnsafeStartError(RuntimeError):
    """Settings fit only for the demo, outside demo mode."""


def check_can_start(settings: ServerSettings, engine: Engine) -> None:
    """Refuse the demo's defaults outside demo mode (WS_SERVER_DEMO_MODE), in one line. The
    settings are checked before the database is touched (its URL may be what is wrong); then
    the schema (``SchemaNotCurrentError``, saying what to run; an empty database is created)."""
    found = settings.unsafe_defaults()
    if found:
        raise UnsafeStartError("refusing to start outside demo mode: " + "; ".join(found))
    prepare(engine, auto_migrate=settings.auto_migrate)
    if not settings.demo_mode and settings.admin_password is None:
        with session_scope(engine) as session:
            if not staff_repo.has_accounts(session):
                found.append(
                    "WS_SERVER_ADMIN_PASSWORD is not set and there is no staff account yet"
                )
    if found:
        raise UnsafeStartError("refusing to start outside demo mode: " + "; ".join(found))


PAGE_ROUTERS = (
    staff_pages.router,
    report_pages.router,
    station_pages.router,
    rider_pages.router,
    join_pages.router,
    finder_pages.router,
    alarm_pages.router,
    audit_pages.router,
)


def create_app(settings: ServerSettings, clock: Clock = time.time) -> FastAPI:
    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        engine = make_engine(settings.sqlalchemy_url)
        try:
            check_can_start(settings, engine)
        except (UnsafeStartError, SchemaNotCurrentError):
            engine.dispose()
            raise
        if settings.admin_password is not None:
            with session_scope(engine) as session:
                if staff_repo.ensure_admin(
                    session,
                    username=settings.admin_user,
                    password=settings.admin_password,
                    now=utcnow(),
                ):
                    log.info("created the first admin account %r", settings.admin_user)
        warn_if_stale(local_date(utcnow()))  # holidays beyond the calendar: upgrade it
        key_holder = KeyHolder(
            engine,
            control_grace=timedelta(seconds=settings.control_key_grace_s),
            rider_grace=rider_key_grace(settings.device_cert_lifetime_s),
            check_s=settings.key_check_s,
        )
        key_holder.reload()
        broker = BrokerSync(settings, engine)
        broker.prepare_tls()
        broker.sync()  # the broker admits the server (and every station) before it connects
        consumer = MqttConsumer(settings, engine, key_holder, clock)
        consumer.start()
        if not consumer.wait_connected(10):
            log.warning(
                "broker %s:%d not reachable yet; retrying in the background",
                settings.broker_host,
                settings.broker_port,
            )
        publisher = consumer.publisher
        publisher.publish_trust()  # configs go to each station at its birth
        database = Watch("database", log)
        app.state.health = health_routes.Health(probe_engine(engine), database)
        app.state.metrics = server_registry(consumer, engine)
        scheduler = Scheduler(settings, engine, key_holder, publisher, clock, database=database)
        scheduler.start()
        alerts = DeliveryWorker(
            engine,
            public_url=settings.public_base_url,
            backoff=Backoff(
                base_s=settings.alert_retry_base_s,
                cap_s=settings.alert_retry_cap_s,
                max_age=timedelta(seconds=settings.alert_max_age_s),
            ),
            poll_s=settings.alert_poll_s,
            timeout_s=settings.alert_timeout_s,
            clock=clock,
        )
        alerts.start()
        app.state.alerts = alerts
        app.state.services = Services(
            settings, engine, key_holder, consumer, publisher, broker, clock
        )
        # One poller for every open stream.
        app.state.live_feed = LiveFeed(LiveReader(engine), poll_s=settings.live_poll_s)
        app.state.finder = finder_routes.Finder.build(engine, settings, clock)
        app.state.alarm_feed = AlarmFeed(pulse_reader(engine), poll_s=settings.live_poll_s)
        try:
            yield
        finally:
            await app.state.live_feed.close()
            await app.state.alarm_feed.close()
            alerts.stop()
            scheduler.stop()
            consumer.stop()
            broker.stop()
            app.state.health.probe.dispose()
            engine.dispose()

    # The docs page is ours (below), for its own Content-Security-Policy; no ReDoc, no OAuth.
    app = FastAPI(
        title="Warm Station server",
        version=__version__,
        lifespan=lifespan,
        docs_url=None,
        redoc_url=None,
        swagger_ui_oauth2_redirect_url=None,
    )
    app.add_middleware(
        SecurityHeaders,
        https=settings.served_over_https,
        image_sources=settings.map_image_sources,  # the map's tile servers, if any
    )
    app.add_middleware(RequestIds)  # outermost: the id covers the whole request
    install_api_errors(app)
    for router in API_ROUTERS:
        app.include_router(router)

    @app.exception_handler(NotLoggedInError)
    async def _not_logged_in(request: Request, exc: NotLoggedInError) -> Response:
        if request.url.path.startswith("/api/"):
            body = error_body(english(ErrorCode.LOGIN_REQUIRED, {}), ErrorCode.LOGIN_REQUIRED, {})
            return JSONResponse(body, status_code=401)
        return RedirectResponse(f"/login?next={quote(request.url.path)}", status_code=303)

    for router in PAGE_ROUTERS:
        app.include_router(router)
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")

    docs_page = get_swagger_ui_html(
        openapi_url="/openapi.json", title=f"{app.title} API", swagger_favicon_url="data:,"
    )
    docs_csp = docs_policy(bytes(docs_page.body).decode(), cdn=SWAGGER_CDN)

    @app.get("/docs", include_in_schema=False)
    def docs() -> HTMLResponse:
        return HTMLResponse(docs_page.body, headers={"Content-Security-Policy": docs_csp})

    return app
