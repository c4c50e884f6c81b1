from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime

import pytest

from protocol import topics
from protocol.codes import MAX_CODE_CHARS
from protocol.payloads import (
    MAX_PAYLOAD_BYTES,
    AccessRequest,
    EventKind,
    Heartbeat,
    PayloadError,
    StationEvent,
    dump,
    parse,
)
from protocol.topics import Family, InvalidStationIdError


def test_topics_round_trip() -> None:
    for family in Family:
        topic = topics.station_topic("station-01", family)
        assert topics.parse(topic) == topics.StationTopic("station-01", family)


@pytest.mark.parametrize("bad", ["", "+", "#", "a/b", "UPPER", "-lead", "x" * 64, "$sys"])
def test_station_ids_that_would_break_topics_are_refused(bad: str) -> None:
    with pytest.raises(InvalidStationIdError):
        topics.station_topic(bad, Family.EVENTS)


@pytest.mark.parametrize(
    "topic",
    ["other/topic", "ws/v1/stations/a/unknown", "ws/v1/stations/A/events", "ws/v1/stations/"],
)
def test_foreign_topics_parse_to_none(topic: str) -> None:
    assert topics.parse(topic) is None


def test_shared_subscription() -> None:
    assert (
        topics.shared("g", topics.all_stations(Family.EVENTS)) == "$share/g/ws/v1/stations/+/events"
    )


def _event(**overrides: object) -> dict[str, object]:
    event = {
        "v": 1,
        "event_id": uuid.uuid4().hex,
        "station_id": "station-01",
        "epoch": "0123456789abcdef",
        "seq": 1,
        "kind": "door_opened",
        "occurred_at": datetime.now(UTC).isoformat(),
    }
    event.update(overrides)
    return event


def test_event_round_trips() -> None:
    event = parse(StationEvent, json.dumps(_event()).encode())
    assert event.kind is EventKind.DOOR_OPENED
    assert parse(StationEvent, dump(event)) == event


@pytest.mark.parametrize(
    ("payload", "message"),
    [
        (b"", "StationEvent"),
        (b"[1]", "StationEvent"),
        (json.dumps(_event(v=2)).encode(), "v"),
        (json.dumps(_event(seq=0)).encode(), "seq"),
        (json.dumps(_event(kind="door_exploded")).encode(), "kind"),
        (json.dumps(_event(station_id="a/b")).encode(), "station_id"),
        (json.dumps(_event(event_id="x")).encode(), "event_id"),
        (json.dumps(_event(epoch="XYZ")).encode(), "epoch"),
        (json.dumps(_event(nonce="zz")).encode(), "nonce"),
        (json.dumps(_event(occurred_at="2026-01-01T00:00:00")).encode(), "occurred_at"),
        (b" " * (MAX_PAYLOAD_BYTES + 1), "exceeds"),
    ],
)
def test_invalid_payloads_raise_payload_error(payload: bytes, message: str) -> None:
    with pytest.raises(PayloadError, match=message):
        parse(StationEvent, payload)


def test_request_token_length_is_capped() -> None:
    request = {
        "request_id": uuid.uuid4().hex,
        "station_id": "station-01",
        "token": "A" * (MAX_CODE_CHARS + 1),  # the longer of a token and a device code
        "station_time": datetime.now(UTC).isoformat(),
    }
    with pytest.raises(PayloadError, match="token"):
        parse(AccessRequest, json.dumps(request).encode())


def _heartbeat(**changes: object) -> bytes:
    heartbeat: dict[str, object] = {
        "station_id": "station-01",
        "session_id": "s1",
        "sent_at": datetime.now(UTC).isoformat(),
        "interval_s": 30,
        "camera_ok": True,
        "outbox_depth": 0,
        "config_version": 1,
    }
    return json.dumps(heartbeat | changes).encode()


def test_a_heartbeat_without_the_new_fields_still_validates() -> None:
    heartbeat = parse(Heartbeat, _heartbeat())
    assert heartbeat.not_ready == []
    assert heartbeat.config_error is None


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"not_ready": ["Camera Stalled"]}, "not_ready"),
        ({"not_ready": ["x" * 33]}, "not_ready"),
        ({"not_ready": "camera_stalled"}, "not_ready"),
        ({"not_ready": ["camera_stalled"] * 9}, "not_ready"),
        ({"config_error": "x" * 10_000}, "config_error"),
        ({"config_error": 5}, "config_error"),
    ],
)
def test_a_heartbeat_with_bad_readiness_or_config_error_is_refused(
    changes: dict[str, object], field: str
) -> None:
    with pytest.raises(PayloadError, match=field):
        parse(Heartbeat, _heartbeat(**changes))


def test_committed_asyncapi_document_matches_the_models() -> None:
    from pathlib import Path

    from protocol import asyncapi

    committed = (Path(asyncapi.__file__).parent / "asyncapi.json").read_text()
    assert committed == asyncapi.render(), (
        "run: python -m protocol.asyncapi > protocol/asyncapi.json"
    )


def test_a_station_id_with_a_trailing_newline_is_not_one() -> None:
    assert topics.is_valid_station_id("station-01")
    assert not topics.is_valid_station_id("station-01\n")
    assert topics.parse("ws/v1/stations/station-01\n/events") is None
