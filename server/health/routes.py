"""``/livez``: the process answers (no I/O). ``/readyz``: it can work (database, broker,
consumer keeping up); 503 with the reason otherwise. Both unauthenticated, for the
container's healthcheck and the load balancer; they name no secret. ``/healthz`` is livez's
older name."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from sqlalchemy import Engine

from server.core.deps import ServicesDep
from server.health.probes import look
from server.health.readiness import assess
from telemetry.edges import Watch

log = logging.getLogger(__name__)
router = APIRouter(include_in_schema=False)


@dataclass(frozen=True, slots=True)
class Health:
    probe: Engine  # fresh connections for each look at the database
    database: Watch  # also fed by the scheduler's ticks


def get_health(request: Request) -> Health:
    health: Health = request.app.state.health
    return health


@router.get("/livez")
@router.get("/healthz")
def livez() -> dict[str, str]:
    return {"status": "ok"}


@router.get("/readyz")
def readyz(request: Request, services: ServicesDep) -> JSONResponse:
    health = get_health(request)
    looks = look(health.probe, services.consumer)
    health.database.see(looks.database_error is None, looks.database_error or "")
    readiness = assess(looks, max_queue_age_s=services.settings.ready_max_queue_age_s)
    return JSONResponse(readiness.as_json(), status_code=200 if readiness.ready else 503)
