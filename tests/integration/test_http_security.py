"""HTTP hardening against the real server: security headers on every kind of response, pages
without inline script or style, the session cookie's Secure flag, and logout."""

from __future__ import annotations

import base64
import hashlib
import re
from collections.abc import Iterator
from contextlib import closing
from pathlib import Path

import httpx
import pytest

from demo.broker import PrivateBroker
from server.core.settings import ServerSettings
from server.main import create_app
from server.web.security_headers import PAGE_POLICY
from tests.conftest import ADMIN_PASSWORD, SERVER_BROKER_PASSWORD
from tests.support.stack import ServerHarness, serve_in_thread, unique_station_id

# Inline code that the pages' policy would block (JSON data blocks never run, so they pass).
INLINE = {
    "inline script": re.compile(r"<script(?![^>]*\bsrc=)(?![^>]*application/json)[^>]*>"),
    "style element": re.compile(r"<style\b"),
    "style attribute": re.compile(r"<[^>]+\sstyle\s*="),
    "event handler attribute": re.compile(r"<[^>]+\son[a-z]+\s*="),
    "javascript: URL": re.compile(r"javascript:", re.IGNORECASE),
}


def _assert_hardened(reply: httpx.Response, *, referrer: str = "same-origin") -> None:
    headers = reply.headers
    assert headers["Content-Security-Policy"] == PAGE_POLICY, reply.url
    assert "frame-ancestors 'none'" in PAGE_POLICY
    assert "'unsafe-inline'" not in PAGE_POLICY
    assert headers["X-Frame-Options"] == "DENY"
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["Referrer-Policy"] == referrer
    assert "server" not in headers  # no uvicorn banner
    assert "Strict-Transport-Security" not in headers  # plain HTTP here


def _pages(server: ServerHarness) -> dict[str, httpx.Response]:
    station_id = unique_station_id()
    server.add_station(station_id)
    _, link = server.enrol()
    client = server.client
    posted = client.post("/riders/enrol", data={"display_name": "王", "platform": "meituan"})
    assert posted.status_code == 303  # post/redirect/get
    enrolled = client.get(posted.headers["location"])
    assert "new-link" in enrolled.text
    return {
        "overview": client.get("/"),
        "riders (new link)": enrolled,
        "join": client.get("/join?invite=ACEF-HJKM"),
        "reports": client.get("/reports"),
        "station": client.get(f"/stations/{station_id}"),
        "login": client.get("/login"),
        "station not found": client.get("/stations/no-such-station"),
        "rider pass": client.get(link),
        "station finder": client.get("/find"),
    }


def test_every_page_is_hardened_and_runs_no_inline_code(server: ServerHarness) -> None:
    for name, reply in _pages(server).items():
        assert reply.headers["content-type"].startswith("text/html"), name
        referrer = "no-referrer" if name in ("rider pass", "join") else "same-origin"
        _assert_hardened(reply, referrer=referrer)
        for what, pattern in INLINE.items():
            assert pattern.search(reply.text) is None, f"{name}: {what}"


def test_the_api_static_files_and_errors_carry_the_headers_too(server: ServerHarness) -> None:
    _, link = server.enrol()
    anonymous = httpx.Client(base_url=server.client.base_url, timeout=10)
    with closing(anonymous):
        replies = {
            "api": server.client.get("/api/stations"),
            "api 401": anonymous.get("/api/stations"),
            "api 422": server.client.post("/api/riders", json={"platform": "spaceship"}),
            "static": anonymous.get("/static/staff.js"),
            "health": anonymous.get("/healthz"),
            "no such path": anonymous.get("/no-such-page"),
            "redirect to login": anonymous.get("/riders", follow_redirects=False),
        }
        for name, reply in replies.items():
            assert reply.status_code in (200, 303, 401, 404, 422), name
            _assert_hardened(reply)
        for path in ("/code", "/token", "/qr.png"):  # the secret link's own resources
            _assert_hardened(anonymous.get(link + path), referrer="no-referrer")
        with server.client.stream("GET", "/api/stream") as stream:  # streamed, not buffered
            assert stream.status_code == 200
            _assert_hardened(stream)


def test_the_api_docs_allow_exactly_their_own_inline_script(server: ServerHarness) -> None:
    docs = server.client.get("/docs")
    assert docs.status_code == 200
    policy = docs.headers["Content-Security-Policy"]
    [inline] = re.findall(r"<script>(.*?)</script>", docs.text, re.DOTALL)
    digest = base64.b64encode(hashlib.sha256(inline.encode()).digest()).decode()
    script_src = next(p for p in policy.split("; ") if p.startswith("script-src"))
    assert f"'sha256-{digest}'" in script_src
    assert "unsafe" not in script_src
    assert "frame-ancestors 'none'" in policy
    assert docs.headers["X-Frame-Options"] == "DENY"
    assert server.client.get("/redoc").status_code == 404  # one docs page, not two


def test_the_login_answer_is_not_stored(server: ServerHarness) -> None:
    reply = server.client.post(
        "/api/auth/login", json={"username": "admin", "password": ADMIN_PASSWORD}
    )
    assert reply.headers["Cache-Control"] == "no-store"
    assert "Secure" not in reply.headers["set-cookie"]  # plain HTTP, not declared https


# -- logout -----------------------------------------------------------------------------------
def _cookie_login(server: ServerHarness) -> tuple[httpx.Client, str]:
    client = httpx.Client(base_url=server.client.base_url, timeout=10)
    reply = client.post("/api/auth/login", json={"username": "admin", "password": ADMIN_PASSWORD})
    assert reply.status_code == 200
    return client, str(reply.json()["csrf_token"])


def test_logout_ignores_an_authorization_header_of_another_scheme(server: ServerHarness) -> None:
    """The cookie's session ends: the Basic header is neither taken nor sliced as a token."""
    client, csrf = _cookie_login(server)
    with closing(client):
        token = client.cookies["ws_session"]
        headers = {"X-CSRF-Token": csrf, "Authorization": "Basic YWRtaW46c2VjcmV0"}
        reply = client.post("/api/auth/logout", headers=headers)
        assert reply.status_code == 204
        assert reply.headers["set-cookie"].startswith('ws_session="";')
    with httpx.Client(base_url=server.client.base_url, timeout=10) as replay:
        replay.cookies.set("ws_session", token)
        assert replay.get("/api/auth/me").status_code == 401  # ended on the server too


def test_logout_with_another_scheme_and_no_cookie_is_not_logged_in(
    server: ServerHarness,
) -> None:
    with httpx.Client(base_url=server.client.base_url, timeout=10) as client:
        for header in ("Basic YWRtaW46c2VjcmV0", "Bearer", "Bearer not-a-session", "Digest x"):
            reply = client.post("/api/auth/logout", headers={"Authorization": header})
            assert reply.status_code == 401, header
    assert server.client.get("/api/auth/me").status_code == 200  # nobody else logged out


def test_logout_with_a_bearer_token_ends_that_session_only(server: ServerHarness) -> None:
    client, _ = _cookie_login(server)
    with closing(client):
        login = server.client.post(
            "/api/auth/login", json={"username": "admin", "password": ADMIN_PASSWORD}
        )
        bearer = {"Authorization": f"Bearer {login.json()['token']}"}
        assert server.client.post("/api/auth/logout", headers=bearer).status_code == 204
        assert server.client.get("/api/auth/me", headers=bearer).status_code == 401
        assert client.get("/api/auth/me").status_code == 200  # the cookie session lives on


# -- HTTPS declared in the settings -------------------------------------------------------------
@pytest.fixture
def https_site(broker: PrivateBroker, tmp_path: Path) -> Iterator[httpx.Client]:
    """Behind a TLS-terminating proxy: this hop is plain HTTP, the site is https."""
    settings = ServerSettings(
        data_dir=tmp_path / "server",
        **broker.server_settings(SERVER_BROKER_PASSWORD),  # type: ignore[arg-type]
        audience="ws-test",
        admin_password=ADMIN_PASSWORD,
        public_base_url="https://stations.example.cn",
    )
    with serve_in_thread(create_app(settings)) as client:
        yield client


def test_a_site_served_over_https_gets_secure_cookies_and_hsts(https_site: httpx.Client) -> None:
    reply = https_site.post(
        "/api/auth/login", json={"username": "admin", "password": ADMIN_PASSWORD}
    )
    assert reply.status_code == 200
    cookie = reply.headers["set-cookie"]
    assert "ws_session=" in cookie
    assert {"Secure", "HttpOnly", "SameSite=lax"} <= {part.strip() for part in cookie.split(";")}
    assert reply.headers["Strict-Transport-Security"] == "max-age=31536000"
    logout = https_site.post(
        "/api/auth/logout", headers={"Authorization": f"Bearer {reply.json()['token']}"}
    )
    assert "Secure" in logout.headers["set-cookie"]  # the deletion matches the cookie
