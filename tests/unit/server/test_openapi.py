"""OpenAPI names how a client authenticates: the bearer token (the API's own way) and the staff
session cookie, and every /api operation behind a login says it needs one of them."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute

from server.core.settings import ServerSettings
from server.main import API_ROUTERS, create_app
from server.staff.deps import SESSION_COOKIE, authenticated

# Reachable without a session by design (the rider's pass is under /r/, not /api; a rider
# asking to join holds the request's token instead; the public station list and its photos
# are the finder's, server/finder).
OPEN_API_ROUTES = {
    "/api/auth/login",
    "/api/join",
    "/api/join/status",
    "/api/public/stations",
    "/api/public/stations/{station_id}/photo/{digest}.jpg",
}


def _app_and_schema(tmp_path: Path) -> tuple[list[APIRoute], dict[str, Any]]:
    """The API's routes (from its routers: the app includes them lazily) and the schema."""
    app = create_app(ServerSettings(data_dir=tmp_path))
    routes = [r for router in API_ROUTERS for r in router.routes if isinstance(r, APIRoute)]
    return routes, app.openapi()


def _needs_login(dependant: Dependant) -> bool:
    return any(d.call is authenticated or _needs_login(d) for d in dependant.dependencies)


def test_both_security_schemes_are_declared(tmp_path: Path) -> None:
    _, schema = _app_and_schema(tmp_path)
    schemes = schema["components"]["securitySchemes"]
    assert schemes["bearer"] == {
        "type": "http",
        "scheme": "bearer",
        "description": "a token from POST /api/auth/login",
    }
    assert schemes["session_cookie"]["type"] == "apiKey"
    assert schemes["session_cookie"]["in"] == "cookie"
    assert schemes["session_cookie"]["name"] == SESSION_COOKIE


def test_every_api_route_behind_a_login_references_both_schemes(tmp_path: Path) -> None:
    routes, schema = _app_and_schema(tmp_path)
    protected = [r for r in routes if r.path.startswith("/api") and r.path not in OPEN_API_ROUTES]
    assert len(protected) > 20  # the staff API, not an empty walk
    for route in protected:
        for method in route.methods:
            operation = schema["paths"][route.path][method.lower()]
            assert {"bearer": []} in operation["security"], (method, route.path)
            assert {"session_cookie": []} in operation["security"], (method, route.path)


def test_the_routes_declared_open_are_the_only_ones_without_the_login_dependency(
    tmp_path: Path,
) -> None:
    """The two streams check the login themselves (they stay open for minutes): they only
    declare it."""
    routes, schema = _app_and_schema(tmp_path)
    open_routes = {
        r.path for r in routes if r.path.startswith("/api") and not _needs_login(r.dependant)
    }
    assert open_routes == {*OPEN_API_ROUTES, "/api/stream", "/api/alarms/stream"}
    for path in OPEN_API_ROUTES:
        for operation in schema["paths"][path].values():
            assert "security" not in operation
