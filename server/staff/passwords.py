"""Staff passwords: Argon2id hashes (pwdlib), and refusing the ones anyone could guess."""

from __future__ import annotations

from pwdlib import PasswordHash

_hasher = PasswordHash.recommended()
# Verifying against this when the user does not exist keeps the timing the same.
_DUMMY_HASH = _hasher.hash("not a real password")

WEAK_PASSWORDS = frozenset({"admin", "password", "changeme", "change-me", "12345678", "123456"})


class WeakPasswordError(ValueError):
    """A password anyone could guess."""


def check_password_strength(password: str) -> None:
    if len(password) < 10 or password.lower() in WEAK_PASSWORDS:
        raise WeakPasswordError("the password must be 10 characters or more and not a common one")


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password: str, password_hash: str) -> bool:
    return _hasher.verify(password, password_hash)


def spend_verify_time(password: str) -> None:
    """As long as a real check, for a user who does not exist: names cannot be probed by time."""
    _hasher.verify(password, _DUMMY_HASH)
