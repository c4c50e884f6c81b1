"""The rider credential: a short-lived Ed25519-signed token shown as a QR code.

Text form: ``WS1:`` followed by Base45 of ``claims || signature``. Every character is in the QR
alphanumeric set, so the code stays small and no decoder has to guess a byte-mode charset.

Claims, big-endian::

    u8  format version (1)
    u8  len, kid (ASCII)
    u8  len, rider id (ASCII)
    u8  len, audience (ASCII)
    u32 issued at (Unix seconds)
    u16 lifetime (seconds)
    16  nonce
    u32 rider credential version

The signature covers ``WS1:`` and the claims bytes, so a claims block cannot be moved into
another format. Verification runs cheapest and safest first and returns a rejection as a value.
"""

from __future__ import annotations

import base64
import binascii
import secrets
import struct
from collections.abc import Mapping
from dataclasses import dataclass

import base45
import numpy as np
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from protocol.ed25519 import verify_detached
from protocol.reasons import Reason

PREFIX = "WS1:"
_PREFIX_BYTES = PREFIX.encode()
FORMAT_VERSION = 1
SIGNATURE_BYTES = 64
NONCE_BYTES = 16
MAX_TOKEN_CHARS = 400  # a real token is about 170 characters; anything longer is refused unread
MAX_LIFETIME_S = 120
DEFAULT_LIFETIME_S = 60
DEFAULT_SKEW_S = 30
_MAX_FIELD = 64
_TAIL = struct.Struct(">IH16sI")  # issued_at, lifetime, nonce, credential version


@dataclass(frozen=True, slots=True)
class Claims:
    kid: str
    rider_id: str
    audience: str
    issued_at: int
    lifetime_s: int
    nonce: bytes
    credential_version: int

    @property
    def expires_at(self) -> int:
        return self.issued_at + self.lifetime_s


@dataclass(frozen=True, slots=True)
class Rejected:
    reason: Reason
    detail: str = ""


# kid -> raw 32-byte Ed25519 public key
KeySet = Mapping[str, bytes]
PUBLIC_KEY_BYTES = 32

_BASE45_ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:"
_BASE45_VALUES = bytearray([0xFF] * 256)
for _value, _char in enumerate(_BASE45_ALPHABET):
    _BASE45_VALUES[ord(_char)] = _value
_BASE45_TABLE = bytes(_BASE45_VALUES)
_BASE45_WEIGHTS = np.array([1, 45, 45 * 45], dtype=np.uint32)


def b45decode(text: str) -> bytes:
    """Base45 (RFC 9285) decoding, vectorised: about 4x the pure-Python ``base45`` package on
    the verifier's hot path (docs/benchmarks.md). Raises ValueError on any invalid input."""
    try:
        values = text.encode("ascii").translate(_BASE45_TABLE)
    except UnicodeEncodeError as exc:
        raise ValueError("not ASCII") from exc
    tail = len(values) % 3
    if 0xFF in values or tail == 1:
        raise ValueError("not Base45")
    full = len(values) - tail
    groups = np.frombuffer(values, dtype=np.uint8, count=full).reshape(-1, 3)
    numbers = groups.astype(np.uint32) @ _BASE45_WEIGHTS
    if numbers.size and int(numbers.max()) > 0xFFFF:
        raise ValueError("Base45 group out of range")
    out = numbers.astype(">u2").tobytes()
    if tail == 2:
        last = values[full] + values[full + 1] * 45
        if last > 0xFF:
            raise ValueError("Base45 group out of range")
        out += bytes([last])
    return out


def raw_public_key(private_key: Ed25519PrivateKey) -> bytes:
    return private_key.public_key().public_bytes(
        serialization.Encoding.Raw, serialization.PublicFormat.Raw
    )


def _ascii_field(value: str, name: str) -> bytes:
    raw = value.encode("ascii")
    if not 0 < len(raw) <= _MAX_FIELD:
        raise ValueError(f"{name} must be 1-{_MAX_FIELD} ASCII characters")
    return bytes([len(raw)]) + raw


def encode_claims(claims: Claims) -> bytes:
    if not 0 < claims.lifetime_s <= 0xFFFF or len(claims.nonce) != NONCE_BYTES:
        raise ValueError("lifetime or nonce out of range")
    return (
        bytes([FORMAT_VERSION])
        + _ascii_field(claims.kid, "kid")
        + _ascii_field(claims.rider_id, "rider id")
        + _ascii_field(claims.audience, "audience")
        + _TAIL.pack(claims.issued_at, claims.lifetime_s, claims.nonce, claims.credential_version)
    )


def _read_field(data: bytes, offset: int) -> tuple[str, int]:
    length = data[offset]
    end = offset + 1 + length
    if length == 0 or end > len(data):
        raise ValueError("field out of bounds")
    return data[offset + 1 : end].decode("ascii"), end


def decode_claims(data: bytes) -> Claims:
    """Parse a claims block; raises ValueError (or UnicodeDecodeError) on any malformation."""
    if not data or data[0] != FORMAT_VERSION:
        raise ValueError("unknown format version")
    kid, offset = _read_field(data, 1)
    rider_id, offset = _read_field(data, offset)
    audience, offset = _read_field(data, offset)
    if len(data) - offset != _TAIL.size:
        raise ValueError("claims have the wrong length")
    issued_at, lifetime, nonce, version = _TAIL.unpack_from(data, offset)
    if lifetime == 0:
        raise ValueError("zero lifetime")
    return Claims(kid, rider_id, audience, issued_at, lifetime, nonce, version)


def new_nonce() -> bytes:
    return secrets.token_bytes(NONCE_BYTES)


def sign_token(claims: Claims, private_key: Ed25519PrivateKey) -> str:
    body = encode_claims(claims)
    signature = private_key.sign(PREFIX.encode() + body)
    encoded: bytes = base45.b45encode(body + signature)
    return PREFIX + encoded.decode("ascii")


def _peek_kid(body: bytes) -> str:
    if not body or body[0] != FORMAT_VERSION:
        raise ValueError("unknown format version")
    kid, _ = _read_field(body, 1)
    return kid


def verify_token(
    text: str,
    *,
    keys: KeySet,
    audience: str,
    now: float,
    skew_s: float = DEFAULT_SKEW_S,
    max_lifetime_s: int = MAX_LIFETIME_S,
) -> Claims | Rejected:
    """Check a token's form, signature, time window and audience. Never raises."""
    if len(text) > MAX_TOKEN_CHARS:
        return Rejected(Reason.TOO_LONG)
    if not text.startswith(PREFIX):
        return Rejected(Reason.NOT_OUR_CODE)
    try:
        raw = b45decode(text[len(PREFIX) :])
    except ValueError:
        return Rejected(Reason.BAD_ENCODING)
    if len(raw) <= SIGNATURE_BYTES:
        return Rejected(Reason.MALFORMED, "too short")
    body, signature = raw[:-SIGNATURE_BYTES], raw[-SIGNATURE_BYTES:]
    try:
        kid = _peek_kid(body)
    except (ValueError, IndexError):
        return Rejected(Reason.MALFORMED, "no key id")
    key = keys.get(kid)
    if key is None:
        return Rejected(Reason.UNKNOWN_KEY, kid)
    # libsodium: about twice OpenSSL's Ed25519 verification speed here.
    if not verify_detached(signature, _PREFIX_BYTES + body, key):
        return Rejected(Reason.BAD_SIGNATURE)
    try:
        claims = decode_claims(body)
    except (ValueError, IndexError, struct.error):
        return Rejected(Reason.MALFORMED, "claims")
    return check_claims(
        claims, audience=audience, now=now, skew_s=skew_s, max_lifetime_s=max_lifetime_s
    )


def check_claims(
    claims: Claims, *, audience: str, now: float, skew_s: float, max_lifetime_s: int
) -> Claims | Rejected:
    if claims.lifetime_s > max_lifetime_s:
        return Rejected(Reason.LIFETIME_TOO_LONG)
    if now < claims.issued_at - skew_s:
        return Rejected(Reason.NOT_YET_VALID)
    if now > claims.expires_at + skew_s:
        return Rejected(Reason.EXPIRED)
    if claims.audience != audience:
        return Rejected(Reason.WRONG_AUDIENCE)
    return claims


def public_key_to_text(key: bytes) -> str:
    return base64.b64encode(key).decode("ascii")


def public_key_from_text(text: str) -> bytes:
    """Raises ValueError for anything that is not a 32-byte base64 Ed25519 key."""
    try:
        raw = base64.b64decode(text, validate=True)
    except binascii.Error as exc:
        raise ValueError("public key is not base64") from exc
    if len(raw) != PUBLIC_KEY_BYTES:
        raise ValueError(f"public key must be {PUBLIC_KEY_BYTES} bytes")
    return raw
