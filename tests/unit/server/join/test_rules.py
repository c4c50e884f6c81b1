"""Joining's pure rules: codes people can read aloud, the link a request's page gets, phone
numbers and their keyed hash, a request's status over time."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest

from server.join import rules
from server.join.rules import JoinStatus

LOOK_ALIKES = set("0OQD1IL2Z5S8B6GUV")


def test_codes_use_no_look_alikes_and_are_grouped_for_reading() -> None:
    assert not LOOK_ALIKES & set(rules.CODE_ALPHABET)
    for _ in range(200):
        request, invite = rules.new_request_code(), rules.new_invite_code()
        assert set(request + invite) <= set(rules.CODE_ALPHABET)
        assert re.fullmatch(r"[A-Z0-9]{3}-[A-Z0-9]{3}", rules.show_code(request))
        assert re.fullmatch(r"[A-Z0-9]{4}-[A-Z0-9]{4}", rules.show_code(invite))
    assert rules.typed_code(" k7m-x4a ") == "K7MX4A"
    assert rules.typed_code(rules.show_code("ACEF3479")) == "ACEF3479"


def test_the_link_is_derived_from_the_token_and_nothing_else() -> None:
    token = rules.new_token()
    secret = rules.link_secret(token)
    assert secret == rules.link_secret(token)
    assert secret != rules.link_secret(rules.new_token())
    assert re.fullmatch(r"[A-Za-z0-9_-]{32}", secret)  # as long as a desk-made link's secret
    assert rules.token_hash(token) != rules.token_hash(secret)


@pytest.mark.parametrize(
    ("typed", "number"),
    [
        ("13812345678", "13812345678"),
        ("138 1234 5678", "13812345678"),
        ("+86 138-1234-5678", "13812345678"),
        ("008619912345678", "19912345678"),
        ("12812345678", None),  # no such mobile prefix
        ("1381234567", None),  # ten digits
        ("021 6123 4567", None),  # a landline
        ("", None),
    ],
)
def test_mainland_mobile_numbers(typed: str, number: str | None) -> None:
    assert rules.mainland_mobile(typed) == number


def test_the_phone_hash_needs_the_key() -> None:
    one = rules.phone_hash("13812345678", key=b"k" * 32)
    assert one == rules.phone_hash("13812345678", key=b"k" * 32)
    assert one != rules.phone_hash("13812345678", key=b"x" * 32)
    assert one != rules.phone_hash("13812345679", key=b"k" * 32)
    assert "13812345678" not in one


def test_a_pending_request_expires_at_its_time_and_decided_ones_never() -> None:
    at = datetime(2026, 12, 1, tzinfo=UTC)
    before, after = at - timedelta(seconds=1), at
    assert rules.status_at("pending", expires_at=at, now=before) is JoinStatus.PENDING
    assert rules.status_at("pending", expires_at=at, now=after) is JoinStatus.EXPIRED
    assert rules.status_at("approved", expires_at=at, now=after) is JoinStatus.APPROVED
    assert rules.status_at("refused", expires_at=at, now=after) is JoinStatus.REFUSED
