"""The finder page (``/find``) and the service worker (``/sw.js``) that opens it, and the
rider's code page, without network."""

from __future__ import annotations

import hashlib

from fastapi import APIRouter, Request, Response
from fastapi.responses import HTMLResponse
from markupsafe import Markup

import i18n
from server.core.deps import ServicesDep
from server.core.settings import ServerSettings
from server.finder.routes import Finder
from server.stations.models import Amenity
from server.web.language import language_of
from server.web.render import STATIC_DIR, render_page

router = APIRouter(include_in_schema=False)

# What the worker keeps for offline use, besides the pages and the last station list: a new
# version of any of them is a new worker (its script changes), which replaces the old copies.
OFFLINE_FILES = (
    "finder.css",
    "finder_common.js",
    "finder.js",
    "nearby.js",
    "rider.css",
    "rider.js",
)
# The map (issue 14's station_map.js over Leaflet): loaded only when a rider asks for it (about
# 50 KB gzipped, too much for every visit on a weak network), kept once it has been.
MAP_FILES = (
    "vendor/leaflet/leaflet.css",
    "station_map.css",
    "vendor/leaflet/leaflet.js",
    "vendor/gcoord/gcoord.esm-browser.prod.js",
    "station_map.js",
    "finder_map.js",
)
_WORKER_SOURCE = (STATIC_DIR / "sw.js").read_text(encoding="utf-8")


def _worker_script() -> bytes:
    digest = hashlib.sha256(_WORKER_SOURCE.encode())
    for name in (*OFFLINE_FILES, *MAP_FILES):
        digest.update((STATIC_DIR / name).read_bytes())
    return (
        _WORKER_SOURCE.replace("__VERSION__", digest.hexdigest()[:12])
        .replace('"__FILES__"', ", ".join(f'"/static/{name}"' for name in OFFLINE_FILES))
        .replace('"__MAP_FILES__"', ", ".join(f'"/static/{name}"' for name in MAP_FILES))
        .encode()
    )


WORKER = _worker_script()


def finder_words(language: str) -> dict[str, str]:
    """The finder's words and the amenities' names, for the pages' scripts."""
    words = i18n.family("finder", language)
    for amenity in Amenity:
        words[f"amenity_{amenity.value}"] = i18n.text(f"code.amenity_{amenity.value}", language)
    return words


def map_settings(settings: ServerSettings) -> dict[str, object]:
    """The map's tiles as the staff map gets them (issue 14: none, a grid, unless configured),
    and the files to load when the rider asks for the map."""
    tiles = (
        {
            "url": settings.map_tile_url,
            "labels": settings.map_label_url or None,
            "subdomains": settings.map_tile_subdomains or "abc",
            "attribution": settings.map_tile_attribution,
            "maxZoom": settings.map_tile_max_zoom,
            "gcj02": settings.map_tile_gcj02,
        }
        if settings.map_tile_url
        else None
    )
    return {"tiles": tiles, "files": [f"/static/{name}" for name in MAP_FILES]}


def _script_json(body: bytes) -> Markup:
    """JSON bytes safe inside a <script type="application/json"> block."""
    text = body.decode().replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
    return Markup(text)  # noqa: S704 (every character that could end the block is escaped)


@router.get("/find", response_class=HTMLResponse)
def find_page(request: Request, services: ServicesDep) -> HTMLResponse:
    """Every station with open or closed, free places, distance, directions, amenities; no
    login. The list is in the page, so it shows before any script has fetched anything."""
    language = language_of(request)
    finder: Finder = request.app.state.finder
    response = render_page(
        request,
        "find.html",
        None,
        {
            "words": finder_words(language),
            "hotline": services.settings.hotline,
            "stations_json": _script_json(finder.stations.get().body),
            "map_settings": map_settings(services.settings),
        },
    )
    response.headers["Cache-Control"] = "no-cache"
    return response


@router.get("/sw.js")
def service_worker() -> Response:
    """The worker, from the site's root so that its scope covers /find and /r/..."""
    return Response(
        WORKER,
        media_type="text/javascript",
        headers={"Cache-Control": "no-cache", "Service-Worker-Allowed": "/"},
    )
