"""Deployment-wide trust data as stations receive it: which denylist bucket a rider is in,
which of two pages of the same kind is newer, and how a denylist is cut into pages. Pure.

One page per bucket (``protocol.topics.DENYLIST_BUCKETS``, by the first byte of SHA-256 of
the rider id), so a revocation republishes one page and a page's size is bounded: 100,000
revocations a day put about 390 riders in each bucket; ``MAX_DENYLIST_PAGE`` (800) entries at
the longest rider id are still under the payload cap.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime

from protocol.payloads import MAX_DENYLIST_PAGE, DenylistPage, TrustPage
from protocol.topics import DENYLIST_BUCKETS


def bucket_of(rider_id: str) -> int:
    """The denylist bucket of a rider: stable, even, and the same on server and station."""
    return hashlib.sha256(rider_id.encode()).digest()[0] % DENYLIST_BUCKETS


@dataclass(frozen=True, slots=True, order=True)
class PageStamp:
    """How new a trust page is: its version, then when it was (re)issued (epoch seconds)."""

    version: int
    issued_at: float


def is_newer(candidate: PageStamp, current: PageStamp | None) -> bool:
    """Whether ``candidate`` replaces ``current``: a higher version, or the same version
    issued later (a periodic re-issue that only says "still true"). The same page twice, or
    an older one (a stale retained copy, a replay), changes nothing."""
    return current is None or candidate > current


def by_bucket(denylist: Mapping[str, int]) -> dict[int, dict[str, int]]:
    """A denylist cut into its buckets (only the buckets that have entries)."""
    buckets: dict[int, dict[str, int]] = {}
    for rider_id, version in denylist.items():
        buckets.setdefault(bucket_of(rider_id), {})[rider_id] = version
    return buckets


def denylist_page(
    bucket: int,
    entries_newest_first: Iterable[tuple[str, int]],
    *,
    version: int,
    issued_at: datetime,
) -> DenylistPage:
    """One bucket's page. Entries beyond ``MAX_DENYLIST_PAGE`` (more than twice what 100,000
    revocations a day put in a bucket) are the oldest ones, and are left out rather than let the
    page pass the payload cap: a revoked rider gets no new codes, so an old entry only
    guards codes that have long expired."""
    kept: dict[str, int] = {}
    for rider_id, credential_version in entries_newest_first:
        if len(kept) == MAX_DENYLIST_PAGE:
            break
        if bucket_of(rider_id) != bucket:
            raise ValueError(f"rider {rider_id!r} is not in denylist bucket {bucket}")
        kept.setdefault(rider_id, credential_version)
    return DenylistPage(bucket=bucket, version=version, issued_at=issued_at, denylist=kept)


def stamp(page: TrustPage) -> PageStamp:
    return PageStamp(page.version, page.issued_at.timestamp())
