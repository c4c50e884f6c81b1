"""The broker's password hashes and ACL text (server.broker.accounts, pure)."""

from __future__ import annotations

import base64

import pytest

from server.broker.accounts import (
    DEFAULT_MONITOR_USERNAME,
    DEFAULT_SERVER_USERNAME,
    INTERNAL_LISTENER_ROLES,
    STATION_LISTENER_ROLES,
    AccountError,
    BrokerAccount,
    Role,
    for_listener,
    hash_password,
    new_password,
    new_share_group,
    render_acl_file,
    render_password_file,
    verify_password,
)

# Made by Mosquitto 2.0.11's own `mosquitto_passwd -b file ws-server secret1`.
MOSQUITTO_PASSWD_LINE = (
    "ws-server:$7$101$NpVACVU97eTf3nWl$8qVmjt6jk5mQQaHbKEzgZmwA9oo3rQOvo3dO6uRZV59bVFYzru2uR6"
    "qujikG8I2fUkv4lknQVL6bwSjz8AxzwQ=="
)
HASH = hash_password("pw", iterations=1)


def test_hash_matches_mosquitto_passwd() -> None:
    _, _, stored = MOSQUITTO_PASSWD_LINE.partition(":")
    salt = base64.b64decode(stored.split("$")[3])
    assert hash_password("secret1", salt=salt, iterations=101) == stored
    assert verify_password("secret1", stored)
    assert not verify_password("secret2", stored)


def test_hash_format_and_fresh_salt() -> None:
    first, second = hash_password("same"), hash_password("same")
    assert first != second  # a new 12-byte salt each time
    _, seven, iterations, salt, digest = first.split("$")
    assert (seven, iterations) == ("7", "101")  # mosquitto_passwd's own count (reload cost)
    assert len(base64.b64decode(salt)) == 12
    assert len(base64.b64decode(digest)) == 64
    assert verify_password("same", first)


@pytest.mark.parametrize("iterations", [0, 10_000_000])
def test_iterations_out_of_range_are_refused(iterations: int) -> None:
    with pytest.raises(AccountError):
        hash_password("pw", iterations=iterations)


def test_new_password_is_long_random_and_url_safe() -> None:
    passwords = {new_password() for _ in range(20)}
    assert len(passwords) == 20
    for password in passwords:
        assert len(password) >= 32
        assert set(password) <= set(
            "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
        )


def test_share_group_is_secret_and_fits_the_server_setting() -> None:
    group = new_share_group()
    assert group != new_share_group()
    assert len(group) > 30
    assert group.replace("-", "").isalnum()


@pytest.mark.parametrize(
    ("username", "role"),
    [
        ("", Role.SERVER),
        ("has space", Role.SERVER),
        ("colon:name", Role.MONITOR),
        ("wild+card", Role.SERVER),
        ("hash#", Role.MONITOR),
        ("sla/sh", Role.SERVER),
        ("pct%u", Role.SERVER),
        ("Station-Upper", Role.STATION),  # station ids are lower case
        ("under_score", Role.STATION),
        ("x" * 65, Role.SERVER),
        ("trailing-newline\n", Role.SERVER),
        ("station-01\n", Role.STATION),
    ],
)
def test_unusable_usernames_are_refused(username: str, role: Role) -> None:
    with pytest.raises(AccountError):
        BrokerAccount(username, HASH, role)


@pytest.mark.parametrize(
    "bad_hash", ["", "plain", "$6$abc$def", "$7$101$salt$hash\nx:y", f"{HASH}\n"]
)
def test_only_mosquitto_7_hashes_are_accepted(bad_hash: str) -> None:
    with pytest.raises(AccountError):
        BrokerAccount("station-01", bad_hash, Role.STATION)


def test_role_may_come_as_a_stored_string() -> None:
    account = BrokerAccount("station-01", HASH, "station")  # type: ignore[arg-type]
    assert account.role is Role.STATION
    with pytest.raises(ValueError, match="admin"):
        BrokerAccount("station-01", HASH, "admin")  # type: ignore[arg-type]


def test_password_file_is_sorted_and_refuses_a_name_twice() -> None:
    b = BrokerAccount("station-b", HASH, Role.STATION)
    a = BrokerAccount("station-a", HASH, Role.STATION)
    assert render_password_file([b, a]) == f"station-a:{HASH}\nstation-b:{HASH}\n"
    assert render_password_file([]) == ""
    with pytest.raises(AccountError, match="twice"):
        render_password_file([a, BrokerAccount("station-a", HASH, Role.STATION)])


def _rules(text: str) -> list[str]:
    return [line for line in text.splitlines() if line and not line.startswith("#")]


def test_station_acl_is_patterns_on_the_own_subtree() -> None:
    stations = [BrokerAccount(f"station-0{i}", HASH, Role.STATION) for i in (1, 2)]
    assert _rules(render_acl_file(stations)) == [
        "pattern write ws/v1/stations/%u/access/request",
        "pattern write ws/v1/stations/%u/events",
        "pattern write ws/v1/stations/%u/state",
        "pattern write ws/v1/stations/%u/heartbeat",
        "pattern read ws/v1/stations/%u/access/decision",
        "pattern read ws/v1/stations/%u/config",
        "pattern read ws/v1/stations/%u/commands",
        "pattern read ws/v1/stations/%u/events/ack",
        "pattern read ws/v1/trust/#",  # the same keys and denylist pages for every station
    ]


def test_internal_acl_names_each_account() -> None:
    internal = [
        BrokerAccount(DEFAULT_MONITOR_USERNAME, HASH, Role.MONITOR),
        BrokerAccount(DEFAULT_SERVER_USERNAME, HASH, Role.SERVER),
    ]
    assert _rules(render_acl_file(internal)) == [
        "user ws-monitor",
        "topic read ws/v1/stations/+/access/decision",
        "topic read ws/v1/stations/+/events",
        "topic read ws/v1/stations/+/events/ack",
        "topic read ws/v1/stations/+/state",
        "topic read ws/v1/stations/+/heartbeat",
        "topic read ws/v1/stations/+/config",
        "topic read ws/v1/stations/+/commands",
        "topic read ws/v1/trust/#",
        "topic read homeassistant/#",  # Home Assistant logs in as the monitor: read only
        "topic read ws/v1/ha/#",
        "user ws-server",
        "topic write ws/v1/stations/+/access/decision",
        "topic write ws/v1/stations/+/config",
        "topic write ws/v1/stations/+/commands",
        "topic write ws/v1/stations/+/events/ack",
        "topic read ws/v1/stations/+/access/request",
        "topic read ws/v1/stations/+/events",
        "topic read ws/v1/stations/+/state",
        "topic read ws/v1/stations/+/heartbeat",
        "topic write ws/v1/trust/#",  # only the server writes trust pages
        "topic write homeassistant/#",
        "topic write ws/v1/ha/#",
    ]


def test_no_account_no_rule_and_no_mixing() -> None:
    assert _rules(render_acl_file([])) == []  # Mosquitto 2.0 then denies everything
    with pytest.raises(AccountError, match="separate"):
        render_acl_file(
            [
                BrokerAccount("station-01", HASH, Role.STATION),
                BrokerAccount("ws-server", HASH, Role.SERVER),
            ]
        )


def test_accounts_split_by_listener() -> None:
    station = BrokerAccount("station-01", HASH, Role.STATION)
    server = BrokerAccount("ws-server", HASH, Role.SERVER)
    monitor = BrokerAccount("ws-monitor", HASH, Role.MONITOR)
    every = [server, station, monitor]
    assert for_listener(every, STATION_LISTENER_ROLES) == [station]
    assert for_listener(every, INTERNAL_LISTENER_ROLES) == [monitor, server]
