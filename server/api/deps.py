"""FastAPI dependencies: the database session and the long-lived parts kept on app.state."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy import Engine
from sqlmodel import Session

from server.config import ServerSettings
from server.keyholder import KeyHolder
from server.mqtt.consumer import Clock, MqttConsumer


@dataclass(frozen=True, slots=True)
class Services:
    settings: ServerSettings
    engine: Engine
    keys: KeyHolder
    consumer: MqttConsumer
    clock: Clock


def get_services(request: Request) -> Services:
    services: Services = request.app.state.services
    return services


ServicesDep = Annotated[Services, Depends(get_services)]


def get_session(services: ServicesDep) -> Iterator[Session]:
    with Session(services.engine, expire_on_commit=False) as session:
        yield session


SessionDep = Annotated[Session, Depends(get_session)]
