"""The finder page (``/find``) and the service worker (``/sw.js``) that opens it, and the
rider's code page, without network."""

from __future__ import annotations

import hashlib

from fastapi import APIRouter, Request, Response
from fastapi.responses import HTMLResponse
from markupsafe import Markup

import i18n
from server.core.deps import ServicesDep
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
_WORKER_SOURCE = (STATIC_DIR / "sw.js").read_text(encoding="utf-8")


def _worker_script() -> bytes:
    digest = hashlib.sha256(_WORKER_SOURCE.encode())
    for name in OFFLINE_FILES:
        digest.update((STATIC_DIR / name).read_bytes())
    files = ", ".join(f'"/static/{name}"' for name in OFFLINE_FILES)
    return (
        _WORKER_SOURCE.replace("__VERSION__", digest.hexdigest()[:12])
        .replace('"__FILES__"', files)
        .encode()
    )


WORKER = _worker_script()


def finder_words(language: str) -> dict[str, str]:
    """The finder's words and the amenities' names, for the pages' scripts."""
    words = i18n.family("finder", language)
    for amenity in Amenity:
        words[f"amenity_{amenity.value}"] = i18n.text(f"code.amenity_{amenity.value}", language)
    return words


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
