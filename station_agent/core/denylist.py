"""The station's denylist, assembled from the server's denylist pages (one per bucket of
rider ids, ``protocol.trust``). Pure: pages in, a new ``Denylist`` out.

Each bucket keeps only its newest page (``protocol.trust.is_newer``), so an old retained copy
or a replayed page never brings a revoked rider back. The denylist is as fresh as its oldest
bucket, and not fresh at all while a bucket is missing: a station then refuses to decide
offline rather than trust a list it has only part of.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field

from protocol.topics import DENYLIST_BUCKETS
from protocol.trust import PageStamp, bucket_of, is_newer


@dataclass(frozen=True, slots=True)
class BucketPage:
    stamp: PageStamp
    entries: Mapping[str, int]  # rider id -> lowest credential version still valid


@dataclass(frozen=True, slots=True)
class Denylist(Mapping[str, int]):
    """rider id -> lowest credential version still valid; a lookup reads one bucket."""

    pages: Mapping[int, BucketPage] = field(default_factory=dict)

    def __getitem__(self, rider_id: str) -> int:
        page = self.pages.get(bucket_of(rider_id))
        if page is None:
            raise KeyError(rider_id)
        return page.entries[rider_id]

    def __iter__(self) -> Iterator[str]:
        for page in self.pages.values():
            yield from page.entries

    def __len__(self) -> int:
        return sum(len(page.entries) for page in self.pages.values())

    def with_page(self, bucket: int, page: BucketPage) -> Denylist | None:
        """This denylist with ``page`` for ``bucket``, or None when the page is not newer than
        the one held (nothing to change) or holds a rider of another bucket (not the server's)."""
        if not is_newer(page.stamp, self.stamp_of(bucket)):
            return None
        if any(bucket_of(rider_id) != bucket for rider_id in page.entries):
            return None
        return Denylist({**self.pages, bucket: page})

    def stamp_of(self, bucket: int) -> PageStamp | None:
        page = self.pages.get(bucket)
        return page.stamp if page is not None else None

    @property
    def complete(self) -> bool:
        return len(self.pages) == DENYLIST_BUCKETS

    @property
    def fresh_as_of(self) -> float:
        """When the oldest bucket's page was issued (epoch seconds); 0 while one is missing."""
        if not self.complete:
            return 0.0
        return min(page.stamp.issued_at for page in self.pages.values())
