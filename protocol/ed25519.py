"""Ed25519 signature checks that let the process's other threads run meanwhile. No I/O.

PyNaCl's binding holds the GIL through libsodium's check (60-70 µs here): two threads check no
faster than one, and in the server every heartbeat's and event's check (4,000 a second at the
national peak) is time in which a rider's decision cannot run a line of Python. libsodium's
own ``crypto_sign_verify_detached``, called through ctypes, runs with the GIL released
(docs/benchmarks.md, "Signature checks off the GIL"). It is PyNaCl's own copy of libsodium
(its compiled module exports libsodium's symbols), so both ways run the same code; where that
copy cannot be loaded, PyNaCl's binding does the check.
"""

from __future__ import annotations

import ctypes
import importlib.util
from collections.abc import Callable

import nacl.bindings
import nacl.exceptions

PUBLIC_KEY_BYTES = 32
SIGNATURE_BYTES = 64

_Verify = Callable[[bytes, bytes, int, bytes], int]


def _released_gil_verify() -> _Verify | None:
    """libsodium's ``crypto_sign_verify_detached`` through ctypes (which releases the GIL for
    the call), from the library PyNaCl loaded; None where it is not there."""
    spec = importlib.util.find_spec("nacl._sodium")
    if spec is None or spec.origin is None:
        return None
    try:
        function = ctypes.CDLL(spec.origin).crypto_sign_verify_detached
    except (OSError, AttributeError):
        return None
    function.argtypes = (ctypes.c_char_p, ctypes.c_char_p, ctypes.c_ulonglong, ctypes.c_char_p)
    function.restype = ctypes.c_int
    checked: _Verify = function
    return checked


_VERIFY = _released_gil_verify()
RELEASES_GIL = _VERIFY is not None


def verify_detached(signature: bytes, message: bytes, public_key: bytes) -> bool:
    """True when ``signature`` is ``public_key``'s Ed25519 signature of ``message``. A
    signature or key of the wrong length is False (never read past: libsodium reads fixed
    sizes). Never raises."""
    if len(signature) != SIGNATURE_BYTES or len(public_key) != PUBLIC_KEY_BYTES:
        return False
    if _VERIFY is not None:
        return _VERIFY(signature, message, len(message), public_key) == 0
    try:
        nacl.bindings.crypto_sign_open(signature + message, public_key)
    except (nacl.exceptions.BadSignatureError, nacl.exceptions.ValueError):
        return False
    return True
