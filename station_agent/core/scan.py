"""What the station concludes from a scanned text on its own, before asking the server."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from protocol.codes import MAX_CODE_CHARS, is_ours, verify_code
from protocol.credential import DEFAULT_SKEW_S, Claims, Rejected
from protocol.reasons import Reason


@dataclass(frozen=True, slots=True)
class StationView:
    """What the station knows from its last configuration."""

    station_id: str
    audience: str
    keys: Mapping[str, bytes]  # kid -> raw Ed25519 public key
    config_version: int
    issued_at: float = 0.0  # server time the config was (re)published
    denylist: Mapping[str, int] = field(default_factory=dict)
    skew_s: float = DEFAULT_SKEW_S


def check_scan(text: str, view: StationView | None, now: float) -> Claims | Rejected:
    """Claims of a genuine, unrevoked credential for this station, or why not. Never raises.

    A server token (``WS1:``) or a phone's device code (``WSD1:``, checked offline against its
    certificate: ``protocol.device_cert``). Order, cheapest and safest first: length, prefix,
    (configured), encoding, key id, signature(s), claims, lifetime, time window, audience,
    denylist. The replay cache comes after, in the service, as it needs storage.
    """
    if len(text) > MAX_CODE_CHARS:
        return Rejected(Reason.TOO_LONG)
    if not is_ours(text):
        return Rejected(Reason.NOT_OUR_CODE)
    if view is None:
        return Rejected(Reason.NOT_CONFIGURED)
    verdict = verify_code(text, keys=view.keys, audience=view.audience, now=now, skew_s=view.skew_s)
    if isinstance(verdict, Claims):
        return check_denylist(verdict, view.denylist)
    return verdict


def check_denylist(claims: Claims, denylist: Mapping[str, int]) -> Claims | Rejected:
    lowest_valid = denylist.get(claims.rider_id)
    if lowest_valid is not None and claims.credential_version < lowest_valid:
        return Rejected(Reason.REVOKED)
    return claims


@dataclass(frozen=True, slots=True)
class RecentScans:
    """Texts seen lately: a code held in front of the camera is read in many frames."""

    seen_at: Mapping[str, float]

    @staticmethod
    def empty() -> RecentScans:
        return RecentScans({})

    def is_repeat(self, text: str, now: float, cooldown_s: float) -> bool:
        last = self.seen_at.get(text)
        return last is not None and now - last < cooldown_s

    def record(self, text: str, now: float, cooldown_s: float) -> RecentScans:
        kept = {t: at for t, at in self.seen_at.items() if now - at < cooldown_s}
        kept[text] = now
        return RecentScans(kept)
