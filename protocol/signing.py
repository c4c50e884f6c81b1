"""Signatures on MQTT messages, so that no one but their author can have sent them.

The server signs every message that can change what a door does (decisions, commands,
configs) and the acknowledgements that let a station delete events from its outbox, with its
control keys; each station pins those keys at provisioning. Each station signs what it sends
(requests, events, state, heartbeats) with its own key, registered at provisioning. A stolen
broker password, or the broker itself, can then neither open a door nor rewrite a station's
history (design notes §3).

A signature covers the exact payload bytes as published, bound to the topic family and the
station the topic names: ``WS1|<family>|<station id>|<payload>``. Deployment-wide trust pages
(``protocol.topics.TrustTopic``: keys, denylist buckets) are bound to the page instead:
``WS1|trust|<page>|<payload>`` (``trust`` is no family, so neither kind can pass for the
other). It travels beside the
payload in an MQTT 5 user property, ``ws-sig: <kid>.<base64url signature>`` (Mosquitto keeps
user properties on retained messages and last wills), so payloads stay as they are and nothing
needs canonical JSON. A message may carry a few signatures (one per key during a rotation);
one from a pinned key that verifies is enough.

Ed25519 through libsodium (PyNaCl), as for rider tokens. No I/O.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import secrets
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum

import nacl.bindings

from protocol.credential import PUBLIC_KEY_BYTES, public_key_to_text
from protocol.ed25519 import verify_detached
from protocol.topics import Family, TrustTopic

SIGNATURE_PROPERTY = "ws-sig"
MAX_SIGNATURES = 4  # more than this on one message is not ours: refused unread
SEED_BYTES = 32
_SIGNATURE_BYTES = 64
_DOMAIN = b"WS1|"

UserProperties = tuple[tuple[str, str], ...]


def key_id(public_key: bytes) -> str:
    """A short, stable name for a public key: the first 8 hex digits of its SHA-256."""
    return hashlib.sha256(public_key).hexdigest()[:8]


@dataclass(frozen=True, slots=True)
class SigningKey:
    """An Ed25519 private key (its 32-byte seed) with its public half and key id."""

    seed: bytes = field(repr=False)
    public_key: bytes = field(init=False)
    kid: str = field(init=False)
    _secret: bytes = field(init=False, repr=False)

    def __post_init__(self) -> None:
        if len(self.seed) != SEED_BYTES:
            raise ValueError(f"a signing key seed is {SEED_BYTES} bytes")
        public, secret = nacl.bindings.crypto_sign_seed_keypair(self.seed)
        object.__setattr__(self, "public_key", public)
        object.__setattr__(self, "_secret", secret)
        object.__setattr__(self, "kid", key_id(public))

    @classmethod
    def generate(cls) -> SigningKey:
        return cls(secrets.token_bytes(SEED_BYTES))

    @classmethod
    def from_text(cls, text: str) -> SigningKey:
        """From ``to_text``'s form; raises ValueError for anything else."""
        try:
            seed = base64.urlsafe_b64decode(text.encode("ascii"))
        except (binascii.Error, UnicodeEncodeError, ValueError) as exc:
            raise ValueError("a signing key is base64url text") from exc
        return cls(seed)

    def to_text(self) -> str:
        return base64.urlsafe_b64encode(self.seed).decode("ascii")

    @property
    def public_key_text(self) -> str:
        return public_key_to_text(self.public_key)

    def sign(self, message: bytes) -> bytes:
        signed: bytes = nacl.bindings.crypto_sign(message, self._secret)
        return signed[:_SIGNATURE_BYTES]


def signed_message(family: Family, station_id: str, payload: bytes) -> bytes:
    """What a signature covers: the payload bound to its topic family and station."""
    return b"".join((_DOMAIN, family.value.encode(), b"|", station_id.encode(), b"|", payload))


def signed_trust_message(page: TrustTopic, payload: bytes) -> bytes:
    """What a trust page's signature covers: the payload bound to the page it is published as."""
    return b"".join((_DOMAIN, b"trust|", page.name.encode(), b"|", payload))


def sign(
    keys: Iterable[SigningKey], family: Family, station_id: str, payload: bytes
) -> UserProperties:
    """The user properties that carry the signatures of ``payload`` by each of ``keys``."""
    return _signatures(keys, signed_message(family, station_id, payload))


def sign_trust(keys: Iterable[SigningKey], page: TrustTopic, payload: bytes) -> UserProperties:
    return _signatures(keys, signed_trust_message(page, payload))


def _signatures(keys: Iterable[SigningKey], message: bytes) -> UserProperties:
    return tuple((SIGNATURE_PROPERTY, f"{key.kid}.{_b64(key.sign(message))}") for key in keys)


class SignatureCheck(StrEnum):
    """The outcome of ``verify``; every value but OK is a reason to drop the message."""

    OK = "ok"
    UNSIGNED = "unsigned"
    MALFORMED = "malformed_signature"
    UNKNOWN_KEY = "unknown_key"
    BAD_SIGNATURE = "bad_signature"


def verify(
    user_properties: Sequence[tuple[str, str]],
    *,
    keys: Mapping[str, bytes],
    family: Family,
    station_id: str,
    payload: bytes,
) -> SignatureCheck:
    """OK when a signature by one of ``keys`` (kid -> raw public key) covers this payload on
    this family and station. Never raises."""
    return _verify(user_properties, keys, lambda: signed_message(family, station_id, payload))


def verify_trust(
    user_properties: Sequence[tuple[str, str]],
    *,
    keys: Mapping[str, bytes],
    page: TrustTopic,
    payload: bytes,
) -> SignatureCheck:
    """OK when a signature by one of ``keys`` covers this payload as this trust page."""
    return _verify(user_properties, keys, lambda: signed_trust_message(page, payload))


def _verify(
    user_properties: Sequence[tuple[str, str]],
    keys: Mapping[str, bytes],
    build_message: Callable[[], bytes],
) -> SignatureCheck:
    found = [value for name, value in user_properties if name == SIGNATURE_PROPERTY]
    if not found:
        return SignatureCheck.UNSIGNED
    if len(found) > MAX_SIGNATURES:
        return SignatureCheck.MALFORMED
    message: bytes | None = None
    outcome = SignatureCheck.UNKNOWN_KEY
    for value in found:
        kid, _, encoded = value.partition(".")
        signature = _unb64(encoded)
        if signature is None or len(signature) != _SIGNATURE_BYTES:
            outcome = SignatureCheck.MALFORMED
            continue
        key = keys.get(kid)
        if key is None or len(key) != PUBLIC_KEY_BYTES:
            continue
        if message is None:
            message = build_message()
        if not verify_detached(signature, message, key):
            outcome = SignatureCheck.BAD_SIGNATURE
            continue
        return SignatureCheck.OK
    return outcome


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode("ascii").rstrip("=")


def _unb64(text: str) -> bytes | None:
    if len(text) > 100:
        return None
    try:
        return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (binascii.Error, ValueError):
        return None
