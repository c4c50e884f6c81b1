"""The signing key ring: rotation with overlap, no signer before activation."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from server.keys.ring import RETIRED_KEY_GRACE, KeyEntry, KeyRing, NoSigningKeyError

T0 = datetime(2026, 11, 29, 8, 0, tzinfo=UTC)


MINUTE = timedelta(minutes=1)


def _entry(kid: str, activates: datetime, retires: datetime | None = None) -> KeyEntry:
    return KeyEntry(kid, Ed25519PrivateKey.generate(), activates, retires)


def test_rotation_timeline() -> None:
    """Published before it signs; the old key signs until then and stays published in grace."""
    ring = KeyRing((_entry("old", T0, T0 + MINUTE), _entry("new", T0 + MINUTE)))
    assert ring.signer(T0 + MINUTE / 2).kid == "old"
    assert set(ring.published(T0 + MINUTE / 2)) == {"old", "new"}
    assert ring.signer(T0 + MINUTE).kid == "new"
    assert set(ring.published(T0 + MINUTE + RETIRED_KEY_GRACE - timedelta(seconds=1))) == {
        "old",
        "new",
    }
    assert set(ring.published(T0 + MINUTE + RETIRED_KEY_GRACE)) == {"new"}


def test_no_signer_before_the_first_activation() -> None:
    with pytest.raises(NoSigningKeyError):
        KeyRing((_entry("future", T0 + MINUTE),)).signer(T0)
