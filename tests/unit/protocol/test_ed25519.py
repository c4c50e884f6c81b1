"""Ed25519 checks with the GIL released: the same answers as PyNaCl's binding on good, tampered
and ill-sized input, by both paths (ctypes and the fallback), and the ctypes path really in use
where PyNaCl's libsodium exports its symbols (Linux wheels: the server and the station box)."""

from __future__ import annotations

import ctypes
import sys

import nacl.bindings
import nacl.exceptions
import pytest
from hypothesis import given
from hypothesis import strategies as st

from protocol import ed25519
from protocol.ed25519 import verify_detached
from protocol.signing import SigningKey

KEY, OTHER = SigningKey.generate(), SigningKey.generate()


@pytest.fixture(params=["released", "fallback"])
def path(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    if request.param == "fallback":
        monkeypatch.setattr(ed25519, "_VERIFY", None)
    return str(request.param)


def _pynacl(signature: bytes, message: bytes, key: bytes) -> bool:
    try:
        nacl.bindings.crypto_sign_open(signature + message, key)
    except (nacl.exceptions.BadSignatureError, nacl.exceptions.ValueError):
        return False
    return True


def test_a_good_signature_verifies_and_any_change_fails(path: str) -> None:
    message = b"WS1|heartbeat|station-01|{}"
    signature = KEY.sign(message)
    assert verify_detached(signature, message, KEY.public_key)
    assert not verify_detached(signature, message + b" ", KEY.public_key)
    assert not verify_detached(signature, message[:-1], KEY.public_key)
    assert not verify_detached(signature, message, OTHER.public_key)
    flipped = bytes([signature[0] ^ 1]) + signature[1:]
    assert not verify_detached(flipped, message, KEY.public_key)
    assert not verify_detached(OTHER.sign(message), message, KEY.public_key)


@pytest.mark.parametrize("size", [0, 1, 63, 65, 128])
def test_a_signature_of_the_wrong_size_is_refused_unread(path: str, size: int) -> None:
    message = b"m"
    signature = (KEY.sign(message) * 2)[:size]
    assert not verify_detached(signature, message, KEY.public_key)


@pytest.mark.parametrize("size", [0, 31, 33, 64])
def test_a_key_of_the_wrong_size_is_refused_unread(path: str, size: int) -> None:
    message = b"m"
    key = (KEY.public_key * 2)[:size]
    assert not verify_detached(KEY.sign(message), message, key)


def test_an_empty_message_and_embedded_zero_bytes_are_covered(path: str) -> None:
    for message in (b"", b"\x00", b"a\x00b", b"\x00" * 100):
        signature = KEY.sign(message)
        assert verify_detached(signature, message, KEY.public_key)
        assert not verify_detached(signature, message + b"\x00", KEY.public_key)


@given(message=st.binary(max_size=300), noise=st.binary(min_size=64, max_size=64))
def test_agrees_with_pynacl_on_any_input(message: bytes, noise: bytes) -> None:
    good = KEY.sign(message)
    for signature in (good, noise, good[:32] + noise[32:]):
        assert verify_detached(signature, message, KEY.public_key) == _pynacl(
            signature, message, KEY.public_key
        )


@pytest.mark.skipif(sys.platform != "linux", reason="PyNaCl's Linux wheels export libsodium")
def test_the_check_runs_with_the_gil_released_on_linux() -> None:
    assert ed25519.RELEASES_GIL
    function = ed25519._VERIFY
    assert isinstance(function, ctypes._CFuncPtr)  # type: ignore[attr-defined]
    # A ctypes.CDLL function (not PyDLL) drops the GIL around the call.
    assert not function._flags_ & ctypes._FUNCFLAG_PYTHONAPI  # type: ignore[attr-defined]
