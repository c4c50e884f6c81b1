from __future__ import annotations

import base64
from dataclasses import replace

import base45
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from hypothesis import given, settings
from hypothesis import strategies as st

from protocol.credential import (
    MAX_TOKEN_CHARS,
    PREFIX,
    Claims,
    Rejected,
    b45decode,
    decode_claims,
    encode_claims,
    public_key_from_text,
    public_key_to_text,
    raw_public_key,
    sign_token,
    verify_token,
)
from protocol.reasons import Reason

KEY = Ed25519PrivateKey.generate()
KEYS = {"k1": raw_public_key(KEY)}
NOW = 1_800_000_000
CLAIMS = Claims("k1", "r-abcdefghjkmn", "ws-test", NOW, 60, b"\x01" * 16, 3)
ALNUM = set("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:")


def verify(token: str, now: float = NOW, audience: str = "ws-test") -> Claims | Rejected:
    return verify_token(token, keys=KEYS, audience=audience, now=now)


def test_valid_token_round_trips() -> None:
    token = sign_token(CLAIMS, KEY)
    assert verify(token) == CLAIMS


def test_token_stays_in_qr_alphanumeric_mode_and_small() -> None:
    token = sign_token(CLAIMS, KEY)
    assert set(token) <= ALNUM
    assert len(token) < 200


def test_claims_encoding_round_trips() -> None:
    assert decode_claims(encode_claims(CLAIMS)) == CLAIMS


def _resigned(claims: Claims) -> str:
    return sign_token(claims, KEY)


def _raw_token(raw: bytes) -> str:
    return PREFIX + base45.b45encode(raw).decode()


@pytest.mark.parametrize(
    ("token", "reason"),
    [
        ("https://example.com/", Reason.NOT_OUR_CODE),
        ("BEGIN:VCARD\nEND:VCARD", Reason.NOT_OUR_CODE),
        ("", Reason.NOT_OUR_CODE),
        (PREFIX + "A" * MAX_TOKEN_CHARS, Reason.TOO_LONG),
        (PREFIX + "a lower-case", Reason.BAD_ENCODING),
        (PREFIX + "::::", Reason.BAD_ENCODING),
        (_raw_token(b"\x01" * 10), Reason.MALFORMED),
        (_raw_token(b"\x09" + b"\x00" * 80), Reason.MALFORMED),
        (_resigned(replace(CLAIMS, kid="k9")), Reason.UNKNOWN_KEY),
        (sign_token(CLAIMS, Ed25519PrivateKey.generate()), Reason.BAD_SIGNATURE),
        (_resigned(replace(CLAIMS, lifetime_s=121)), Reason.LIFETIME_TOO_LONG),
        (_resigned(replace(CLAIMS, issued_at=NOW + 31)), Reason.NOT_YET_VALID),
        (_resigned(replace(CLAIMS, issued_at=NOW - 60 - 31)), Reason.EXPIRED),
        (_resigned(replace(CLAIMS, audience="elsewhere")), Reason.WRONG_AUDIENCE),
    ],
)
def test_each_bad_token_has_its_reason(token: str, reason: Reason) -> None:
    result = verify(token)
    assert isinstance(result, Rejected)
    assert result.reason is reason


def test_clock_skew_is_allowed_at_both_ends() -> None:
    assert isinstance(verify(_resigned(replace(CLAIMS, issued_at=NOW + 30))), Claims)
    assert isinstance(verify(_resigned(CLAIMS), now=NOW + 60 + 30), Claims)


def test_public_key_text_round_trips_and_rejects_garbage() -> None:
    text = public_key_to_text(raw_public_key(KEY))
    assert public_key_to_text(public_key_from_text(text)) == text
    for bad in ("not base64!", base64.b64encode(b"short").decode(), ""):
        with pytest.raises(ValueError, match="public key"):
            public_key_from_text(bad)


@settings(max_examples=300)
@given(st.text(max_size=600))
def test_any_text_gets_a_decision(text: str) -> None:
    assert isinstance(verify(text), Claims | Rejected)


@settings(max_examples=300)
@given(st.binary(max_size=300))
def test_any_prefixed_bytes_get_a_decision(raw: bytes) -> None:
    assert isinstance(verify(_raw_token(raw)), Rejected)


@given(
    rider=st.from_regex(r"[A-Za-z0-9_-]{1,40}", fullmatch=True),
    audience=st.from_regex(r"[a-z0-9-]{1,20}", fullmatch=True),
    lifetime=st.integers(1, 120),
    version=st.integers(0, 2**32 - 1),
    nonce=st.binary(min_size=16, max_size=16),
)
def test_every_valid_token_verifies(
    rider: str, audience: str, lifetime: int, version: int, nonce: bytes
) -> None:
    claims = Claims("k1", rider, audience, NOW, lifetime, nonce, version)
    assert verify(sign_token(claims, KEY), audience=audience) == claims


@settings(max_examples=200)
@given(st.data())
def test_every_single_bit_flip_is_rejected(data: st.DataObject) -> None:
    raw = bytearray(base45.b45decode(sign_token(CLAIMS, KEY)[len(PREFIX) :]))
    bit = data.draw(st.integers(0, len(raw) * 8 - 1))
    raw[bit // 8] ^= 1 << (bit % 8)
    assert isinstance(verify(_raw_token(bytes(raw))), Rejected)


@given(st.binary(max_size=200))
def test_base45_decoder_agrees_with_the_reference_package(data: bytes) -> None:
    assert b45decode(base45.b45encode(data).decode()) == data


@pytest.mark.parametrize("bad", ["a", "ÄÄ", "GGW", ":::", "A", "ZZZZ", "0\n0"])
def test_base45_decoder_refuses_invalid_text(bad: str) -> None:
    with pytest.raises(ValueError):  # noqa: PT011 (several messages, all ValueError)
        b45decode(bad)


def test_small_order_public_key_verifies_nothing() -> None:
    """An all-zero key (a small-order point) must not let a forged signature through."""
    token = sign_token(CLAIMS, KEY)
    assert verify_token(token, keys={"k1": bytes(32)}, audience="ws-test", now=NOW) == Rejected(
        Reason.BAD_SIGNATURE
    )
