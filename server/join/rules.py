"""The rules of joining without a desk, pure: short codes a person can read aloud, invite
codes, the personal link a request's page will get, phone numbers and their keyed hash, what a
request's status is at a time.

A request's page holds a random *token*; the server keeps only its hash. The rider's personal
link is derived from the token (``link_secret``), so the server stores the link's hash when the
request is made, gives the rider that link when staff approve, and never holds either secret:
the page that asked is the only one that can open the pass.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import secrets
from datetime import datetime
from enum import StrEnum

# No look-alikes or sound-alikes: no 0/O/Q/D, 1/I/L, 2/Z, 5/S, 8/B, 6/G, U/V.
CODE_ALPHABET = "ACEFHJKMNPRTWXY3479"
REQUEST_CODE_CHARS = 6  # read aloud to staff: "K7M-X4A"
INVITE_CODE_CHARS = 8  # 19^8 = 1.7e10, against a few tries an hour per address
MAX_NAME_CHARS = 40
MAX_INVITES_PER_BATCH = 500
MAX_INVITE_DAYS = 365
_LINK_LABEL = b"ws-join-link/1"
_PHONE_LABEL = b"ws-phone/1|"
_MAINLAND_MOBILE = re.compile(r"^1[3-9][0-9]{9}$")


class JoinStatus(StrEnum):
    PENDING = "pending"
    APPROVED = "approved"
    REFUSED = "refused"
    EXPIRED = "expired"  # never stored: a pending request past its time
    LINK_CHANGED = "link_changed"  # never stored: approved, then staff made a new link


def _code(chars: int) -> str:
    return "".join(secrets.choice(CODE_ALPHABET) for _ in range(chars))


def new_request_code() -> str:
    return _code(REQUEST_CODE_CHARS)


def new_invite_code() -> str:
    return _code(INVITE_CODE_CHARS)


def show_code(code: str) -> str:
    """In groups, as printed and read aloud: ``K7MX4A`` -> ``K7M-X4A``."""
    size = 3 if len(code) == REQUEST_CODE_CHARS else 4
    return "-".join(code[i : i + size] for i in range(0, len(code), size))


def typed_code(text: str) -> str:
    """What someone typed, as stored: capitals, without spaces and dashes."""
    return re.sub(r"[\s\-]", "", text).upper()


def new_token() -> str:
    return secrets.token_urlsafe(32)


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def link_secret(token: str) -> str:
    """The secret of the personal link the request's page gets once approved (as long as a
    secret made by ``secrets.token_urlsafe(24)``)."""
    digest = hmac.new(token.encode(), _LINK_LABEL, hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).decode()[:32]


def mainland_mobile(text: str) -> str | None:
    """An 11-digit mainland China mobile number from what was typed (spaces, dashes, +86
    allowed), or None when it is not one."""
    digits = re.sub(r"[\s\-()]", "", text)
    for prefix in ("+86", "0086"):
        if digits.startswith(prefix):
            digits = digits[len(prefix) :]
    return digits if _MAINLAND_MOBILE.match(digits) else None


def phone_hash(number: str, *, key: bytes) -> str:
    """Keyed, so a copy of the database alone cannot be searched for numbers: there are only
    about 10^9 mainland mobile numbers, and an unkeyed hash of each is computed in seconds."""
    return hmac.new(key, _PHONE_LABEL + number.encode(), hashlib.sha256).hexdigest()


def status_at(stored: str, *, expires_at: datetime, now: datetime) -> JoinStatus:
    """A stored status as the rider sees it now: a pending request past its time expired."""
    status = JoinStatus(stored)
    if status is JoinStatus.PENDING and now >= expires_at:
        return JoinStatus.EXPIRED
    return status
