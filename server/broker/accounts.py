"""Who may log in to the broker and what each may do there: accounts, Mosquitto 2 password
hashes and ACL files, rendered as text (pure: no I/O; ``files.py`` writes them).

Two listeners keep the kinds apart (``docs/architecture.md``, "Broker security"): stations log
in on the station listener, whose client id is forced to the username (one station cannot
take over another's session), and whose ACL holds only ``%u`` patterns; the server and the
monitor log in on the internal listener, which keeps their own client ids (server workers
share one username) and whose ACL names them. Keeping the two ACLs apart matters: Mosquitto
applies ``pattern`` lines to every user of an ACL file, so a shared file would give the
server account the subtree of a "station" named like it.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import itertools
import re
import secrets
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum

from protocol.topics import ROOT, TRUST_ROOT, Family, is_valid_station_id
from server.homeassistant.discovery import DISCOVERY_PREFIX, STATE_ROOT

DEFAULT_SERVER_USERNAME = "ws-server"
DEFAULT_MONITOR_USERNAME = "ws-monitor"

_SALT_BYTES = 12  # what mosquitto_passwd uses
_HASH_BYTES = 64  # SHA-512
# No whitespace or control characters (the files are line based), no ':' (the password
# file's separator), no MQTT wildcards, '/' or '%' (they would change an ACL topic).
_USERNAME = re.compile(r"[A-Za-z0-9._-]{1,64}")
_HASH = re.compile(r"\$7\$(\d{1,7})\$([A-Za-z0-9+/=]{1,64})\$([A-Za-z0-9+/=]{1,128})")


class Role(StrEnum):
    STATION = "station"
    SERVER = "server"
    MONITOR = "monitor"


class Access(StrEnum):
    """Mosquitto's ACL words: read covers subscribing (checked on delivery), write publishing."""

    READ = "read"
    WRITE = "write"


# The table of issue 10. A station's rights are on its own subtree only; the server's and
# the monitor's on every station's. access/request is not for the monitor: it carries
# riders' tokens.
PERMISSIONS: Mapping[Role, Mapping[Access, tuple[Family, ...]]] = {
    Role.STATION: {
        Access.WRITE: (Family.ACCESS_REQUEST, Family.EVENTS, Family.STATE, Family.HEARTBEAT),
        Access.READ: (Family.ACCESS_DECISION, Family.CONFIG, Family.COMMANDS, Family.EVENTS_ACK),
    },
    Role.SERVER: {
        Access.READ: (Family.ACCESS_REQUEST, Family.EVENTS, Family.STATE, Family.HEARTBEAT),
        Access.WRITE: (Family.ACCESS_DECISION, Family.CONFIG, Family.COMMANDS, Family.EVENTS_ACK),
    },
    Role.MONITOR: {
        Access.READ: tuple(f for f in Family if f is not Family.ACCESS_REQUEST),
        Access.WRITE: (),
    },
}

# The trust pages (``ws/v1/trust/#``: keys, denylist buckets) are one set for every station:
# only the server writes them; stations and the monitor only read.
TRUST_PERMISSIONS: Mapping[Role, tuple[Access, ...]] = {
    Role.STATION: (Access.READ,),
    Role.SERVER: (Access.WRITE,),
    Role.MONITOR: (Access.READ,),
}

# Home Assistant's discovery configs and the station states they read (server/homeassistant):
# the server writes them, the monitor (Home Assistant's login) only reads, stations neither.
HOMEASSISTANT_TOPICS = (f"{DISCOVERY_PREFIX}/#", f"{STATE_ROOT}/#")
HOMEASSISTANT_PERMISSIONS: Mapping[Role, tuple[Access, ...]] = {
    Role.STATION: (),
    Role.SERVER: (Access.WRITE,),
    Role.MONITOR: (Access.READ,),
}

STATION_LISTENER_ROLES = frozenset({Role.STATION})
INTERNAL_LISTENER_ROLES = frozenset({Role.SERVER, Role.MONITOR})


# mosquitto_passwd's own count. Every reload re-hashes every connected client's password:
# measured here, 2,000 clients stalled the broker 1.15 s at 1,000 iterations, 0.13 s at 101;
# random 43-character passwords gain nothing from more.
ITERATIONS = 101


class AccountError(ValueError):
    """An account, or a set of accounts, that cannot be written into the broker's files."""


@dataclass(frozen=True, slots=True)
class BrokerAccount:
    """One broker login. A station's username is its station id (the ACL's ``%u``)."""

    username: str
    password_hash: str
    role: Role

    def __post_init__(self) -> None:
        role = Role(self.role)  # also accepts the plain string, as stored in a database
        object.__setattr__(self, "role", role)
        if not _USERNAME.fullmatch(self.username):
            raise AccountError(f"unusable broker username {self.username!r}")
        if role is Role.STATION and not is_valid_station_id(self.username):
            raise AccountError(f"a station's username must be its station id: {self.username!r}")
        if not _HASH.fullmatch(self.password_hash):
            raise AccountError(f"{self.username}: password hash is not in Mosquitto's $7$ format")

    @classmethod
    def with_password(
        cls, username: str, password: str, role: Role, *, iterations: int = ITERATIONS
    ) -> BrokerAccount:
        return cls(username, hash_password(password, iterations=iterations), role)


def hash_password(password: str, *, salt: bytes | None = None, iterations: int = ITERATIONS) -> str:
    """Mosquitto 2's ``$7$`` hash: PBKDF2-HMAC-SHA512, 12-byte salt, 64-byte hash, base64.

    The broker re-checks every connected client's password on each reload (SIGHUP), so the
    iteration count costs broker time per connected client per reload; passwords from
    ``new_password`` are random enough that iterations add no strength to them.
    """
    if not 1 <= iterations <= 9_999_999:
        raise AccountError(f"iterations out of range: {iterations}")
    salt = secrets.token_bytes(_SALT_BYTES) if salt is None else salt
    digest = hashlib.pbkdf2_hmac("sha512", password.encode(), salt, iterations, _HASH_BYTES)
    return f"$7${iterations}${_b64(salt)}${_b64(digest)}"


def verify_password(password: str, password_hash: str) -> bool:
    """Whether ``password`` matches a ``$7$`` hash (the broker's own check, for tests and tools)."""
    match = _HASH.fullmatch(password_hash)
    if match is None:
        return False
    iterations, salt, expected = int(match[1]), base64.b64decode(match[2]), match[3]
    digest = hashlib.pbkdf2_hmac("sha512", password.encode(), salt, iterations, _HASH_BYTES)
    return hmac.compare_digest(_b64(digest), expected)


def new_password() -> str:
    """A random password: 32 bytes, URL-safe base64 (43 characters)."""
    return secrets.token_urlsafe(32)


def _b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode("ascii")


# -- files --------------------------------------------------------------------------------
def check_accounts(accounts: Iterable[BrokerAccount]) -> list[BrokerAccount]:
    """The accounts sorted by username; refuses a username used twice (in any role: the two
    listeners share one client-id space and, for the reader of a log, one namespace)."""
    ordered = sorted(accounts, key=lambda account: account.username)
    for before, after in itertools.pairwise(ordered):
        if before.username == after.username:
            raise AccountError(f"broker username {after.username!r} used twice")
    return ordered


def for_listener(accounts: Iterable[BrokerAccount], roles: frozenset[Role]) -> list[BrokerAccount]:
    """The accounts that log in on the listener for ``roles`` (see ``*_LISTENER_ROLES``)."""
    return [account for account in check_accounts(accounts) if account.role in roles]


def render_password_file(accounts: Iterable[BrokerAccount]) -> str:
    """Mosquitto's ``password_file``: one ``username:hash`` line per account, sorted."""
    return "".join(f"{a.username}:{a.password_hash}\n" for a in check_accounts(accounts))


def render_acl_file(accounts: Iterable[BrokerAccount]) -> str:
    """Mosquitto's ``acl_file`` for the listener these accounts log in on.

    Station accounts get the ``%u`` patterns (once, whatever their number); each server or
    monitor account gets its own ``user`` block. Stations and internal accounts in one file
    are refused: patterns apply to every user of the file. With no account at all the file
    is empty, which Mosquitto 2.0 reads as "deny everything".
    """
    ordered = check_accounts(accounts)
    roles = {account.role for account in ordered}
    if Role.STATION in roles and roles - {Role.STATION}:
        raise AccountError("station and internal accounts need separate ACL files")
    lines = ["# Written by server.broker; changes are lost at the next write."]
    if Role.STATION in roles:
        lines.append("# Each station, on its own subtree only (%u: the username, = station id).")
        lines += _rules("pattern", f"{ROOT}/%u", Role.STATION)
    for account in ordered:
        if account.role is not Role.STATION:
            lines += ["", f"# {account.role.value}", f"user {account.username}"]
            lines += _rules("topic", f"{ROOT}/+", account.role)
    return "\n".join(lines) + "\n"


def _rules(keyword: str, prefix: str, role: Role) -> list[str]:
    # Subscriptions are not checked by Mosquitto 2.0's ACL file at SUBSCRIBE time: every
    # filter is granted, and each message is checked against "read" at delivery, against
    # the real topic. So "$share/<group>/..." filters need no rule of their own.
    return (
        [
            f"{keyword} {access.value} {prefix}/{family.value}"
            for access in (Access.WRITE, Access.READ)
            for family in PERMISSIONS[role][access]
        ]
        + [f"{keyword} {access.value} {TRUST_ROOT}/#" for access in TRUST_PERMISSIONS[role]]
        + [
            f"{keyword} {access.value} {topic}"
            for access in HOMEASSISTANT_PERMISSIONS[role]
            for topic in HOMEASSISTANT_TOPICS
        ]
    )


def new_share_group() -> str:
    """A secret name for the server's MQTT 5 shared-subscription group.

    Mosquitto 2.0 lets any client join any ``$share`` group (its ACL file does not judge
    SUBSCRIBE), hands each message to the group's members in turn, and drops the message when
    the chosen member may not read it: a station that joined the server's group would
    swallow its share of every station's access requests. A name it cannot guess keeps it
    out; the server alone knows it (``WS_SERVER_SHARE_GROUP``).
    """
    return f"ws-{secrets.token_hex(16)}"
