"""Joining's decisions on real SQLite and PostgreSQL when people act at the same moment: one
invite code enrols one rider however many use it at once; two staff deciding one request make
one decision; concurrent tries from one address respect its limit."""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from sqlalchemy import Engine
from sqlmodel import Session, func, select

from server.audit.models import AuditEntry
from server.core.errors import ConflictError
from server.core.localtime import utcnow
from server.join import repo
from server.join.models import JoinAttempt, JoinRequest
from server.riders.models import Platform, Rider

NOW = utcnow()


def _count(engine: Engine, table: type[Any]) -> int:
    with Session(engine) as session:
        return int(session.exec(select(func.count()).select_from(table)).one())


def _at_once(engine: Engine, n: int, act: Callable[[Session, int], object]) -> list[object]:
    """``act`` in ``n`` threads, each with its own session and number, released together."""
    start = threading.Barrier(n)
    results: list[object] = [None] * n
    lock = threading.Lock()

    def run(i: int) -> None:
        with Session(engine, expire_on_commit=False) as session:
            start.wait()
            try:
                outcome: object = act(session, i)
            except Exception as exc:
                outcome = exc
            with lock:
                results[i] = outcome

    threads = [threading.Thread(target=run, args=(i,)) for i in range(n)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    return list(results)


def test_one_invite_used_at_once_by_many_enrols_one_rider(engine: Engine) -> None:
    with Session(engine) as session:
        batch = repo.create_invites(
            session, platform=Platform.JD, count=1, days=1, note="", staff="admin", now=NOW
        )
        assert batch.id is not None
        [invite] = repo.batch_codes(session, batch_id=batch.id)[1]

    outcomes = _at_once(
        engine,
        6,
        lambda s, _: repo.use_invite(
            s, code=invite.code, display_name="", phone_hash=None, now=NOW
        ),
    )
    joined = [o for o in outcomes if isinstance(o, tuple)]
    refused = [o for o in outcomes if isinstance(o, repo.InviteError)]
    assert len(joined) == 1, outcomes
    assert len(refused) == 5
    assert {e.why for e in refused} == {"used"}
    assert _count(engine, Rider) == 1
    assert _count(engine, JoinRequest) == 1
    with Session(engine) as session:
        used = session.exec(select(AuditEntry).where(AuditEntry.action == "invite_used")).all()
        assert len(used) == 1


def test_two_staff_deciding_one_request_make_one_decision(engine: Engine) -> None:
    with Session(engine) as session:
        request, _ = repo.create_request(
            session, platform=Platform.DIDI, display_name="", phone_hash=None, now=NOW, ttl_s=600
        )
        request_id = request.id
        assert request_id is not None

    def decide(session: Session, i: int) -> object:
        if i % 2 == 0:
            return repo.approve(session, request_id=request_id, staff="a", now=NOW)
        return repo.refuse(session, request_id=request_id, staff="b", now=NOW)

    outcomes = _at_once(engine, 4, decide)
    decided = [o for o in outcomes if isinstance(o, JoinRequest)]
    assert len(decided) == 1, outcomes
    assert all(isinstance(o, ConflictError) for o in outcomes if o not in decided)
    assert _count(engine, Rider) == (1 if decided[0].status == "approved" else 0)
    assert _count(engine, AuditEntry) == 1


def test_simultaneous_tries_from_one_address_stop_at_the_limit(engine: Engine) -> None:
    limits = repo.Limits(per_window=3, window=timedelta(hours=1))
    outcomes = _at_once(
        engine, 8, lambda s, _: repo.count_attempt(s, client="10.0.0.9", now=NOW, limits=limits)
    )
    assert sum(o is None for o in outcomes) <= 3
    assert all(isinstance(o, repo.RateLimitedError) for o in outcomes if o is not None)
    assert _count(engine, JoinAttempt) <= 3
    # Another address is not held back by this one, and the window passes.
    with Session(engine) as session:
        repo.count_attempt(session, client="10.0.0.10", now=NOW, limits=limits)
        later = NOW + timedelta(hours=1, seconds=1)
        repo.count_attempt(session, client="10.0.0.9", now=later, limits=limits)


def test_attempts_older_than_any_window_are_pruned(engine: Engine) -> None:
    limits = repo.Limits(per_window=5, window=timedelta(hours=1))
    with Session(engine) as session:
        for client, at in [("a", NOW - timedelta(days=2)), ("b", NOW - timedelta(hours=2))]:
            repo.count_attempt(session, client=client, now=at, limits=limits)
        assert repo.prune_attempts(session, now=NOW) == 1
    assert _count(engine, JoinAttempt) == 1
