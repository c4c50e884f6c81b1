"""The HTTP hardening's rules on their own: which settings are the demo's, when the site counts
as HTTPS, which headers a path gets, the docs page's policy, how a client is counted."""

from __future__ import annotations

import base64
import hashlib
from typing import Any

import pytest

from server.core.settings import ServerSettings
from server.staff.throttle import client_address
from server.web.security_headers import PAGE_POLICY, docs_policy, headers_for

REAL = {
    "audience": "ws-hangzhou",
    "admin_password": "a-long-admin-secret",
    "broker_password": "Kx8-own-broker-pass",
    "broker_ca_file": "/etc/warm-station/broker-ca.crt",
}


@pytest.mark.parametrize(
    ("overrides", "refusal"),
    [
        ({"audience": "ws-demo"}, "WS_SERVER_AUDIENCE is the demo's 'ws-demo'"),
        (
            {"database_url": "postgresql+psycopg://postgres:change-me@db:5432/ws"},
            "WS_SERVER_DATABASE_URL carries a default password",
        ),
        (
            {"database_url": "postgresql+psycopg://postgres:postgres@db/ws"},
            "WS_SERVER_DATABASE_URL carries a default password",
        ),
        ({"broker_password": "changeme"}, "WS_SERVER_BROKER_PASSWORD is a default password"),
        ({"broker_password": None}, "WS_SERVER_BROKER_PASSWORD is missing"),
        ({"broker_ca_file": None}, "WS_SERVER_BROKER_CA_FILE is missing"),
    ],
    ids=[
        "demo audience",
        "compose's database password",
        "postgres/postgres",
        "broker",
        "no broker account",
        "no TLS",
    ],
)
def test_the_demos_defaults_are_refused_outside_demo_mode(
    overrides: dict[str, Any], refusal: str
) -> None:
    settings = ServerSettings(**{**REAL, **overrides})
    [found] = settings.unsafe_defaults()
    assert found.startswith(refusal)
    assert ServerSettings(**{**REAL, **overrides}, demo_mode=True).unsafe_defaults() == []


def test_real_settings_are_not_refused_and_secrets_stay_out_of_repr() -> None:
    settings = ServerSettings(
        **{**REAL, "broker_password": "Kx8-very-own-broker-pass"},
        database_url="postgresql+psycopg://ws:Kx8-very-own-db-pass@db/ws",
    )
    assert settings.unsafe_defaults() == []
    assert "Kx8" not in repr(settings)
    assert "a-long-admin-secret" not in repr(settings)
    assert ServerSettings().demo_mode is False  # off unless said


@pytest.mark.parametrize(
    ("base_url", "cookie_secure", "https"),
    [
        ("", None, False),
        ("http://10.0.0.5:8080", None, False),
        ("https://stations.example.cn", None, True),
        ("HTTPS://stations.example.cn", None, True),
        ("https://stations.example.cn", False, False),  # said explicitly: wins
        ("", True, True),
    ],
)
def test_when_the_site_counts_as_https(
    base_url: str, cookie_secure: bool | None, https: bool
) -> None:
    settings = ServerSettings(public_base_url=base_url, cookie_secure=cookie_secure)
    assert settings.served_over_https is https


def test_headers_for_a_path() -> None:
    staff = dict(headers_for("/riders", https=False))
    assert staff["Content-Security-Policy"] == PAGE_POLICY
    assert staff["Referrer-Policy"] == "same-origin"
    assert (staff["X-Frame-Options"], staff["X-Content-Type-Options"]) == ("DENY", "nosniff")
    assert "Strict-Transport-Security" not in staff
    rider = dict(headers_for("/r/abc/code", https=True))
    assert rider["Referrer-Policy"] == "no-referrer"
    assert rider["Strict-Transport-Security"].startswith("max-age=")
    assert dict(headers_for("/riders/r-1/renew", https=False))["Referrer-Policy"] == "same-origin"


def test_the_docs_policy_names_each_inline_script_by_its_hash() -> None:
    html = "<script src='x.js'></script><script>one()</script><p><script>\ntwo()\n</script>"
    policy = docs_policy(html, cdn="https://cdn.example")

    def sha(body: str) -> str:
        return base64.b64encode(hashlib.sha256(body.encode()).digest()).decode()

    script_src = next(p for p in policy.split("; ") if p.startswith("script-src"))
    two = sha("\ntwo()\n")
    assert script_src == f"script-src https://cdn.example 'sha256-{sha('one()')}' 'sha256-{two}'"
    assert "frame-ancestors 'none'" in policy


@pytest.mark.parametrize(
    ("host", "counted_as"),
    [
        ("198.51.100.7", "198.51.100.7"),
        ("2001:db8:1:2:3:4:5:6", "2001:db8:1:2::/64"),
        ("2001:db8:1:2:ffff::1", "2001:db8:1:2::/64"),  # same subscriber, new address
        ("::ffff:198.51.100.7", "198.51.100.7"),
        ("testclient", "testclient"),
        (None, "unknown"),
        ("", "unknown"),
        ("x" * 100, "x" * 64),
    ],
)
def test_how_a_client_is_counted(host: str | None, counted_as: str) -> None:
    assert client_address(host) == counted_as
