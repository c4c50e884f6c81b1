"""Login throttling per client address, and per account from one address (docs/security.md).

Every try is written to ``login_failure`` and committed *before* the password is checked, and
deleted again if it succeeds: simultaneous tries (from several server workers too) see each
other, so a burst cannot slip past a limit while the first hash is still being computed. Tries
refused by the throttle are not counted, so waiting the time we name always works.

There is no lock on an account as such: an address that guesses wrong is slowed down, and the
account's owner on another address is not.
"""

from __future__ import annotations

import ipaddress
import logging
import math
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import ColumnElement
from sqlmodel import Session, col, delete, func, select

from server.core.localtime import as_utc
from server.staff.models import LoginFailure

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Limits:
    # One address, every account (known or not): spraying names or passwords.
    per_address: int = 20
    address_window: timedelta = timedelta(minutes=15)
    # One account from one address: the old "five wrong passwords, a minute's wait".
    per_account: int = 5
    account_window: timedelta = timedelta(minutes=1)
    # Failures on one account from anywhere in address_window: logged, never locking.
    account_alert: int = 50

    @property
    def kept_for(self) -> timedelta:
        return max(self.address_window, self.account_window)


LIMITS = Limits()


class ThrottledError(Exception):
    def __init__(self, retry_after_s: int) -> None:
        super().__init__(f"too many failed logins: try again in {retry_after_s} s")
        self.retry_after_s = retry_after_s


def client_address(host: str | None) -> str:
    """The key one client is counted under: an IPv4 address, or an IPv6 address's /64 (one
    subscriber usually holds a whole /64, and could otherwise take a new address per try)."""
    if not host:
        return "unknown"
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return host[:64]
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            return str(address.ipv4_mapped)
        return str(ipaddress.IPv6Network((address, 64), strict=False))
    return str(address)


def begin(
    session: Session, *, address: str, username: str, now: datetime, limits: Limits = LIMITS
) -> int:
    """Count this try (as a failure until ``succeeded``); its row id. Raises ThrottledError,
    counting nothing, when this address or this account from it has failed too often."""
    row = LoginFailure(address=address, username=username, at=now)
    session.add(row)
    session.commit()
    assert row.id is not None
    others = col(LoginFailure.id) != row.id
    from_here = col(LoginFailure.address) == address
    waits = [
        _wait(session, [others, from_here], limits.per_address, limits.address_window, now),
        _wait(
            session,
            [others, from_here, col(LoginFailure.username) == username],
            limits.per_account,
            limits.account_window,
            now,
        ),
    ]
    wait = max((w for w in waits if w is not None), default=None)
    if wait is not None:
        session.exec(delete(LoginFailure).where(col(LoginFailure.id) == row.id))
        session.commit()
        raise ThrottledError(wait)
    return row.id


def _wait(
    session: Session, where: list[ColumnElement[bool]], limit: int, window: timedelta, now: datetime
) -> int | None:
    """Seconds until fewer than ``limit`` of these failures are inside the window, or None
    when they already are: the limit-th newest is the one that has to age out."""
    statement = (
        select(LoginFailure.at)
        .where(*where, col(LoginFailure.at) > now - window)
        .order_by(col(LoginFailure.at).desc())
        .offset(limit - 1)
        .limit(1)
    )
    oldest_that_counts = session.exec(statement).first()
    if oldest_that_counts is None:
        return None
    left = (as_utc(oldest_that_counts) + window - now).total_seconds()
    return max(1, math.ceil(left))


def failed(session: Session, *, username: str, now: datetime, limits: Limits = LIMITS) -> None:
    """The try's row stays. Many failures on one account from anywhere are only logged: a
    lock would let anyone keep its owner out."""
    recent = session.exec(
        select(func.count())
        .select_from(LoginFailure)
        .where(
            col(LoginFailure.username) == username,
            col(LoginFailure.at) > now - limits.address_window,
        )
    ).one()
    if recent and recent % limits.account_alert == 0:
        addresses = session.exec(
            select(func.count(func.distinct(LoginFailure.address))).where(
                col(LoginFailure.username) == username,
                col(LoginFailure.at) > now - limits.address_window,
            )
        ).one()
        log.warning(
            "%d failed logins for account %r from %d addresses in %d min",
            recent,
            username,
            addresses,
            limits.address_window.total_seconds() // 60,
        )


def succeeded(session: Session, *, address: str, username: str) -> None:
    """The account's failures from this address are forgotten (its owner is back); the
    address keeps its other failures, so a valid account of one's own cannot launder them.
    The caller commits."""
    session.exec(
        delete(LoginFailure).where(
            col(LoginFailure.address) == address, col(LoginFailure.username) == username
        )
    )


def prune(session: Session, *, now: datetime, limits: Limits = LIMITS) -> int:
    """Failures older than every window count for nothing any more. Commits."""
    result = session.exec(delete(LoginFailure).where(col(LoginFailure.at) <= now - limits.kept_for))
    session.commit()
    return int(result.rowcount)
