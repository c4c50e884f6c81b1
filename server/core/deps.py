"""FastAPI dependencies shared by every capability's routes: the long-lived parts kept on
``app.state`` and a database session per request."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Annotated

from fastapi import Depends, Query, Request
from sqlalchemy import Engine
from sqlmodel import Session

from server.core.localtime import Clock
from server.core.settings import ServerSettings
from server.keys.ring import KeyHolder

if TYPE_CHECKING:  # the MQTT side imports the capabilities, which import this module
    from server.broker.sync import BrokerSync
    from server.mqtt.consumer import MqttConsumer
    from server.mqtt.publisher import Publisher


@dataclass(frozen=True, slots=True)
class Services:
    settings: ServerSettings
    engine: Engine
    keys: KeyHolder
    consumer: MqttConsumer
    publisher: Publisher
    broker: BrokerSync
    clock: Clock


def get_services(request: Request) -> Services:
    services: Services = request.app.state.services
    return services


ServicesDep = Annotated[Services, Depends(get_services)]


def get_session(services: ServicesDep) -> Iterator[Session]:
    with Session(services.engine, expire_on_commit=False) as session:
        yield session


SessionDep = Annotated[Session, Depends(get_session)]


# Paging of every list endpoint.
Limit = Annotated[int, Query(ge=1, le=200, description="rows per page, 1 to 200")]
Offset = Annotated[int, Query(ge=0, le=1_000_000, description="rows to skip")]
