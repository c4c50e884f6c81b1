"""``GET /metrics`` in Prometheus's text format, only with ``WS_SERVER_METRICS_TOKEN`` set
and sent as a bearer token (Prometheus: ``authorization: {credentials_file: ...}``): the
figures say how busy each station is, which is not for the public side of the proxy."""

from __future__ import annotations

import hmac

from fastapi import APIRouter, HTTPException, Request, Response
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest

from server.core.deps import ServicesDep

router = APIRouter(include_in_schema=False)


@router.get("/metrics")
def metrics(request: Request, services: ServicesDep) -> Response:
    token = services.settings.metrics_token
    if token is None:
        raise HTTPException(404, "metrics are off: set WS_SERVER_METRICS_TOKEN")
    sent = request.headers.get("authorization", "").encode()
    expected = b"Bearer " + token.get_secret_value().encode()
    if not hmac.compare_digest(sent, expected):
        raise HTTPException(401, "bearer token required", headers={"WWW-Authenticate": "Bearer"})
    registry: CollectorRegistry = request.app.state.metrics
    return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)
