"""The station's denylist from its bucket pages: newest page per bucket, fresh only whole."""

from __future__ import annotations

from protocol.topics import DENYLIST_BUCKETS
from protocol.trust import PageStamp, bucket_of
from station_agent.core.denylist import BucketPage, Denylist

RIDER = "r-abcdefghijkm"
BUCKET = bucket_of(RIDER)


def _page(version: int, issued_at: float, entries: dict[str, int] | None = None) -> BucketPage:
    return BucketPage(PageStamp(version, issued_at), entries or {})


def test_a_lookup_reads_the_riders_bucket_and_an_older_page_changes_nothing() -> None:
    denylist = Denylist().with_page(BUCKET, _page(2, 100.0, {RIDER: 3}))
    assert denylist is not None
    assert denylist.get(RIDER) == 3
    assert dict(denylist) == {RIDER: 3}
    assert denylist.with_page(BUCKET, _page(1, 900.0)) is None  # never un-revokes
    assert denylist.with_page(BUCKET, _page(2, 100.0)) is None
    fresher = denylist.with_page(BUCKET, _page(2, 400.0, {RIDER: 3}))
    assert fresher is not None
    assert fresher.stamp_of(BUCKET) == PageStamp(2, 400.0)


def test_a_page_holding_a_rider_of_another_bucket_is_refused() -> None:
    assert Denylist().with_page((BUCKET + 1) % DENYLIST_BUCKETS, _page(1, 1.0, {RIDER: 2})) is None


def test_fresh_only_when_every_bucket_is_there_and_as_old_as_its_oldest() -> None:
    denylist = Denylist()
    for bucket in range(DENYLIST_BUCKETS - 1):
        step = denylist.with_page(bucket, _page(1, 1000.0 + bucket))
        assert step is not None
        denylist = step
    assert not denylist.complete
    assert denylist.fresh_as_of == 0.0  # a missing bucket: not fresh at all
    last = denylist.with_page(DENYLIST_BUCKETS - 1, _page(1, 5000.0))
    assert last is not None
    assert last.complete
    assert last.fresh_as_of == 1000.0
