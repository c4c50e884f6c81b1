"""Settings of the server, from the environment (prefix ``WS_SERVER_``)."""

from __future__ import annotations

import hashlib
import re
from pathlib import Path
from urllib.parse import urlsplit

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from protocol.credential import DEFAULT_LIFETIME_S, DEFAULT_SKEW_S, MAX_LIFETIME_S
from protocol.device_cert import DEFAULT_CERT_LIFETIME_S, MAX_CERT_LIFETIME_S
from protocol.payloads import HOTLINE_PATTERN
from server.staff.passwords import WEAK_PASSWORDS, check_password_strength

DEMO_AUDIENCE = "ws-demo"
# Passwords that ship in examples and compose files: never good enough for a real deployment.
_DEFAULT_PASSWORDS = WEAK_PASSWORDS | {"postgres", "mosquitto", "secret"}


_TILE_PLACES = ("{z}", "{x}", "{y}")


def tile_source(url: str) -> str:
    """The Content-Security-Policy source of an XYZ tile address: its scheme and host, with
    a ``{s}`` label as ``*`` (``https://t{s}.tianditu.gov.cn/...`` -> ``https://*.tianditu.gov.cn``).
    Raises ValueError saying what is wrong."""
    parts = urlsplit(url)
    if parts.scheme not in ("https", "http") or not parts.netloc:
        raise ValueError("a map tile address starts with https:// and names a host")
    missing = [place for place in _TILE_PLACES if place not in url]
    if missing:
        raise ValueError(f"a map tile address needs {', '.join(missing)} in it")
    if parts.username is not None or parts.password is not None:
        raise ValueError("a map tile address carries no user name or password")
    labels = (parts.hostname or "").split(".")
    if "{s}" in labels[0]:
        labels[0] = "*"  # CSP allows a wildcard only as the leftmost label
        if len(labels) < 3:
            raise ValueError("a map tile host with {s} needs a domain of its own after it")
    if not all(
        re.fullmatch(r"[a-z0-9-]+", label) for label in labels[1 if labels[0] == "*" else 0 :]
    ):
        raise ValueError("a map tile host may hold {s} only in its first label")
    port = f":{parts.port}" if parts.port else ""
    return f"{parts.scheme}://{'.'.join(labels)}{port}"


class ServerSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="WS_SERVER_", extra="forbid", frozen=True)

    data_dir: Path = Path("data")
    # Empty: SQLite in data_dir. Production: postgresql+psycopg://...
    database_url: str = Field(default="", repr=False)  # may carry a password
    http_host: str = "127.0.0.1"
    http_port: int = Field(default=8080, ge=0, le=65535)
    broker_host: str = "127.0.0.1"
    broker_port: int = Field(default=1883, ge=1, le=65535)
    broker_username: str = Field(default="ws-server", pattern=r"^[A-Za-z0-9_.-]{2,64}$")
    broker_password: SecretStr | None = Field(default=None, repr=False)
    # TLS: the CA that signed the broker's certificate. None: plain MQTT (loopback tests only).
    broker_ca_file: Path | None = None
    # The broker as stations reach it, written into their provisioning bundles (default: the
    # server's own broker_host and broker_port).
    station_broker_host: str | None = None
    station_broker_port: int | None = Field(default=None, ge=1, le=65535)
    # Where the server writes Mosquitto's password and ACL files from the database, and the
    # broker's pid file to signal (SIGHUP) so it reloads them. None: the broker's accounts are
    # managed elsewhere.
    broker_auth_dir: Path | None = None
    broker_pid_file: Path | None = None
    # The broker is signalled again this long after a change, in case the first signal fell
    # into a reload already under way (server/broker/reload.py); longer than any reload.
    broker_reload_settle_s: float = Field(default=2.0, gt=0, le=60)
    # Make the broker's TLS material (a CA, the broker's certificate naming these hosts) into
    # broker_auth_dir, where the broker's entry point picks it up (deploy/); the CA's key stays
    # in data_dir. The CA is then also broker_ca_file, unless that is given.
    broker_issue_tls: bool = False
    broker_tls_hosts: list[str] = []
    # An optional read-only broker account for monitoring; it never sees rider tokens.
    broker_monitor_password: SecretStr | None = Field(default=None, repr=False)
    # Tokens are valid only for this deployment or station group.
    audience: str = Field(default=DEMO_AUDIENCE, min_length=1, max_length=64)
    token_lifetime_s: int = Field(default=DEFAULT_LIFETIME_S, ge=10, le=MAX_LIFETIME_S)
    decision_ttl_s: int = Field(default=5, ge=1, le=60)
    # A new signing key is published this long before it signs anything.
    key_propagation_s: int = Field(default=60, ge=0, le=86_400)
    # Each worker checks this often whether another changed the key ring (one small read);
    # the propagation delay must cover two checks, so every worker knows a key before it signs.
    key_check_s: float = Field(default=5.0, gt=0, le=300)
    # Stations refuse a revoked rider's older tokens for this long after the revocation.
    denylist_retention_s: int = Field(default=86_400, ge=MAX_LIFETIME_S, le=30 * 86_400)
    # Access requests one station may send: a burst, then this many a second (a door serves a
    # rider every few seconds); the rest are dropped before the database.
    access_request_burst: int = Field(default=20, ge=1, le=10_000)
    access_requests_per_s: float = Field(default=5.0, gt=0, le=10_000)
    # The MQTT consumer's lanes (server/mqtt/lanes.py): threads answering access requests, and
    # how many messages each lane holds before it sheds (counted) rather than fall behind.
    access_workers: int = Field(default=2, ge=1, le=32)
    access_queue_max: int = Field(default=2_000, ge=10, le=1_000_000)
    ingest_queue_max: int = Field(default=100_000, ge=100, le=10_000_000)
    # False: a decision's commit does not wait for the disk (the decisions' own connections:
    # PostgreSQL synchronous_commit off, SQLite synchronous=NORMAL). What a crash can lose then
    # is argued in docs/scaling.md ("Decisions and durability"): never an event.
    decision_synchronous_commit: bool = False
    # How long a provisioning bundle may wait before a box enrols it.
    bundle_lifetime_s: int = Field(default=86_400, ge=600, le=30 * 86_400)
    # A retired control key still signs (beside its successor) this long: a station offline
    # for longer than this after a control key rotation must be provisioned again.
    control_key_grace_s: int = Field(default=30 * 86_400, ge=3600, le=365 * 86_400)
    # The trust pages are re-published this often with a fresh issued_at (denylist freshness).
    config_refresh_s: float = Field(default=300.0, gt=0, le=86_400)
    # Several server workers split the load through an MQTT 5 shared subscription.
    # A station that joins the server's shared-subscription group makes Mosquitto drop its
    # share of every station's requests (measured: tests/integration/test_broker_acl.py), so
    # the group name is a secret: by default derived from the server's broker password, which
    # every worker has and no station does.
    share_group: str | None = Field(default=None, pattern=r"^[A-Za-z0-9_-]{8,64}$", repr=False)
    public_base_url: str = ""
    # Alarms sent out through notifiers (server/alerts): how often each worker looks for due
    # deliveries, the retry backoff (doubling from base up to cap, jittered), and how long
    # after the alarm a delivery is given up and counted as failed.
    alert_poll_s: float = Field(default=2.0, gt=0, le=300)
    alert_retry_base_s: float = Field(default=10.0, gt=0, le=3600)
    alert_retry_cap_s: float = Field(default=600.0, gt=0, le=86_400)
    alert_max_age_s: float = Field(default=86_400.0, ge=60, le=30 * 86_400)
    alert_timeout_s: float = Field(default=10.0, gt=0, le=120)
    # A station offline (will, or heartbeats missed) this long raises a station_offline alarm.
    offline_alarm_after_s: float = Field(default=600.0, ge=60, le=7 * 86_400)
    # The night check of counts (server.events.occupancy): the local hour it runs in, and how
    # long a closed station's door must have been quiet before its count may be set to zero.
    reconcile_hour: int = Field(default=4, ge=0, le=23)
    reconcile_door_quiet_h: float = Field(default=3.0, ge=0.5, le=24)
    # The first admin account, created when there is no staff account yet. There is no
    # default password: without one, nobody can log in until an admin is created.
    admin_user: str = Field(default="admin", pattern=r"^[A-Za-z0-9_.-]{2,64}$")
    admin_password: str | None = Field(default=None, repr=False)
    # The demo's defaults (audience ws-demo, no admin password) are refused without this.
    demo_mode: bool = False
    # Also upgrade a database with rows that is behind at start (demo and development only). An
    # empty database is always created at start; a production upgrade is `python -m server.cli
    # migrate` after a backup (docs/operations.md, "Upgrading").
    auto_migrate: bool = False
    # Session cookies marked Secure: None means "when public_base_url starts with https://";
    # a request that arrived over HTTPS gets a Secure cookie in any case.
    cookie_secure: bool | None = None
    # Addresses of reverse proxies whose X-Forwarded-For/-Proto are believed (uvicorn's
    # forwarded_allow_ips, comma-separated). Empty: the connection's own address counts.
    trusted_proxies: str = ""
    # /metrics answers only a bearer with this token (None: no /metrics at all).
    metrics_token: SecretStr | None = Field(default=None, repr=False, min_length=16)
    # /readyz says "not ready" when a consumer lane's oldest message waited longer than this.
    ready_max_queue_age_s: float = Field(default=10.0, gt=0, le=3600)
    # Home Assistant MQTT discovery (server/homeassistant): each station as a lock, a door
    # sensor and an occupancy sensor, for Home Assistant logged in as the monitor account.
    homeassistant_discovery: bool = False
    # Device certificates (protocol.device_cert): how long one lets a rider's phone make its own
    # codes without signal, and how many one rider's link may get in an hour.
    device_cert_lifetime_s: int = Field(
        default=DEFAULT_CERT_LIFETIME_S, ge=600, le=MAX_CERT_LIFETIME_S
    )
    device_certs_per_hour: int = Field(default=6, ge=1, le=1_000)
    # The union's phone number for riders (e.g. 12351): on the door's display where a refusal
    # leaves a rider stuck (it reaches stations on the keys page), the bad-link page, /join.
    hotline: str = Field(default="", pattern=rf"^$|{HOTLINE_PATTERN}")
    # Riders joining without a desk (/join, server/join): a request waits this long for staff;
    # one client address may ask this many times in join_window_s (wrong invite codes count).
    join_request_ttl_s: int = Field(default=7_200, ge=300, le=7 * 86_400)
    join_requests_per_window: int = Field(default=5, ge=1, le=1_000)
    join_window_s: int = Field(default=3_600, ge=60, le=86_400)
    # Ask riders for a mobile number when they join. It is stored only as a keyed hash
    # (HMAC-SHA256 with phone_hash_key, which never goes into the database): see
    # docs/security.md, "Riders' phone numbers".
    join_asks_phone: bool = False
    phone_hash_key: SecretStr | None = Field(default=None, repr=False, min_length=16)
    # The public station list (/api/public/stations): computed at most once per this many
    # seconds for every caller, and a budget per client address (a burst, then a rate; a
    # finder polls every few seconds, many riders may share one carrier-grade NAT address).
    public_cache_s: float = Field(default=3.0, gt=0, le=300)
    public_burst: int = Field(default=60, ge=1, le=100_000)
    public_requests_per_s: float = Field(default=2.0, gt=0, le=10_000)
    # How often the staff pages' live streams (stations, alarms) read the database, one read
    # for every open tab; the station counts are recounted every fifth read. Tests shorten it.
    live_poll_s: float = Field(default=1.0, ge=0.05, le=60)
    # A station photo staff upload may be at most this large (it is re-encoded smaller).
    photo_max_bytes: int = Field(default=8 * 1024 * 1024, ge=64 * 1024, le=64 * 1024 * 1024)
    # The staff map's background (docs/operations.md, "Map tiles"): an XYZ tile address with
    # {z}, {x} and {y} (and {s} for a subdomain), e.g. Tianditu, AMap or a tile server of the
    # deployment's own; its host is added to the pages' img-src. Empty: stations are drawn on
    # a plain latitude/longitude grid with a scale bar, which needs no network.
    map_tile_url: str = Field(default="", max_length=500)
    # A second layer drawn over the first (Tianditu's place names: cva_w), same rules.
    map_label_url: str = Field(default="", max_length=500)
    map_tile_subdomains: str = Field(default="", pattern=r"^[A-Za-z0-9]*$", max_length=16)
    map_tile_attribution: str = Field(default="", max_length=200)  # shown on the map, as text
    map_tile_max_zoom: int = Field(default=18, ge=1, le=22)
    # The tiles are in GCJ-02 (AMap, Tencent): stations' WGS-84 coordinates are shifted onto
    # them. Tianditu (CGCS2000) and OpenStreetMap-style servers need no shift.
    map_tile_gcj02: bool = False

    @model_validator(mode="after")
    def _keys_known_before_they_sign(self) -> ServerSettings:
        if self.key_propagation_s < 2 * self.key_check_s:
            raise ValueError("key_propagation_s must be at least twice key_check_s")
        return self

    @model_validator(mode="after")
    def _denylist_outlives_device_certs(self) -> ServerSettings:
        # A revoked rider's device certificate is refused only while the denylist names them.
        if self.denylist_retention_s < self.device_cert_lifetime_s + DEFAULT_SKEW_S:
            raise ValueError(
                "denylist_retention_s must cover device_cert_lifetime_s (plus the clock skew)"
            )
        return self

    @model_validator(mode="after")
    def _phone_needs_its_key(self) -> ServerSettings:
        if self.join_asks_phone and self.phone_hash_key is None:
            raise ValueError("join_asks_phone needs phone_hash_key (16 characters or more)")
        return self

    @field_validator("map_tile_url", "map_label_url")
    @classmethod
    def _tile_address(cls, value: str) -> str:
        if value:
            tile_source(value)  # raises naming what is wrong
        return value

    @field_validator("admin_password")
    @classmethod
    def _not_guessable(cls, value: str | None) -> str | None:
        if value is not None:
            check_password_strength(value)
        return value

    @property
    def broker_ca(self) -> Path | None:
        """The CA file clients verify the broker with (made by the server when it issues TLS)."""
        if self.broker_ca_file is not None:
            return self.broker_ca_file
        if self.broker_issue_tls and self.broker_auth_dir is not None:
            return self.broker_auth_dir / "ca.crt"
        return None

    @property
    def share_group_name(self) -> str:
        if self.share_group is not None:
            return self.share_group
        if self.broker_password is None:
            return "ws-server"  # an open broker (tests): nothing to hide from
        secret = self.broker_password.get_secret_value().encode()
        return "ws-" + hashlib.sha256(b"ws-share-group|" + secret).hexdigest()[:24]

    @property
    def map_image_sources(self) -> list[str]:
        """The map's tile servers as Content-Security-Policy sources (none without tiles)."""
        found = [tile_source(url) for url in (self.map_tile_url, self.map_label_url) if url]
        # Leaflet cancels a tile it no longer needs by pointing it at a data: image.
        return [*dict.fromkeys(found), "data:"] if found else []

    @property
    def sqlalchemy_url(self) -> str:
        return self.database_url or f"sqlite:///{self.data_dir / 'warm_station.db'}"

    @property
    def served_over_https(self) -> bool:
        if self.cookie_secure is not None:
            return self.cookie_secure
        return self.public_base_url.lower().startswith("https://")

    def unsafe_defaults(self) -> list[str]:
        """What makes these settings fit only for the demo (empty in demo mode). The check that
        needs the database (no admin password and no account yet) is in ``server.main``."""
        if self.demo_mode:
            return []
        found = []
        if self.audience == DEMO_AUDIENCE:
            found.append(f"WS_SERVER_AUDIENCE is the demo's {DEMO_AUDIENCE!r}: name the deployment")
        if (urlsplit(self.database_url).password or "").lower() in _DEFAULT_PASSWORDS:
            found.append("WS_SERVER_DATABASE_URL carries a default password")
        if self.broker_password is None:
            found.append("WS_SERVER_BROKER_PASSWORD is missing: the broker admits known accounts")
        elif self.broker_password.get_secret_value().lower() in _DEFAULT_PASSWORDS:
            found.append("WS_SERVER_BROKER_PASSWORD is a default password")
        if self.broker_ca_file is None and not self.broker_issue_tls:
            found.append("WS_SERVER_BROKER_CA_FILE is missing: the link to the broker is TLS")
        if self.auto_migrate:
            found.append(
                "WS_SERVER_AUTO_MIGRATE would upgrade the schema without a backup:"
                " run `python -m server.cli migrate` instead"
            )
        return found
