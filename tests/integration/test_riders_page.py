"""The riders page through real HTTP: enrolling answers with a redirect (reloading the page it
leads to enrols nobody), the link card names the rider, and the link is shown only to the login
that made it; staff decide requests to join and make invite codes from the page."""

from __future__ import annotations

import json
import re
from contextlib import closing
from urllib.parse import parse_qs, urlsplit

import httpx
from sqlmodel import Session, func, select

from server.audit.models import AuditEntry
from server.riders.models import Rider
from tests.conftest import ADMIN_PASSWORD
from tests.support.stack import ServerHarness


def _riders(server: ServerHarness) -> int:
    with Session(server.services.engine) as session:
        return int(session.exec(select(func.count()).select_from(Rider)).one())


def _link_on(page: str) -> str | None:
    found = re.search(r'<code id="new-link-url">([^<]+)</code>', page)
    return found.group(1) if found else None


def test_enrol_redirects_and_a_reload_enrols_nobody(server: ServerHarness) -> None:
    client = server.client
    before = _riders(server)
    posted = client.post("/riders/enrol", data={"display_name": "陈师傅", "platform": "eleme"})
    assert posted.status_code == 303
    target = posted.headers["location"]
    query = parse_qs(urlsplit(target).query)
    rider_id = query["enrolled"][0]
    assert _riders(server) == before + 1

    page = client.get(target)
    assert page.status_code == 200
    assert page.headers["cache-control"] == "no-store"
    assert "陈师傅（" + rider_id + "）的个人链接" in page.text
    link = _link_on(page.text)
    assert link is not None
    assert link.startswith(f"{client.base_url}/r/")
    assert link not in target  # the secret is sealed in the address, not written in it
    assert 'data-copy="new-link-url"' in page.text

    for _ in range(3):  # reloading, as a browser does after post/redirect/get
        again = client.get(target)
        assert _link_on(again.text) == link
    assert _riders(server) == before + 1
    assert server.client.get(link.removeprefix(str(client.base_url)) + "/token").status_code == 200
    with Session(server.services.engine) as session:
        [entry] = session.exec(select(AuditEntry).where(AuditEntry.action == "rider_enrolled"))
        assert (entry.actor, entry.rider_id) == ("admin", rider_id)
        assert json.loads(entry.after) == {"platform": "eleme", "status": "active"}


def test_the_link_shows_only_to_the_login_that_made_it(server: ServerHarness) -> None:
    target = server.client.post("/riders/enrol", data={"platform": "jd"}).headers["location"]
    other = httpx.Client(base_url=server.client.base_url, timeout=10)
    with closing(other):
        token = other.post(
            "/api/auth/login", json={"username": "admin", "password": ADMIN_PASSWORD}
        ).json()["token"]
        other.headers["Authorization"] = f"Bearer {token}"
        seen = other.get(target)
    assert seen.status_code == 200
    assert _link_on(seen.text) is None
    assert 'id="link-gone"' in seen.text
    tampered = target[:-3] + ("AAA" if not target.endswith("AAA") else "BBB")
    assert _link_on(server.client.get(tampered).text) is None


def test_a_new_link_redirects_too_and_the_old_one_stops(server: ServerHarness) -> None:
    rider_id, old = server.enrol()
    renewed = server.client.post(f"/riders/{rider_id}/renew")
    assert renewed.status_code == 303
    page = server.client.get(renewed.headers["location"])
    new = _link_on(page.text)
    assert new is not None
    assert new.removeprefix(str(server.client.base_url)) != old
    assert server.client.get(old).status_code == 404
    assert server.client.post("/riders/r-nobody/renew").status_code == 404
    with Session(server.services.engine) as session:
        [entry] = session.exec(select(AuditEntry).where(AuditEntry.action == "rider_link_renewed"))
        assert entry.rider_id == rider_id


def test_requests_and_invites_from_the_page(server: ServerHarness) -> None:
    phone = httpx.Client(base_url=server.client.base_url, timeout=10)
    with closing(phone):
        asked = [phone.post("/api/join", json={"platform": "didi"}).json() for _ in range(2)]
    page = server.client.get("/riders").text
    for request in asked:
        assert request["code"] in page
    ids = [r["id"] for r in server.client.get("/api/join/requests").json()]

    approved = server.client.post(f"/riders/requests/{ids[0]}/approve")
    assert approved.status_code == 303
    done = server.client.get(approved.headers["location"]).text
    assert f"已通过申请 {asked[0]['code']}" in done
    refused = server.client.post(f"/riders/requests/{ids[1]}/refuse")
    assert "refused_request" in refused.headers["location"]
    gone = server.client.post(f"/riders/requests/{ids[1]}/approve")  # decided already
    assert (
        f"申请 {asked[1]['code']} 已过期或已被处理"
        in server.client.get(gone.headers["location"]).text
    )
    assert "没有待审核的申请" in server.client.get("/riders").text

    made = server.client.post(
        "/riders/invites", data={"platform": "meituan", "count": "4", "days": "10", "note": "x"}
    )
    assert made.status_code == 303
    sheet = server.client.get(made.headers["location"])
    assert sheet.status_code == 200
    codes = re.findall(r'<code class="invite-code">([A-Z0-9-]+)</code>', sheet.text)
    assert len(codes) == 4
    assert sheet.text.count("<svg") >= 4  # a QR of /join?invite=... for each
    assert "暖心驿站邀请码（美团）" in sheet.text
    assert server.client.get("/riders/invites/9999").status_code == 404
    bad = server.client.post("/riders/invites", data={"platform": "meituan", "count": "0"})
    assert bad.status_code == 422
