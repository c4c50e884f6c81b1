"""Settings of one station agent, from the environment (prefix ``WS_AGENT_``) or arguments."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from protocol.credential import public_key_from_text
from protocol.payloads import LockType
from protocol.signing import SigningKey
from protocol.topics import STATION_ID_PATTERN
from station_agent.hardware_settings import HardwareSettings


class OfflineEntry(StrEnum):
    """What the station does for a valid code when the server does not answer."""

    VERIFY = "verify"  # decide from signature, denylist and replay cache (while fresh enough)
    DENY = "deny"  # refuse everyone until the server is back


class AgentSettings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="WS_AGENT_", env_nested_delimiter="__", extra="forbid", frozen=True
    )

    station_id: str = Field(pattern=STATION_ID_PATTERN)
    broker_host: str = "127.0.0.1"
    broker_port: int = Field(default=1883, ge=1, le=65535)
    broker_username: str | None = None
    broker_password: SecretStr | None = None
    # The CA that signed the broker's certificate (PEM). None: plain MQTT, loopback only.
    broker_ca_file: Path | None = None
    # From provisioning: the server's control keys to pin (kid -> base64 public key; later
    # configs may announce new ones) and this station's own signing key (base64url seed).
    control_keys: dict[str, str] = Field(min_length=1, max_length=4)
    station_key: SecretStr
    frame_interval_s: float = Field(default=0.1, gt=0, le=5)
    unlock_s: float = Field(default=5.0, gt=0, le=60)
    held_open_s: float = Field(default=60.0, gt=0, le=3600)
    door_debounce_s: float = Field(default=0.3, ge=0, le=5)
    camera_trouble_s: float = Field(default=30.0, gt=0, le=3600)
    # How long a rider waits for the server before the station decides on its own.
    decision_timeout_s: float = Field(default=0.6, gt=0, le=30)
    offline_entry: OfflineEntry = OfflineEntry.VERIFY
    lock_type: LockType = LockType.FAIL_SECURE
    heartbeat_s: float = Field(default=30.0, gt=0, le=3600)
    # Outbox drain: events in flight at once, and how long before an unacknowledged one is
    # sent again.
    outbox_window: int = Field(default=100, ge=1, le=1000)
    outbox_resend_s: float = Field(default=5.0, gt=0, le=600)
    # On a clean stop, wait at most this long for the outbox to empty.
    shutdown_flush_s: float = Field(default=3.0, ge=0, le=60)
    scan_cooldown_s: float = Field(default=3.0, ge=0, le=60)
    clock_skew_s: float = Field(default=30.0, ge=0, le=300)
    # Durable state (replay cache); default data/agent-<station id>.
    data_dir: Path | None = None
    # Denial events: a burst of this many, then this many a second; the rest are counted.
    denial_events_burst: int = Field(default=10, ge=1, le=1000)
    denial_events_per_s: float = Field(default=1.0, gt=0, le=1000)
    # Offline decisions need a denylist newer than this and a clock the server agrees with.
    max_denylist_age_s: float = Field(default=86_400, gt=0)
    max_clock_offset_s: float = Field(default=30.0, gt=0)
    # The agent's metrics on http://127.0.0.1:<port>/metrics (loopback only); None: off.
    metrics_port: int | None = Field(default=None, ge=0, le=65535)
    hardware: HardwareSettings = HardwareSettings()  # WS_AGENT_HARDWARE__LOCK_PIN=17

    @field_validator("control_keys")
    @classmethod
    def _keys_parse(cls, keys: dict[str, str]) -> dict[str, str]:
        for kid, text in keys.items():
            try:
                public_key_from_text(text)
            except ValueError as exc:
                raise ValueError(f"control key {kid!r}: {exc}") from None
        return keys

    @field_validator("station_key")
    @classmethod
    def _station_key_parses(cls, key: SecretStr) -> SecretStr:
        SigningKey.from_text(key.get_secret_value())  # ValueError names the problem
        return key

    @property
    def signing_key(self) -> SigningKey:
        return SigningKey.from_text(self.station_key.get_secret_value())

    @property
    def store_path(self) -> Path:
        return (self.data_dir or Path("data") / f"agent-{self.station_id}") / "agent.db"
