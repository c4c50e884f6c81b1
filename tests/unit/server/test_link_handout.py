"""A new personal link carried sealed through the redirect after the form that made it."""

from __future__ import annotations

from server.riders import handout

NOW = 1_800_000_000.0


def test_the_login_that_sealed_it_opens_it_for_that_rider_for_a_while() -> None:
    sealed = handout.seal("s3cret", rider_id="r-abc", session_token="tok-1", now=NOW)
    assert "s3cret" not in sealed
    assert handout.unseal(sealed, rider_id="r-abc", session_token="tok-1", now=NOW + 60) == "s3cret"
    late = NOW + handout.HANDOUT_S + 1
    assert handout.unseal(sealed, rider_id="r-abc", session_token="tok-1", now=late) is None


def test_another_login_another_rider_or_a_changed_text_opens_nothing() -> None:
    sealed = handout.seal("s3cret", rider_id="r-abc", session_token="tok-1", now=NOW)
    assert handout.unseal(sealed, rider_id="r-abc", session_token="tok-2", now=NOW) is None
    assert handout.unseal(sealed, rider_id="r-xyz", session_token="tok-1", now=NOW) is None
    flipped = sealed[:-2] + ("A" if sealed[-2] != "A" else "B") + sealed[-1]
    for bad in (flipped, "", "%%%", "A" * 300, sealed[:10]):
        assert handout.unseal(bad, rider_id="r-abc", session_token="tok-1", now=NOW) is None
    assert handout.unseal(sealed, rider_id="r-abc", session_token="", now=NOW) is None
