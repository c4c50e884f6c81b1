"""Payload models of every MQTT message, versioned and validated.

Each model has a schema version ``v``; a receiver validates with ``parse`` and drops what does
not validate (it logs and counts it, it never raises inside a network callback).
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Annotated, Literal, TypeVar

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationError

from protocol.codes import MAX_CODE_CHARS
from protocol.reasons import NEARBY_MAX_M, Reason
from protocol.topics import DENYLIST_BUCKETS, STATION_ID_PATTERN

MAX_PAYLOAD_BYTES = 64 * 1024

StationId = Annotated[str, Field(pattern=STATION_ID_PATTERN)]
RequestId = Annotated[str, Field(pattern=r"^[0-9a-f]{32}$")]
# A station's outbox stream: a new epoch when its store is new (a reinstalled box, say).
Epoch = Annotated[str, Field(pattern=r"^[0-9a-f]{16}$")]
Seq = Annotated[int, Field(ge=1, le=2**53)]
RiderId = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_-]+$")]
# A phone number as people write it: digits, spaces, dashes, parentheses, a leading plus.
HOTLINE_PATTERN = r"^\+?[0-9][0-9 ()-]{1,18}[0-9]$"
Hotline = Annotated[str, Field(max_length=21, pattern=HOTLINE_PATTERN)]


def _aware(value: datetime) -> datetime:
    if value.tzinfo is None:
        raise ValueError("timestamp must carry a time zone")
    return value


Timestamp = Annotated[datetime, AfterValidator(_aware)]


class _Payload(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)

    v: Literal[1] = 1


class AccessRequest(_Payload):
    """A station asks the server whether a scanned credential may enter."""

    request_id: RequestId
    station_id: StationId
    # A server token (WS1:) or a phone's device code (WSD1:): protocol.codes.
    token: Annotated[str, Field(min_length=1, max_length=MAX_CODE_CHARS)]
    station_time: Timestamp


class AccessDecision(_Payload):
    """The server's answer, matched to the request by ``request_id``."""

    request_id: RequestId
    station_id: StationId
    allowed: bool
    reason: Reason
    rider_id: RiderId | None = None
    decided_at: Timestamp
    expires_at: Timestamp
    # With a dead end (station_full, closed_now, maintenance, lockdown): the nearest open
    # station with room and how far it is, for the rider's display.
    nearby_station: Annotated[str, Field(max_length=80)] | None = None
    nearby_distance_m: Annotated[int, Field(ge=0, le=NEARBY_MAX_M)] | None = None
    # With closed_now: when this station opens again (local time, with its offset).
    reopens_at: Timestamp | None = None


class EventKind(StrEnum):
    ACCESS_GRANTED = "access_granted"
    ACCESS_DENIED = "access_denied"
    DOOR_OPENED = "door_opened"
    DOOR_CLOSED = "door_closed"
    EXIT_PRESSED = "exit_pressed"
    ALARM_RAISED = "alarm_raised"
    ALARM_CLEARED = "alarm_cleared"
    COMMAND_DONE = "command_done"
    COMMAND_REFUSED = "command_refused"


class CommandKind(StrEnum):
    REMOTE_UNLOCK = "remote_unlock"
    LOCKDOWN = "lockdown"
    LOCKDOWN_RELEASE = "lockdown_release"
    SET_MODE = "set_mode"


class StationMode(StrEnum):
    NORMAL = "normal"
    MAINTENANCE = "maintenance"
    FREE_ENTRY = "free_entry"  # emergency: heat wave, typhoon, cold snap


class Passage(StrEnum):
    """What a door opening was for, as the agent saw it."""

    ENTRY = "entry"
    EXIT = "exit"
    UNKNOWN = "unknown"


class DecidedBy(StrEnum):
    SERVER = "server"
    STATION = "station"


class StationEvent(_Payload):
    """Something that happened at a station, from its outbox: ``seq`` counts up from 1 within
    ``epoch`` with no gaps; the server stores each event once and acknowledges it."""

    event_id: RequestId
    station_id: StationId
    epoch: Epoch
    seq: Seq
    kind: EventKind
    occurred_at: Timestamp
    request_id: RequestId | None = None
    rider_id: RiderId | None = None
    reason: Reason | None = None
    decided_by: DecidedBy | None = None
    passage: Passage | None = None
    # Denials not reported one by one since the previous denial event (flood protection).
    suppressed: Annotated[int, Field(ge=1)] | None = None
    # A granted token's nonce (hex), so the server can refuse it anywhere after an offline entry.
    nonce: Annotated[str, Field(pattern=r"^[0-9a-f]{32}$")] | None = None
    alarm: Annotated[str, Field(max_length=32)] | None = None  # for alarm events: its kind
    detail: Annotated[str, Field(max_length=200)] | None = None
    command_id: RequestId | None = None  # for command events


class StationCommand(_Payload):
    """Staff asked, through the server, for something to happen at one station now. Never
    retained; acted on at most once, only while valid; answered by a command event."""

    command_id: RequestId
    station_id: StationId
    kind: CommandKind
    issued_at: Timestamp
    expires_at: Timestamp
    issued_by: Annotated[str, Field(min_length=1, max_length=64)]
    reason: Annotated[str, Field(min_length=1, max_length=200)]
    mode: StationMode | None = None  # only for set_mode


MAX_ACKED = 1000


class EventsAck(_Payload):
    """The server has committed these events (exact seqs, not a watermark), and is missing
    these ranges of the same epoch. Sent only after the database commit."""

    station_id: StationId
    epoch: Epoch
    acked: Annotated[list[Seq], Field(max_length=MAX_ACKED)]
    missing: Annotated[list[tuple[Seq, Seq]], Field(max_length=64)] = []


class LockType(StrEnum):
    """What the lock does without power: a strike stays locked, a maglock releases."""

    FAIL_SECURE = "fail_secure"
    FAIL_SAFE = "fail_safe"


MAX_CONFIG_ERROR = 120
MAX_NOT_READY = 8
NotReadyCode = Annotated[str, Field(pattern=r"^[a-z_]{1,32}$")]


class Heartbeat(_Payload):
    """Station health, every ``interval_s``; the server marks a station unavailable after a few
    missed heartbeats."""

    station_id: StationId
    session_id: Annotated[str, Field(max_length=64)]
    sent_at: Timestamp
    interval_s: Annotated[float, Field(gt=0, le=3600)]
    camera_ok: bool
    clock_offset_s: float | None = None
    outbox_depth: Annotated[int, Field(ge=0)]
    # Every seq of this epoch below the floor has been acknowledged (and may be gone here).
    epoch: Epoch | None = None
    outbox_floor: Seq | None = None
    config_version: Annotated[int, Field(ge=0)]
    offline_refusal: Reason | None = None  # why it could not decide offline now, if it could not
    # The last config or trust page from the server this station dropped (could not verify
    # or parse) and has had no good copy of since: "<page>: <why>", for the dashboard.
    config_error: Annotated[str, Field(max_length=MAX_CONFIG_ERROR)] | None = None
    # Why the station is not ready, as short codes ("camera_stalled", "outbox_backlog", ...);
    # empty when it is. Defaulted, so heartbeats from older agents still validate.
    not_ready: Annotated[list[NotReadyCode], Field(max_length=MAX_NOT_READY)] = []


class StationState(_Payload):
    """Retained birth message; the broker publishes the offline variant as the last will."""

    station_id: StationId
    online: bool
    session_id: Annotated[str, Field(max_length=64)]
    agent_version: Annotated[str, Field(max_length=32)] = ""
    at: Timestamp | None = None
    lock_type: LockType | None = None


MAX_CONTROL_KEYS = 4
MAX_RIDER_KEYS = 16
# A denylist page's entries: far above what 100,000 revocations a day put in one of 256
# buckets (about 390 on average), and still under the payload cap at the longest rider id.
MAX_DENYLIST_PAGE = 800
CredentialVersion = Annotated[int, Field(ge=1, le=2**31)]


class StationConfig(_Payload):
    """Retained configuration of one station: only its own standing rules. What every station
    shares (keys, audience, denylist) is on the trust pages, published once for all.

    ``config_version`` increases with every change a station must learn; a station ignores a
    config older than the one it has.
    """

    station_id: StationId
    config_version: Annotated[int, Field(ge=1)]
    issued_at: Timestamp
    # The station's standing rules, so a station that restarts or decides offline keeps them.
    mode: StationMode = StationMode.NORMAL
    lockdown: bool = False


class TrustKeys(_Payload):
    """Retained on ``ws/v1/trust/keys`` for every station: the rider-token keys and audience
    a station checks codes with, and the server's control keys it pins from now on. Signed by
    every published control key, so a new control key is announced under the old one and a
    rotation needs no site visit.

    ``version`` increases with every change; ``issued_at`` is refreshed periodically. A
    station ignores a page older than the one it has (``protocol.trust.is_newer``).
    """

    version: Annotated[int, Field(ge=1)]
    issued_at: Timestamp
    audience: Annotated[str, Field(min_length=1, max_length=64)]
    keys: Annotated[dict[str, str], Field(min_length=1, max_length=MAX_RIDER_KEYS)]
    control_keys: Annotated[dict[str, str], Field(min_length=1, max_length=MAX_CONTROL_KEYS)]
    # The union's phone number for riders, shown at the door where a refusal leaves them
    # stuck (deployment-wide, so here rather than in every station's config).
    hotline: Hotline | None = None


class DenylistPage(_Payload):
    """Retained on ``ws/v1/trust/denylist/<bucket>``: the revoked riders whose id hashes to
    this bucket (``protocol.trust.bucket_of``), rider id -> lowest credential version still
    valid, for credentials changed within the retention window. A station's denylist is the
    union of every bucket's newest page; it is fresh when every bucket's page is."""

    bucket: Annotated[int, Field(ge=0, lt=DENYLIST_BUCKETS)]
    version: Annotated[int, Field(ge=1)]
    issued_at: Timestamp
    denylist: Annotated[dict[RiderId, CredentialVersion], Field(max_length=MAX_DENYLIST_PAGE)] = {}


TrustPage = TrustKeys | DenylistPage


ModelT = TypeVar("ModelT", bound=_Payload)


class PayloadError(ValueError):
    """A payload that is too large, not JSON, or not valid for its model."""


def parse(model: type[ModelT], payload: bytes) -> ModelT:
    """Validate a raw MQTT payload, raising PayloadError with a short reason."""
    if len(payload) > MAX_PAYLOAD_BYTES:
        raise PayloadError(f"payload of {len(payload)} bytes exceeds {MAX_PAYLOAD_BYTES}")
    try:
        return model.model_validate_json(payload)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "payload"
        raise PayloadError(f"{model.__name__}: {where}: {first['msg']}") from None


def dump(message: _Payload) -> bytes:
    return message.model_dump_json(exclude_none=True).encode()


BUNDLE_FORMAT: Literal["ws-station-bundle/1"] = "ws-station-bundle/1"


class ProvisioningBundle(_Payload):
    """Everything a station needs to join, made by the server when staff provision it and
    shown once: where the broker is and how to trust it, the station's broker account, the
    server's control keys to pin, and the station's own signing key (the server keeps only
    its public half). Keep it like a password."""

    format: Literal["ws-station-bundle/1"] = BUNDLE_FORMAT
    # Each bundle once: a box refuses one it has enrolled before, and one past its expiry
    # (a bundle left lying around for days is a password left lying around).
    bundle_id: Annotated[str, Field(pattern=r"^[0-9a-f]{32}$")]
    station_id: StationId
    issued_at: Timestamp
    expires_at: Timestamp
    # The server's staff site (for a technician's clock check), when it has a public address.
    server_url: Annotated[str | None, Field(max_length=300)] = None
    broker_host: Annotated[str, Field(min_length=1, max_length=253)]
    broker_port: Annotated[int, Field(ge=1, le=65535)]
    # PEM of the CA that signed the broker's certificate; None only for plain MQTT on loopback.
    broker_ca_pem: Annotated[str | None, Field(max_length=16_384)] = None
    broker_username: StationId
    broker_password: Annotated[str, Field(min_length=16, max_length=200)]
    control_keys: Annotated[dict[str, str], Field(min_length=1, max_length=MAX_CONTROL_KEYS)]
    station_key: Annotated[str, Field(min_length=40, max_length=64)]
