"""The public station list and the stations' photos: no login, cached, gzipped, rate-limited
per client address."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import APIRouter, Depends, Header, HTTPException, Path, Request, Response, status
from sqlalchemy import Engine
from sqlmodel import Session

from server.core.deps import SessionDep
from server.core.localtime import Clock
from server.core.settings import ServerSettings
from server.finder.limits import AddressBudget
from server.finder.listing import public_stations
from server.finder.models import PublicStations
from server.finder.snapshot import SnapshotCache
from server.stations.models import StationPhoto

router = APIRouter(prefix="/api/public", tags=["public"])

PHOTO_CACHE = "public, max-age=31536000, immutable"  # the digest is in the address


@dataclass(frozen=True, slots=True)
class Finder:
    """What the public routes keep per process (``app.state.finder``)."""

    stations: SnapshotCache
    budget: AddressBudget
    clock: Clock
    cache_s: float

    @staticmethod
    def build(engine: Engine, settings: ServerSettings, clock: Clock) -> Finder:
        def make(now: float) -> bytes:
            with Session(engine) as session:
                found = public_stations(session, now=now, hotline=settings.hotline)
            return found.model_dump_json().encode()

        return Finder(
            stations=SnapshotCache(make, max_age_s=settings.public_cache_s, clock=clock),
            budget=AddressBudget(
                burst=settings.public_burst, rate_per_s=settings.public_requests_per_s
            ),
            clock=clock,
            cache_s=settings.public_cache_s,
        )


def within_budget(request: Request) -> Finder:
    """The finder's state, once this client is within its budget (else 429)."""
    finder: Finder = request.app.state.finder
    host = request.client.host if request.client else None
    if not finder.budget.allow(host, finder.clock()):
        raise HTTPException(
            status.HTTP_429_TOO_MANY_REQUESTS,
            "too many requests from this address: slow down",
            headers={"Retry-After": str(finder.budget.retry_after_s)},
        )
    return finder


FinderDep = Annotated[Finder, Depends(within_budget)]


@router.get(
    "/stations",
    response_model=PublicStations,
    responses={304: {"description": "the client's copy (If-None-Match) is current"}},
)
def list_public_stations(
    finder: FinderDep,
    if_none_match: Annotated[str, Header()] = "",
    accept_encoding: Annotated[str, Header()] = "",
) -> Response:
    """Every station as riders may read it: open now or when it reopens, free places, address,
    amenities, photo. The same list for everyone, made at most every few seconds."""
    snapshot = finder.stations.get()
    headers = {
        "ETag": snapshot.etag,
        "Cache-Control": f"public, max-age={max(1, int(finder.cache_s))}",
        "Vary": "Accept-Encoding",
    }
    if if_none_match and snapshot.matches(if_none_match):
        return Response(status_code=status.HTTP_304_NOT_MODIFIED, headers=headers)
    if "gzip" in accept_encoding.lower():
        headers["Content-Encoding"] = "gzip"
        return Response(snapshot.gzipped, media_type="application/json", headers=headers)
    return Response(snapshot.body, media_type="application/json", headers=headers)


@router.get(
    "/stations/{station_id}/photo/{digest}.jpg",
    response_class=Response,
    responses={200: {"content": {"image/jpeg": {}}}},
)
def station_photo(
    station_id: str,
    digest: Annotated[str, Path(pattern=r"^[0-9a-f]{16}$")],
    session: SessionDep,
    _: FinderDep,
    if_none_match: Annotated[str, Header()] = "",
) -> Response:
    """A station's photo at the address the list gives (a new photo has a new address)."""
    photo = session.get(StationPhoto, station_id)
    if photo is None or photo.digest != digest:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "no such photo")
    headers = {"ETag": f'"{photo.digest}"', "Cache-Control": PHOTO_CACHE}
    if if_none_match.strip() == headers["ETag"]:
        return Response(status_code=status.HTTP_304_NOT_MODIFIED, headers=headers)
    return Response(photo.data, media_type=photo.content_type, headers=headers)
