"""Every code a door takes, one check for both: the server's short-lived token (``WS1:``,
``protocol.credential``) or a phone's own device code (``WSD1:``, ``protocol.device_cert``).
Either way a genuine code becomes the same ``Claims``. Pure."""

from __future__ import annotations

from collections.abc import Mapping

from protocol import device_cert
from protocol.credential import (
    DEFAULT_SKEW_S,
    MAX_LIFETIME_S,
    MAX_TOKEN_CHARS,
    PREFIX,
    Claims,
    Rejected,
    verify_token,
)
from protocol.reasons import Reason

MAX_CODE_CHARS = max(MAX_TOKEN_CHARS, device_cert.MAX_CODE_CHARS)
PREFIXES = (PREFIX, device_cert.PREFIX)


def is_ours(text: str) -> bool:
    """Whether the text claims to be one of our codes (its prefix, nothing checked)."""
    return text.startswith(PREFIXES)


def verify_code(
    text: str,
    *,
    keys: Mapping[str, bytes],
    audience: str,
    now: float,
    skew_s: float = DEFAULT_SKEW_S,
    max_lifetime_s: int = MAX_LIFETIME_S,
) -> Claims | Rejected:
    """A token's or a device code's claims, or why not. Never raises."""
    if len(text) > MAX_CODE_CHARS:
        return Rejected(Reason.TOO_LONG)
    if text.startswith(device_cert.PREFIX):
        return device_cert.verify_device_code(
            text,
            keys=keys,
            audience=audience,
            now=now,
            skew_s=skew_s,
            max_lifetime_s=max_lifetime_s,
        )
    return verify_token(
        text, keys=keys, audience=audience, now=now, skew_s=skew_s, max_lifetime_s=max_lifetime_s
    )
