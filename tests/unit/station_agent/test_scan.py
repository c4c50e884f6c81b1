"""The station's own check of a scanned code: form, signature, view, denylist, repeats."""

from __future__ import annotations

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from protocol.credential import Claims, Rejected, raw_public_key, sign_token
from protocol.reasons import Reason
from station_agent.core.scan import RecentScans, StationView, check_scan

KEY = Ed25519PrivateKey.generate()


NOW = 1_800_000_000


CLAIMS = Claims("k1", "r-1", "ws-test", NOW, 60, b"\x02" * 16, 1)


VIEW = StationView("station-01", "ws-test", {"k1": raw_public_key(KEY)}, config_version=1)


def test_station_checks_form_before_it_has_keys() -> None:
    assert check_scan("https://x", None, NOW) == Rejected(Reason.NOT_OUR_CODE)
    assert check_scan("WS1:" + "A" * 500, None, NOW) == Rejected(Reason.TOO_LONG)
    assert check_scan(sign_token(CLAIMS, KEY), None, NOW) == Rejected(Reason.NOT_CONFIGURED)


def test_station_verifies_with_its_view() -> None:
    assert check_scan(sign_token(CLAIMS, KEY), VIEW, NOW) == CLAIMS


def test_recent_scans_suppress_repeats_within_cooldown() -> None:
    recent = RecentScans.empty().record("a", 0, 3)
    assert recent.is_repeat("a", 2.9, 3)
    assert not recent.is_repeat("a", 3.0, 3)
    assert not recent.is_repeat("b", 1, 3)
    assert "a" not in recent.record("b", 10, 3).seen_at  # old entries are forgotten


def test_denylisted_versions_are_refused_at_the_station() -> None:
    token = sign_token(CLAIMS, KEY)  # credential version 1
    revoked = StationView(
        "station-01", "ws-test", {"k1": raw_public_key(KEY)}, 2, denylist={"r-1": 2}
    )
    assert check_scan(token, revoked, NOW) == Rejected(Reason.REVOKED)
    renewed = StationView(
        "station-01", "ws-test", {"k1": raw_public_key(KEY)}, 2, denylist={"r-1": 1}
    )
    assert check_scan(token, renewed, NOW) == CLAIMS
