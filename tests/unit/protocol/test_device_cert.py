"""Device codes (protocol/device_cert.py): a certificate the server signed for the phone's own
P-256 key, and a presentation the phone signs at the door. Every way one can be wrong is
refused with its own reason; a genuine one becomes the same Claims as a server token."""

from __future__ import annotations

from dataclasses import replace

import base45
import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from hypothesis import given, settings
from hypothesis import strategies as st

from protocol.codes import is_ours, verify_code
from protocol.credential import Claims, Rejected, raw_public_key, sign_token
from protocol.device_cert import (
    MAX_CERT_LIFETIME_S,
    MAX_CODE_CHARS,
    PREFIX,
    PRESENTATION_DOMAIN,
    DeviceCert,
    decode_cert,
    device_key_from_bytes,
    ecdsa_p1363,
    encode_cert,
    present,
    sign_cert,
    verify_device_code,
)
from protocol.reasons import Reason

KEY = Ed25519PrivateKey.generate()  # the server's rider-token key
KEYS = {"k1": raw_public_key(KEY)}
PHONE = ec.generate_private_key(ec.SECP256R1())
NOW = 1_800_000_000
NONCE = b"\x07" * 16
ALNUM = set("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:")


def _compressed(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.public_key().public_bytes(Encoding.X962, PublicFormat.CompressedPoint)


CERT = DeviceCert(
    kid="k1",
    rider_id="r-abcdefghjkmn",
    audience="ws-test",
    not_before=NOW - 3600,
    not_after=NOW + 11 * 3600,
    presentation_lifetime_s=60,
    credential_version=3,
    device_key=_compressed(PHONE),
)


def code(
    cert: DeviceCert = CERT,
    *,
    at: int = NOW,
    phone: ec.EllipticCurvePrivateKey = PHONE,
    server: Ed25519PrivateKey = KEY,
) -> str:
    return present(sign_cert(cert, server), phone, now=at, nonce=NONCE)


def verify(text: str, now: float = NOW) -> Claims | Rejected:
    return verify_device_code(text, keys=KEYS, audience="ws-test", now=now)


def _raw(text: str) -> bytearray:
    return bytearray(base45.b45decode(text[len(PREFIX) :]))


def _text(raw: bytes) -> str:
    return PREFIX + base45.b45encode(bytes(raw)).decode()


def test_a_genuine_device_code_stands_for_the_riders_claims() -> None:
    assert verify(code(at=NOW - 5)) == Claims(
        kid="k1",
        rider_id="r-abcdefghjkmn",
        audience="ws-test",
        issued_at=NOW - 5,  # the presentation's time
        lifetime_s=60,  # the certificate's presentation lifetime
        nonce=NONCE,  # the presentation's nonce: the replay cache keys on it
        credential_version=3,  # the certificate's: the denylist compares it
    )


def test_the_code_stays_in_qr_alphanumeric_mode_and_under_its_cap() -> None:
    text = code()
    assert set(text) <= ALNUM
    assert len(text) < MAX_CODE_CHARS
    assert is_ours(text)


def test_verify_code_takes_both_kinds_of_code() -> None:
    token = sign_token(Claims("k1", "r-x", "ws-test", NOW, 60, NONCE, 1), KEY)
    for text in (token, code()):
        assert isinstance(verify_code(text, keys=KEYS, audience="ws-test", now=NOW), Claims)
    too_long = verify_code("A" * (MAX_CODE_CHARS + 1), keys=KEYS, audience="ws-test", now=NOW)
    assert too_long == Rejected(Reason.TOO_LONG)


def test_certificate_bytes_round_trip() -> None:
    assert decode_cert(encode_cert(CERT)) == CERT


def test_webcrypto_export_is_accepted_and_compressed() -> None:
    uncompressed = PHONE.public_key().public_bytes(Encoding.X962, PublicFormat.UncompressedPoint)
    assert len(uncompressed) == 65
    assert device_key_from_bytes(uncompressed) == CERT.device_key
    assert device_key_from_bytes(CERT.device_key) == CERT.device_key


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        (b"", "65-byte or 33-byte"),
        (b"\x04" + b"\x01" * 63, "65-byte or 33-byte"),
        (b"\x04" + b"\x01" * 64, "not a point on the P-256 curve"),
        (b"\x02" + b"\xff" * 32, "not a point on the P-256 curve"),
        (b"\x05" + b"\x01" * 32, "not a point on the P-256 curve"),
    ],
)
def test_a_device_key_that_is_no_p256_point_is_refused(raw: bytes, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        device_key_from_bytes(raw)


def _presentation_for_another_certificate() -> str:
    """A genuine presentation lifted onto another genuine certificate for the same phone."""
    other = replace(CERT, credential_version=4)
    raw = _raw(code())
    cut = len(encode_cert(CERT)) + 64
    return _text(sign_cert(other, KEY) + raw[cut:])


def _zero_signature() -> str:
    raw = _raw(code())
    raw[-64:] = bytes(64)
    return _text(raw)


def _signed_by_a_stranger() -> str:
    """A presentation signed over the right bytes by a key that is not the certified one."""
    stranger = ec.generate_private_key(ec.SECP256R1())
    raw = _raw(code())
    body = raw[: len(encode_cert(CERT))]
    presentation = raw[-84:-64]
    der = stranger.sign(PRESENTATION_DOMAIN + body + presentation, ec.ECDSA(hashes.SHA256()))
    return _text(raw[:-64] + ecdsa_p1363(der))


@pytest.mark.parametrize(
    ("text", "reason", "detail"),
    [
        ("https://example.com/", Reason.NOT_OUR_CODE, ""),
        (PREFIX + "A" * MAX_CODE_CHARS, Reason.TOO_LONG, ""),
        (PREFIX + "lower case", Reason.BAD_ENCODING, ""),
        (_text(b"\x01\x05k1"), Reason.MALFORMED, "certificate"),
        (_text(b"\x02" + bytes(200)), Reason.MALFORMED, "certificate"),
        (code()[:-3], Reason.MALFORMED, "length"),  # the end cut off
        (_text(_raw(code()) + b"\x00"), Reason.MALFORMED, "length"),
        (code(replace(CERT, kid="k9")), Reason.UNKNOWN_KEY, "k9"),
        (code(server=Ed25519PrivateKey.generate()), Reason.BAD_SIGNATURE, "certificate"),
        (code(phone=ec.generate_private_key(ec.SECP256R1())), Reason.BAD_SIGNATURE, "presentation"),
        (_signed_by_a_stranger(), Reason.BAD_SIGNATURE, "presentation"),
        (_presentation_for_another_certificate(), Reason.BAD_SIGNATURE, "presentation"),
        (_zero_signature(), Reason.BAD_SIGNATURE, "presentation"),
        (
            code(replace(CERT, device_key=b"\x02" + b"\xff" * 32)),
            Reason.BAD_SIGNATURE,
            "presentation",
        ),
        (code(replace(CERT, not_after=NOW - 31)), Reason.DEVICE_CERT_EXPIRED, ""),
        (code(replace(CERT, not_before=NOW + 31)), Reason.DEVICE_CERT_NOT_YET_VALID, ""),
        (
            code(replace(CERT, not_after=CERT.not_before + MAX_CERT_LIFETIME_S + 1)),
            Reason.LIFETIME_TOO_LONG,
            "certificate",
        ),
        (code(replace(CERT, audience="elsewhere")), Reason.WRONG_AUDIENCE, ""),
        (code(at=NOW - 60 - 31), Reason.EXPIRED, ""),  # the presentation is too old
        (code(at=NOW + 31), Reason.NOT_YET_VALID, ""),  # ... or from the future
        (code(replace(CERT, presentation_lifetime_s=121)), Reason.LIFETIME_TOO_LONG, ""),
    ],
)
def test_each_bad_device_code_has_its_reason(text: str, reason: Reason, detail: str) -> None:
    assert verify(text) == Rejected(reason, detail)


def test_clock_skew_is_allowed_for_the_certificate_and_the_presentation() -> None:
    assert isinstance(verify(code(replace(CERT, not_before=NOW + 30))), Claims)
    assert isinstance(verify(code(replace(CERT, not_after=NOW - 30))), Claims)
    assert isinstance(verify(code(at=NOW + 30)), Claims)
    assert isinstance(verify(code(at=NOW - 90)), Claims)


def test_a_certificate_without_lifetime_cannot_be_made() -> None:
    for bad in (
        replace(CERT, not_after=CERT.not_before),
        replace(CERT, presentation_lifetime_s=0),
        replace(CERT, device_key=b"\x02"),
        replace(CERT, rider_id=""),
    ):
        with pytest.raises(ValueError):  # noqa: PT011 (each names its own field)
            encode_cert(bad)


@settings(max_examples=200)
@given(st.data())
def test_every_single_bit_flip_is_rejected(data: st.DataObject) -> None:
    raw = _raw(code())
    bit = data.draw(st.integers(0, len(raw) * 8 - 1))
    raw[bit // 8] ^= 1 << (bit % 8)
    assert isinstance(verify(_text(raw)), Rejected)


@settings(max_examples=300)
@given(st.binary(max_size=400))
def test_any_prefixed_bytes_are_refused_without_raising(raw: bytes) -> None:
    assert isinstance(verify(_text(raw)), Rejected)


@settings(max_examples=200)
@given(st.text(max_size=600))
def test_any_text_gets_a_decision(text: str) -> None:
    assert isinstance(verify(PREFIX + text), Claims | Rejected)
