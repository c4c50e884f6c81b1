"""The trust pages the server publishes once for every station (retained, signed with the
control keys): the keys page (rider-token keys, audience, control keys) and one denylist page
per bucket (``protocol.trust``). Their version is the config version, read *before* their
content, so a page never claims to be newer than what it holds."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlmodel import Session

from protocol.credential import public_key_to_text
from protocol.payloads import MAX_DENYLIST_PAGE, DenylistPage, TrustKeys
from protocol.topics import DENYLIST_BUCKETS
from protocol.trust import denylist_page
from server.core.settings import ServerSettings
from server.keys.ring import ControlKeys, KeyRing
from server.riders.repo import denylist_bucket, denylist_by_bucket
from server.stations.repo import config_version


def keys_page(
    session: Session,
    *,
    ring: KeyRing,
    control: ControlKeys,
    settings: ServerSettings,
    now: datetime,
) -> TrustKeys:
    return TrustKeys(
        version=config_version(session),
        issued_at=now,
        audience=settings.audience,
        keys={kid: public_key_to_text(key) for kid, key in ring.published(now).items()},
        control_keys={kid: public_key_to_text(key) for kid, key in control.published(now).items()},
        hotline=settings.hotline or None,
    )


def bucket_page(
    session: Session, *, bucket: int, settings: ServerSettings, now: datetime
) -> DenylistPage:
    """One bucket's page: one indexed query of at most ``MAX_DENYLIST_PAGE`` rows."""
    version = config_version(session)
    entries = denylist_bucket(
        session, bucket=bucket, since=_since(settings, now), limit=MAX_DENYLIST_PAGE
    )
    return denylist_page(bucket, entries, version=version, issued_at=now)


def all_bucket_pages(
    session: Session, *, settings: ServerSettings, now: datetime
) -> list[DenylistPage]:
    """Every bucket's page (empty ones too: a station is fresh only with all of them)."""
    version = config_version(session)
    entries = denylist_by_bucket(session, since=_since(settings, now))
    return [
        denylist_page(bucket, entries.get(bucket, ()), version=version, issued_at=now)
        for bucket in range(DENYLIST_BUCKETS)
    ]


def _since(settings: ServerSettings, now: datetime) -> datetime:
    return now - timedelta(seconds=settings.denylist_retention_s)
