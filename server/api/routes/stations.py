"""Stations: provision, list, read."""

from __future__ import annotations

from fastapi import APIRouter, HTTPException, status

from server import crud
from server.api.deps import AS_ADMIN, AS_VIEWER, ServicesDep, SessionDep
from server.models import StationCreate, StationPublic, Summary

router = APIRouter(prefix="/api", tags=["stations"])


@router.post(
    "/stations",
    status_code=status.HTTP_201_CREATED,
    response_model=StationPublic,
    dependencies=AS_ADMIN,
)
def create_station(
    station_in: StationCreate, session: SessionDep, services: ServicesDep
) -> StationPublic:
    try:
        station = crud.create_station(session, station_in=station_in)
    except crud.AlreadyExistsError as exc:
        raise HTTPException(status.HTTP_409_CONFLICT, str(exc)) from None
    services.consumer.publish_config(station.id)
    return StationPublic.model_validate(station)


@router.get("/stations", response_model=list[StationPublic], dependencies=AS_VIEWER)
def list_stations(session: SessionDep) -> list[StationPublic]:
    return [StationPublic.model_validate(s) for s in crud.list_stations(session)]


@router.get(
    "/stations/{station_id}",
    response_model=StationPublic,
    dependencies=AS_VIEWER,
)
def read_station(station_id: str, session: SessionDep) -> StationPublic:
    station = crud.get_station(session, station_id=station_id)
    if station is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no station {station_id!r}")
    return StationPublic.model_validate(station)


@router.get("/summary", response_model=Summary, dependencies=AS_VIEWER)
def read_summary(session: SessionDep) -> Summary:
    return crud.summary(session)
