"""Message signatures: what they bind (payload, family, station), rotation with several
signatures, and garbage in the signature property never raising."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from protocol.signing import (
    MAX_SIGNATURES,
    SIGNATURE_PROPERTY,
    SignatureCheck,
    SigningKey,
    sign,
    sign_trust,
    verify,
    verify_trust,
)
from protocol.topics import Family, TrustTopic

OLD, NEW, STRANGER = SigningKey.generate(), SigningKey.generate(), SigningKey.generate()
KEYS = {OLD.kid: OLD.public_key}
PAYLOAD = b'{"v":1,"station_id":"station-01"}'


def _check(props: tuple[tuple[str, str], ...], **changes: object) -> SignatureCheck:
    args: dict[str, object] = {
        "keys": KEYS,
        "family": Family.COMMANDS,
        "station_id": "station-01",
        "payload": PAYLOAD,
    }
    args.update(changes)
    return verify(props, **args)  # type: ignore[arg-type]


def test_a_signature_binds_payload_family_and_station() -> None:
    props = sign([OLD], Family.COMMANDS, "station-01", PAYLOAD)
    assert _check(props) is SignatureCheck.OK
    assert _check(props, payload=PAYLOAD + b" ") is SignatureCheck.BAD_SIGNATURE
    assert _check(props, family=Family.CONFIG) is SignatureCheck.BAD_SIGNATURE
    assert _check(props, station_id="station-02") is SignatureCheck.BAD_SIGNATURE


def test_unsigned_unknown_and_malformed_are_told_apart() -> None:
    assert _check(()) is SignatureCheck.UNSIGNED
    assert _check((("other", "x"),)) is SignatureCheck.UNSIGNED
    assert _check(sign([STRANGER], Family.COMMANDS, "station-01", PAYLOAD)) is (
        SignatureCheck.UNKNOWN_KEY
    )
    assert _check(((SIGNATURE_PROPERTY, f"{OLD.kid}.!!!"),)) is SignatureCheck.MALFORMED
    too_many = sign([OLD], Family.COMMANDS, "station-01", PAYLOAD) * (MAX_SIGNATURES + 1)
    assert _check(too_many) is SignatureCheck.MALFORMED


def test_during_a_rotation_either_pinned_key_is_enough() -> None:
    both = sign([OLD, NEW], Family.COMMANDS, "station-01", PAYLOAD)
    assert _check(both) is SignatureCheck.OK  # a station that pins only the old key
    assert _check(both, keys={NEW.kid: NEW.public_key}) is SignatureCheck.OK
    forged_first = sign([STRANGER], Family.COMMANDS, "station-01", PAYLOAD) + both
    assert _check(forged_first) is SignatureCheck.OK


def test_keys_round_trip_as_text() -> None:
    again = SigningKey.from_text(OLD.to_text())
    assert (again.kid, again.public_key) == (OLD.kid, OLD.public_key)
    assert "seed" not in repr(OLD) or OLD.to_text() not in repr(OLD)


@given(
    st.lists(st.tuples(st.sampled_from([SIGNATURE_PROPERTY, "x"]), st.text(max_size=120))),
    st.binary(max_size=200),
)
def test_garbage_never_raises_and_never_verifies(
    props: list[tuple[str, str]], payload: bytes
) -> None:
    assert _check(tuple(props), payload=payload) is not SignatureCheck.OK


def test_a_trust_page_signature_binds_its_page_and_cannot_pass_for_a_station_message() -> None:
    key = SigningKey.generate()
    keys = {key.kid: key.public_key}
    payload = b'{"bucket":3}'
    signed = sign_trust([key], TrustTopic(3), payload)
    assert verify_trust(signed, keys=keys, page=TrustTopic(3), payload=payload) is SignatureCheck.OK
    assert (
        verify_trust(signed, keys=keys, page=TrustTopic(4), payload=payload)
        is SignatureCheck.BAD_SIGNATURE
    )
    assert (
        verify_trust(signed, keys=keys, page=TrustTopic(None), payload=payload)
        is SignatureCheck.BAD_SIGNATURE
    )
    as_station = verify(
        signed, keys=keys, family=Family.CONFIG, station_id="station-01", payload=payload
    )
    assert as_station is SignatureCheck.BAD_SIGNATURE
