"""Signing keys: list, and rotate with overlap (rider-token keys and control keys)."""

from __future__ import annotations

from datetime import timedelta

from fastapi import APIRouter, status

from server.core.deps import ServicesDep, SessionDep
from server.core.localtime import utcnow
from server.keys import ring
from server.keys.models import KeyRotation, SigningKeyPublic
from server.staff.deps import AS_ADMIN, AdminDep
from server.stations.repo import bump_config_version

router = APIRouter(prefix="/api/keys", tags=["keys"])


@router.get("", response_model=list[SigningKeyPublic], dependencies=AS_ADMIN)
def list_keys(session: SessionDep) -> list[SigningKeyPublic]:
    return [SigningKeyPublic.model_validate(k) for k in ring.list_keys(session)]


@router.post("/rotate", status_code=status.HTTP_201_CREATED, response_model=SigningKeyPublic)
def rotate_key(
    session: SessionDep,
    services: ServicesDep,
    staff: AdminDep,
    change: KeyRotation | None = None,
) -> SigningKeyPublic:
    """A new rider-token key, published to every station now, signing after the propagation
    delay."""
    propagation = timedelta(seconds=services.settings.key_propagation_s)
    return _rotate(session, services, propagation, ring.RIDER, staff.user.username, change)


@router.post(
    "/control/rotate", status_code=status.HTTP_201_CREATED, response_model=SigningKeyPublic
)
def rotate_control_key(
    session: SessionDep,
    services: ServicesDep,
    staff: AdminDep,
    change: KeyRotation | None = None,
) -> SigningKeyPublic:
    """A new control key: it signs at once beside the old one, which every station learns
    to replace through its (old-key-signed) config; the old key stops after the grace."""
    return _rotate(session, services, timedelta(0), ring.CONTROL, staff.user.username, change)


def _rotate(
    session: SessionDep,
    services: ServicesDep,
    propagation: timedelta,
    purpose: str,
    by: str,
    change: KeyRotation | None,
) -> SigningKeyPublic:
    """The new key stored, then every station told: the keys page carries both kinds."""
    record = ring.rotate(
        session,
        now=utcnow(),
        propagation=propagation,
        purpose=purpose,
        by=by,
        reason=change.reason if change else "",
    )
    bump_config_version(session)
    session.commit()
    services.keys.reload()
    services.publisher.publish_keys()
    return SigningKeyPublic.model_validate(record)
