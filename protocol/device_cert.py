"""Device codes: a rider's phone gets in without signal.

While online, the rider's page makes an ECDSA P-256 key pair with WebCrypto (the private half
non-extractable, kept in IndexedDB) and the server certifies its public key for a few hours: a
``DeviceCert``, signed by the server's rider-token key ring (Ed25519), so every station already
holds the key that checks it (the trust keys page). At the door with no network the page signs
a fresh presentation (its time and a random nonce) with the device key and shows certificate
and presentation together as one QR code. A station checks the chain with what it has, then
treats the result exactly as a server code: the same ``Claims`` (the presentation's time and
nonce, the certificate's rider, audience and credential version), so the same lifetime rules,
denylist and replay cache apply.

P-256 rather than Ed25519 for the device key: WebCrypto has Ed25519 only since Chromium 137,
Safari 17 and Firefox 129, and WeChat's in-app browser (an older Chromium) and older Android
WebViews have none; ECDSA P-256 is in every WebCrypto. The certificate stays Ed25519, signed
by keys the stations already pin.

Text form: ``WSD1:`` + Base45 of ``cert || cert signature || presentation || presentation
signature``, all in the QR alphanumeric set like ``WS1:`` codes.

Certificate, big-endian::

    u8  format version (1)
    u8  len, kid (ASCII)         the rider-token key that signed it
    u8  len, rider id (ASCII)
    u8  len, audience (ASCII)
    u32 not before (Unix seconds)
    u32 not after
    u16 presentation lifetime (seconds)
    u32 rider credential version
    33  device public key (P-256, compressed SEC1 point)

Certificate signature: Ed25519 (64 bytes) over ``WSD1:cert`` + certificate.
Presentation: u32 time (Unix seconds), 16-byte nonce.
Presentation signature: ECDSA P-256 with SHA-256, 64 bytes ``r || s`` (WebCrypto's form), over
``WSD1:pres`` + certificate + presentation, so a presentation belongs to one certificate.

Neither signed message can pass for a ``WS1:`` token's (which begins ``WS1:``). Pure: no I/O.
"""

from __future__ import annotations

import secrets
import struct
from collections.abc import Mapping
from dataclasses import dataclass

import base45
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.asymmetric.utils import (
    decode_dss_signature,
    encode_dss_signature,
)
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from protocol.credential import (
    DEFAULT_SKEW_S,
    MAX_LIFETIME_S,
    NONCE_BYTES,
    SIGNATURE_BYTES,
    Claims,
    Rejected,
    b45decode,
    check_claims,
)
from protocol.ed25519 import verify_detached
from protocol.reasons import Reason

PREFIX = "WSD1:"
FORMAT_VERSION = 1
CERT_DOMAIN = b"WSD1:cert"
PRESENTATION_DOMAIN = b"WSD1:pres"
DEVICE_KEY_BYTES = 33  # compressed P-256 point
ECDSA_SIGNATURE_BYTES = 64  # r || s
DEFAULT_CERT_LIFETIME_S = 12 * 3600
MAX_CERT_LIFETIME_S = 3 * 86_400  # a station refuses a certificate claiming longer
# A real code is about 340 characters (rider id and audience of 14 and 7); anything longer
# is refused unread.
MAX_CODE_CHARS = 480
_MAX_FIELD = 64
_CERT_TAIL = struct.Struct(">IIHI33s")  # not before, not after, lifetime, version, device key
_PRESENTATION = struct.Struct(">I16s")  # time, nonce
PRESENTATION_BYTES = _PRESENTATION.size
_CURVE = ec.SECP256R1()
_ORDER_BYTES = 32


@dataclass(frozen=True, slots=True)
class DeviceCert:
    kid: str
    rider_id: str
    audience: str
    not_before: int
    not_after: int
    presentation_lifetime_s: int
    credential_version: int
    device_key: bytes  # compressed SEC1 P-256 point, 33 bytes


@dataclass(frozen=True, slots=True)
class Presentation:
    presented_at: int
    nonce: bytes


# -- the device's public key ----------------------------------------------------------------


def device_key_from_bytes(raw: bytes) -> bytes:
    """The compressed form of a P-256 public key given as a SEC1 point (65 bytes uncompressed,
    as WebCrypto exports it, or 33 compressed). Raises ValueError for anything else, points
    off the curve included."""
    if len(raw) not in (DEVICE_KEY_BYTES, 65):
        raise ValueError("a P-256 public key is a 65-byte or 33-byte SEC1 point")
    try:
        key = ec.EllipticCurvePublicKey.from_encoded_point(_CURVE, raw)
    except ValueError as exc:
        raise ValueError("not a point on the P-256 curve") from exc
    return key.public_bytes(Encoding.X962, PublicFormat.CompressedPoint)


def _public_key(compressed: bytes) -> ec.EllipticCurvePublicKey:
    return ec.EllipticCurvePublicKey.from_encoded_point(_CURVE, compressed)


# -- certificate bytes ------------------------------------------------------------------------


def _ascii_field(value: str, name: str) -> bytes:
    raw = value.encode("ascii")
    if not 0 < len(raw) <= _MAX_FIELD:
        raise ValueError(f"{name} must be 1-{_MAX_FIELD} ASCII characters")
    return bytes([len(raw)]) + raw


def encode_cert(cert: DeviceCert) -> bytes:
    if len(cert.device_key) != DEVICE_KEY_BYTES:
        raise ValueError("the device key is a compressed P-256 point")
    if not 0 < cert.presentation_lifetime_s <= 0xFFFF or cert.not_after <= cert.not_before:
        raise ValueError("lifetime out of range")
    return (
        bytes([FORMAT_VERSION])
        + _ascii_field(cert.kid, "kid")
        + _ascii_field(cert.rider_id, "rider id")
        + _ascii_field(cert.audience, "audience")
        + _CERT_TAIL.pack(
            cert.not_before,
            cert.not_after,
            cert.presentation_lifetime_s,
            cert.credential_version,
            cert.device_key,
        )
    )


def _skip_field(data: bytes, offset: int) -> int:
    length = data[offset]
    end = offset + 1 + length
    if length == 0 or end > len(data):
        raise ValueError("field out of bounds")
    return end


def _cert_length(data: bytes) -> int:
    """Where the certificate at the start of ``data`` ends, from its length fields alone."""
    if not data or data[0] != FORMAT_VERSION:
        raise ValueError("unknown format version")
    offset = 1
    for _ in range(3):  # kid, rider id, audience
        offset = _skip_field(data, offset)
    end = offset + _CERT_TAIL.size
    if end > len(data):
        raise ValueError("certificate out of bounds")
    return end


def _read_field(data: bytes, offset: int) -> tuple[str, int]:
    end = _skip_field(data, offset)
    return data[offset + 1 : end].decode("ascii"), end


def decode_cert(data: bytes) -> DeviceCert:
    """Parse certificate bytes; raises ValueError (or UnicodeDecodeError) on any malformation."""
    if len(data) != _cert_length(data):
        raise ValueError("certificate has the wrong length")
    kid, offset = _read_field(data, 1)
    rider_id, offset = _read_field(data, offset)
    audience, offset = _read_field(data, offset)
    not_before, not_after, lifetime, version, device_key = _CERT_TAIL.unpack_from(data, offset)
    if lifetime == 0 or not_after <= not_before:
        raise ValueError("empty lifetime")
    if device_key[0] not in (2, 3):  # on the curve: checked when the key is used
        raise ValueError("device key is not a compressed point")
    return DeviceCert(kid, rider_id, audience, not_before, not_after, lifetime, version, device_key)


def sign_cert(cert: DeviceCert, private_key: Ed25519PrivateKey) -> bytes:
    """The certificate as the server hands it to the phone: its bytes and signature."""
    body = encode_cert(cert)
    return body + private_key.sign(CERT_DOMAIN + body)


# -- the phone's part (the rider page does this in JavaScript; here for tests and the bench) --


def new_nonce() -> bytes:
    return secrets.token_bytes(NONCE_BYTES)


def ecdsa_p1363(der_signature: bytes) -> bytes:
    """A DER ECDSA signature in WebCrypto's fixed form, ``r || s``."""
    r, s = decode_dss_signature(der_signature)
    return r.to_bytes(_ORDER_BYTES, "big") + s.to_bytes(_ORDER_BYTES, "big")


def present(
    signed_cert: bytes,
    device_key: ec.EllipticCurvePrivateKey,
    *,
    now: float,
    nonce: bytes | None = None,
) -> str:
    """A device code: the signed certificate and a fresh presentation signed by the device."""
    cert = signed_cert[:-SIGNATURE_BYTES]
    presentation = _PRESENTATION.pack(int(now), nonce or new_nonce())
    signature = device_key.sign(
        PRESENTATION_DOMAIN + cert + presentation, ec.ECDSA(hashes.SHA256())
    )
    raw = signed_cert + presentation + ecdsa_p1363(signature)
    encoded: bytes = base45.b45encode(raw)
    return PREFIX + encoded.decode("ascii")


# -- the station's (and the server's) check ---------------------------------------------------


def verify_device_code(
    text: str,
    *,
    keys: Mapping[str, bytes],
    audience: str,
    now: float,
    skew_s: float = DEFAULT_SKEW_S,
    max_lifetime_s: int = MAX_LIFETIME_S,
) -> Claims | Rejected:
    """The claims a device code stands for, or why not. Never raises.

    Order, cheapest and safest first: length cap, prefix, Base45, layout, key id, certificate
    signature, certificate contents, certificate lifetime cap and window, audience, then the
    presentation's signature (ECDSA, the dearest step, only for a genuine certificate that is
    valid now) and its time, as for any code.
    """
    if len(text) > MAX_CODE_CHARS:
        return Rejected(Reason.TOO_LONG)
    if not text.startswith(PREFIX):
        return Rejected(Reason.NOT_OUR_CODE)
    try:
        raw = b45decode(text[len(PREFIX) :])
    except ValueError:
        return Rejected(Reason.BAD_ENCODING)
    try:
        cert_end = _cert_length(raw)
        kid = raw[2 : 2 + raw[1]].decode("ascii")
    except (ValueError, IndexError):
        return Rejected(Reason.MALFORMED, "certificate")
    if len(raw) != cert_end + SIGNATURE_BYTES + PRESENTATION_BYTES + ECDSA_SIGNATURE_BYTES:
        return Rejected(Reason.MALFORMED, "length")
    key = keys.get(kid)
    if key is None:
        return Rejected(Reason.UNKNOWN_KEY, kid)
    body = raw[:cert_end]
    cert_signature = raw[cert_end : cert_end + SIGNATURE_BYTES]
    if not verify_detached(cert_signature, CERT_DOMAIN + body, key):
        return Rejected(Reason.BAD_SIGNATURE, "certificate")
    try:
        cert = decode_cert(body)
    except (ValueError, struct.error):
        return Rejected(Reason.MALFORMED, "certificate")
    refused = _check_cert(cert, audience=audience, now=now, skew_s=skew_s)
    if refused is not None:
        return refused
    start = cert_end + SIGNATURE_BYTES
    presentation = raw[start : start + PRESENTATION_BYTES]
    if not _presentation_signed(cert, body, presentation, raw[start + PRESENTATION_BYTES :]):
        return Rejected(Reason.BAD_SIGNATURE, "presentation")
    presented_at, nonce = _PRESENTATION.unpack(presentation)
    claims = Claims(
        kid=cert.kid,
        rider_id=cert.rider_id,
        audience=cert.audience,
        issued_at=presented_at,
        lifetime_s=cert.presentation_lifetime_s,
        nonce=nonce,
        credential_version=cert.credential_version,
    )
    return check_claims(
        claims, audience=audience, now=now, skew_s=skew_s, max_lifetime_s=max_lifetime_s
    )


def _check_cert(cert: DeviceCert, *, audience: str, now: float, skew_s: float) -> Rejected | None:
    if cert.not_after - cert.not_before > MAX_CERT_LIFETIME_S:
        return Rejected(Reason.LIFETIME_TOO_LONG, "certificate")
    if now < cert.not_before - skew_s:
        return Rejected(Reason.DEVICE_CERT_NOT_YET_VALID)
    if now > cert.not_after + skew_s:
        return Rejected(Reason.DEVICE_CERT_EXPIRED)
    if cert.audience != audience:
        return Rejected(Reason.WRONG_AUDIENCE)
    return None


def _presentation_signed(
    cert: DeviceCert, body: bytes, presentation: bytes, signature: bytes
) -> bool:
    r = int.from_bytes(signature[:_ORDER_BYTES], "big")
    s = int.from_bytes(signature[_ORDER_BYTES:], "big")
    if r == 0 or s == 0:
        return False
    try:
        _public_key(cert.device_key).verify(
            encode_dss_signature(r, s),
            PRESENTATION_DOMAIN + body + presentation,
            ec.ECDSA(hashes.SHA256()),
        )
    except (InvalidSignature, ValueError):
        return False
    return True
