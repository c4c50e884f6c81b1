"""Login throttling per address and per account from an address, on SQLite and PostgreSQL and
through HTTP from several loopback addresses; expired sessions pruned by the minute jobs."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from sqlalchemy import Engine
from sqlmodel import Session, col, func, select

from server.jobs.scheduler import run_minute_jobs
from server.staff import repo, throttle
from server.staff.models import LoginFailure, Role, StaffSession
from tests.conftest import ADMIN_PASSWORD
from tests.support.stack import ServerHarness

T0 = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
SMALL = throttle.Limits(
    per_address=4,
    address_window=timedelta(minutes=10),
    per_account=2,
    account_window=timedelta(minutes=1),
    account_alert=3,
)


def _fail(session: Session, address: str, username: str, at: datetime) -> None:
    """One wrong password: the try's row stays."""
    throttle.begin(session, address=address, username=username, now=at, limits=SMALL)
    throttle.failed(session, username=username, now=at, limits=SMALL)


def _rows(session: Session) -> int:
    return session.exec(select(func.count()).select_from(LoginFailure)).one()


# -- the throttle in the database, with a clock of our own ---------------------------------
def test_an_address_spraying_names_waits_until_its_oldest_failure_ages_out(
    engine: Engine,
) -> None:
    with Session(engine) as session:
        for i in range(SMALL.per_address):
            _fail(session, "198.51.100.7", f"name-{i}", T0 + timedelta(seconds=i))
        with pytest.raises(throttle.ThrottledError) as refused:
            throttle.begin(
                session, address="198.51.100.7", username="admin", now=T0 + timedelta(seconds=5),
                limits=SMALL,
            )  # fmt: skip
        assert refused.value.retry_after_s == 600 - 5
        # Another address, and the same account from it, are not slowed down at all.
        throttle.begin(session, address="203.0.113.9", username="admin", now=T0, limits=SMALL)
        # Refused tries are not counted: the time named is the time it takes.
        for seconds in range(6, 60):
            with pytest.raises(throttle.ThrottledError):
                throttle.begin(
                    session, address="198.51.100.7", username="x",
                    now=T0 + timedelta(seconds=seconds), limits=SMALL,
                )  # fmt: skip
        throttle.begin(
            session, address="198.51.100.7", username="admin", now=T0 + timedelta(seconds=600),
            limits=SMALL,
        )  # fmt: skip


def test_one_account_from_one_address_waits_a_minute_and_only_there(engine: Engine) -> None:
    with Session(engine) as session:
        _fail(session, "198.51.100.7", "admin", T0)
        _fail(session, "198.51.100.7", "admin", T0 + timedelta(seconds=10))
        with pytest.raises(throttle.ThrottledError) as refused:
            throttle.begin(
                session, address="198.51.100.7", username="admin",
                now=T0 + timedelta(seconds=20), limits=SMALL,
            )  # fmt: skip
        assert refused.value.retry_after_s == 60 - 20  # until the first of the two is old
        throttle.begin(session, address="203.0.113.9", username="admin", now=T0, limits=SMALL)
        throttle.begin(
            session, address="198.51.100.7", username="zhang", now=T0 + timedelta(seconds=20),
            limits=SMALL,
        )  # fmt: skip


def test_a_success_forgets_that_accounts_failures_from_that_address_only(
    engine: Engine,
) -> None:
    with Session(engine) as session:
        _fail(session, "198.51.100.7", "admin", T0)
        _fail(session, "198.51.100.7", "zhang", T0)
        _fail(session, "203.0.113.9", "admin", T0)
        throttle.succeeded(session, address="198.51.100.7", username="admin")
        session.commit()
        left = session.exec(select(LoginFailure.address, LoginFailure.username)).all()
        assert sorted(left) == [("198.51.100.7", "zhang"), ("203.0.113.9", "admin")]


def test_failures_past_every_window_are_pruned(engine: Engine) -> None:
    with Session(engine) as session:
        _fail(session, "198.51.100.7", "admin", T0)
        _fail(session, "198.51.100.8", "admin", T0 + timedelta(minutes=5))
        assert throttle.prune(session, now=T0 + timedelta(minutes=10), limits=SMALL) == 1
        assert _rows(session) == 1


def test_many_failures_on_one_account_are_logged_not_locked(
    engine: Engine, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="server.staff.throttle")
    with Session(engine) as session:
        for i in range(SMALL.account_alert):
            _fail(session, f"198.51.100.{i}", "admin", T0)
        throttle.begin(session, address="203.0.113.9", username="admin", now=T0, limits=SMALL)
    [record] = caplog.records
    assert record.getMessage() == "3 failed logins for account 'admin' from 3 addresses in 10 min"


# -- sessions --------------------------------------------------------------------------------
def test_the_minute_jobs_prune_expired_sessions_and_old_failures(engine: Engine) -> None:
    with Session(engine) as session:
        repo.create_user(session, username="zhang", password="zhang-password-1", role=Role.VIEWER,
                         now=T0, by="test")  # fmt: skip
        old = repo.login(
            session, username="zhang", password="zhang-password-1", address="a", now=T0
        )
        later = T0 + repo.SESSION_LIFETIME - timedelta(minutes=1)
        kept = repo.login(
            session, username="zhang", password="zhang-password-1", address="a", now=later
        )
        with pytest.raises(repo.LoginRefusedError):
            repo.login(session, username="zhang", password="wrong", address="a", now=later)
        assert _rows(session) == 1

    now = T0 + repo.SESSION_LIFETIME + timedelta(minutes=15)
    run_minute_jobs(engine, now=now)

    with Session(engine) as session:
        hashes = session.exec(select(StaffSession.token_hash)).all()
        assert len(hashes) == 1
        assert repo.authenticate(session, token=old.token, now=T0) is None  # gone for good
        assert repo.authenticate(session, token=kept.token, now=later) is not None
        assert _rows(session) == 0
        expired = select(StaffSession).where(col(StaffSession.expires_at) <= now)
        assert session.exec(expired).all() == []


# -- through HTTP, from several loopback addresses -------------------------------------------
def _from(server: ServerHarness, address: str) -> httpx.Client:
    transport = httpx.HTTPTransport(local_address=address)
    return httpx.Client(base_url=server.client.base_url, transport=transport, timeout=10)


def _login(client: httpx.Client, username: str, password: str) -> httpx.Response:
    return client.post("/api/auth/login", json={"username": username, "password": password})


def test_an_attacker_locking_admin_out_does_not_lock_out_the_real_admin(
    server: ServerHarness,
) -> None:
    with _from(server, "127.0.0.2") as attacker, _from(server, "127.0.0.1") as admin:
        codes = [_login(attacker, "admin", f"guess-{i}").status_code for i in range(5)]
        assert codes == [401] * 5
        refused = _login(attacker, "admin", f"guess-{5}")
        assert refused.status_code == 429
        assert 0 < int(refused.headers["Retry-After"]) <= 60
        # Not even the right password from there: a throttled address gets no verification.
        assert _login(attacker, "admin", ADMIN_PASSWORD).status_code == 429

        assert _login(admin, "admin", ADMIN_PASSWORD).status_code == 200


def test_an_address_spraying_user_names_is_refused_and_others_are_not(
    server: ServerHarness,
) -> None:
    with _from(server, "127.0.0.3") as sprayer, _from(server, "127.0.0.1") as admin:
        limit = throttle.LIMITS.per_address
        codes = [_login(sprayer, f"user-{i}", "password-1").status_code for i in range(limit)]
        assert codes == [401] * limit
        refused = _login(sprayer, "someone-else", "password-1")
        assert refused.status_code == 429
        assert 60 < int(refused.headers["Retry-After"]) <= 15 * 60
        assert "try again" in refused.json()["detail"]

        assert _login(admin, "admin", ADMIN_PASSWORD).status_code == 200


def test_a_success_resets_the_count_for_that_account(server: ServerHarness) -> None:
    with _from(server, "127.0.0.4") as client:
        assert [_login(client, "admin", "wrong-one").status_code for _ in range(4)] == [401] * 4
        assert _login(client, "admin", ADMIN_PASSWORD).status_code == 200
        assert [_login(client, "admin", "wrong-two").status_code for _ in range(4)] == [401] * 4
