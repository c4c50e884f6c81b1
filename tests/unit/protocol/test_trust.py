"""Trust pages: buckets, version order, and pages that never pass the payload cap."""

from __future__ import annotations

import random
import string
from collections import Counter
from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from protocol.payloads import MAX_DENYLIST_PAGE, MAX_PAYLOAD_BYTES, DenylistPage, dump, parse
from protocol.topics import (
    DENYLIST_BUCKETS,
    TRUST_KEYS,
    TrustTopic,
    denylist_topic,
    parse_trust,
)
from protocol.trust import PageStamp, bucket_of, by_bucket, denylist_page, is_newer

NOW = datetime(2026, 7, 1, tzinfo=UTC)
RIDER_ID = st.text(string.ascii_letters + string.digits + "_-", min_size=1, max_size=64)


def test_trust_topics_round_trip_and_nothing_else_parses() -> None:
    assert parse_trust(TRUST_KEYS) == TrustTopic(None)
    for bucket in (0, 7, 255):
        assert parse_trust(denylist_topic(bucket)) == TrustTopic(bucket)
    for topic in (
        "ws/v1/trust/denylist/FF",  # one spelling per bucket: the signature binds it
        "ws/v1/trust/denylist/100",
        "ws/v1/trust/denylist/+",
        "ws/v1/trust/denylist/",
        "ws/v1/trust/keys/x",
        "ws/v1/stations/s-1/config",
    ):
        assert parse_trust(topic) is None
    with pytest.raises(ValueError, match="no denylist bucket"):
        denylist_topic(DENYLIST_BUCKETS)


@given(RIDER_ID)
def test_a_rider_is_always_in_the_same_bucket(rider_id: str) -> None:
    assert bucket_of(rider_id) == bucket_of(rider_id)
    assert 0 <= bucket_of(rider_id) < DENYLIST_BUCKETS


def test_buckets_are_even_enough() -> None:
    rng = random.Random(1)
    ids = ["r-" + "".join(rng.choices(string.ascii_lowercase, k=12)) for _ in range(100_000)]
    sizes = Counter(bucket_of(rider_id) for rider_id in ids)
    assert len(sizes) == DENYLIST_BUCKETS
    assert max(sizes.values()) < MAX_DENYLIST_PAGE / 1.5  # ~390 on average


@pytest.mark.parametrize(
    ("candidate", "current", "newer"),
    [
        (PageStamp(2, 100.0), None, True),
        (PageStamp(3, 50.0), PageStamp(2, 100.0), True),  # a new version, whatever its time
        (PageStamp(2, 400.0), PageStamp(2, 100.0), True),  # the same re-issued: fresher
        (PageStamp(2, 100.0), PageStamp(2, 100.0), False),  # the same page again
        (PageStamp(2, 50.0), PageStamp(2, 100.0), False),
        (PageStamp(1, 900.0), PageStamp(2, 100.0), False),  # an old retained copy, a replay
    ],
)
def test_only_a_newer_page_replaces_the_one_held(
    candidate: PageStamp, current: PageStamp | None, newer: bool
) -> None:
    assert is_newer(candidate, current) is newer


def test_100000_revocations_a_day_fit_every_page_under_the_cap_even_at_the_longest_id() -> None:
    """The worst case: 100,000 riders revoked within the retention window, each with the
    longest id the protocol allows and the largest credential version."""
    rng = random.Random(2)
    alphabet = string.ascii_letters + string.digits
    denylist = {"".join(rng.choices(alphabet, k=64)): 2**31 for _ in range(100_000)}
    pages = by_bucket(denylist)
    assert len(pages) == DENYLIST_BUCKETS
    largest = 0
    for bucket, entries in pages.items():
        page = denylist_page(bucket, entries.items(), version=2**40, issued_at=NOW)
        assert len(page.denylist) == len(entries)  # nothing left out
        payload = dump(page)
        largest = max(largest, len(payload))
        assert parse(DenylistPage, payload) == page
    assert largest < MAX_PAYLOAD_BYTES * 0.7


def test_a_full_page_stays_under_the_cap_and_keeps_the_newest_entries() -> None:
    rng = random.Random(3)
    alphabet = string.ascii_letters + string.digits
    ids: list[str] = []
    while len(ids) < MAX_DENYLIST_PAGE + 50:
        rider_id = "".join(rng.choices(alphabet, k=64))
        if bucket_of(rider_id) == 9:
            ids.append(rider_id)
    page = denylist_page(9, ((r, 2**31) for r in ids), version=1, issued_at=NOW)
    assert list(page.denylist) == ids[:MAX_DENYLIST_PAGE]
    assert len(dump(page)) < MAX_PAYLOAD_BYTES


def test_a_page_refuses_a_rider_of_another_bucket() -> None:
    stray = next(f"r-{i}" for i in range(1000) if bucket_of(f"r-{i}") != 4)
    with pytest.raises(ValueError, match="bucket"):
        denylist_page(4, [(stray, 2)], version=1, issued_at=NOW)
