"""The rules that keep a device certificate's promises: a rotated-out rider key stays published
as long as a certificate it signed lives, and the denylist outlives every certificate."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from pydantic import ValidationError

from protocol.credential import DEFAULT_SKEW_S, MAX_LIFETIME_S
from server.core.settings import ServerSettings
from server.keys.ring import KeyEntry, KeyRing, rider_key_grace

T0 = datetime(2026, 11, 29, 8, 0, tzinfo=UTC)
HOURS_12 = 12 * 3600


def test_a_retired_rider_key_stays_published_while_its_certificates_live() -> None:
    retired_at = T0 + timedelta(minutes=1)
    old = KeyEntry("old", Ed25519PrivateKey.generate(), T0, retired_at)
    new = KeyEntry("new", Ed25519PrivateKey.generate(), retired_at, None)
    ring = KeyRing((old, new), rider_key_grace(HOURS_12))
    # A certificate signed just before retirement lives 12 h from then (plus the clock skew).
    last_valid = retired_at + timedelta(seconds=HOURS_12 + DEFAULT_SKEW_S - 1)
    assert set(ring.published(last_valid)) == {"old", "new"}
    assert set(ring.published(last_valid + timedelta(seconds=1))) == {"new"}


def test_without_device_certificates_the_grace_is_a_tokens_life() -> None:
    assert rider_key_grace(0) == timedelta(seconds=MAX_LIFETIME_S + DEFAULT_SKEW_S)


def test_the_denylist_must_outlive_a_device_certificate() -> None:
    with pytest.raises(ValidationError, match="denylist_retention_s must cover"):
        ServerSettings(
            demo_mode=True, denylist_retention_s=HOURS_12, device_cert_lifetime_s=HOURS_12
        )
    settings = ServerSettings(demo_mode=True, device_cert_lifetime_s=HOURS_12)
    assert settings.denylist_retention_s >= HOURS_12 + DEFAULT_SKEW_S


@pytest.mark.parametrize("lifetime", [599, 3 * 86_400 + 1])
def test_a_device_certificate_lifetime_out_of_range_is_refused(lifetime: int) -> None:
    with pytest.raises(ValidationError, match="device_cert_lifetime_s"):
        ServerSettings(demo_mode=True, device_cert_lifetime_s=lifetime)
