"""Signing keys: list, and rotate with overlap."""

from __future__ import annotations

from datetime import timedelta

from fastapi import APIRouter, status

from server import crud, keyring
from server.api.deps import AS_ADMIN, ServicesDep, SessionDep
from server.models import SigningKeyPublic, utcnow

router = APIRouter(prefix="/api/keys", tags=["keys"])


@router.get("", response_model=list[SigningKeyPublic], dependencies=AS_ADMIN)
def list_keys(session: SessionDep) -> list[SigningKeyPublic]:
    return [SigningKeyPublic.model_validate(k) for k in keyring.list_keys(session)]


@router.post(
    "/rotate",
    status_code=status.HTTP_201_CREATED,
    response_model=SigningKeyPublic,
    dependencies=AS_ADMIN,
)
def rotate_key(session: SessionDep, services: ServicesDep) -> SigningKeyPublic:
    """A new key, published to every station now, signing after the propagation delay."""
    propagation = timedelta(seconds=services.settings.key_propagation_s)
    record = keyring.rotate(session, now=utcnow(), propagation=propagation)
    crud.bump_config_version(session)
    session.commit()
    services.keys.reload()
    services.consumer.publish_all_configs()
    return SigningKeyPublic.model_validate(record)
