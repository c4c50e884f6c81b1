"""A rider's new personal link, carried from the form that made it to the page that shows it
(post/redirect/get: reloading that page must not enrol anyone again).

The link's secret travels in the redirect's address, sealed (AES-GCM) under a key derived from
the staff member's session token, which the database holds only as a hash: the sealed text is
useless in a log, a browser history or a database copy, to anyone but the login that made it,
and only for ``HANDOUT_S``. The rider id is bound in, so a sealed link cannot be shown under
another rider's name.
"""

from __future__ import annotations

import base64
import binascii
import os
import struct

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

HANDOUT_S = 15 * 60
_INFO = b"ws-link-handout/1"
_STAMP = struct.Struct(">q")  # seconds since the epoch, when sealed
_NONCE_BYTES = 12


def _key(session_token: str) -> AESGCM:
    derived = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=_INFO).derive(
        session_token.encode()
    )
    return AESGCM(derived)


def seal(secret: str, *, rider_id: str, session_token: str, now: float) -> str:
    stamp = _STAMP.pack(int(now))
    nonce = os.urandom(_NONCE_BYTES)
    sealed = _key(session_token).encrypt(nonce, secret.encode(), stamp + rider_id.encode())
    return base64.urlsafe_b64encode(stamp + nonce + sealed).decode().rstrip("=")


def unseal(sealed: str, *, rider_id: str, session_token: str, now: float) -> str | None:
    """The secret, or None: not sealed by this login for this rider, tampered with, or older
    than ``HANDOUT_S``."""
    if not session_token or len(sealed) > 200:
        return None
    try:
        raw = base64.urlsafe_b64decode(sealed + "=" * (-len(sealed) % 4))
    except (binascii.Error, ValueError):
        return None
    if len(raw) <= _STAMP.size + _NONCE_BYTES:
        return None
    stamp, nonce = raw[: _STAMP.size], raw[_STAMP.size : _STAMP.size + _NONCE_BYTES]
    (sealed_at,) = _STAMP.unpack(stamp)
    if not 0 <= now - sealed_at <= HANDOUT_S:
        return None
    try:
        secret = _key(session_token).decrypt(
            nonce, raw[_STAMP.size + _NONCE_BYTES :], stamp + rider_id.encode()
        )
    except InvalidTag:
        return None
    return secret.decode()
