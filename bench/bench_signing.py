"""What signed MQTT messages cost (issue 10), on one core, side by side in one run.

Per message: the station signing a request (and an event), the server verifying it against
the station's key, the station verifying a decision signed with one and with two control keys
(a rotation), and, for scale, parsing the same payload with its pydantic model, which every
message already paid for. Prints a table and one JSON line.

    .venv/bin/python bench/bench_signing.py [--seconds 2]
"""

from __future__ import annotations

import argparse
import json
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from protocol.payloads import (
    AccessDecision,
    AccessRequest,
    EventKind,
    Passage,
    StationEvent,
    dump,
    parse,
)
from protocol.reasons import Reason
from protocol.signing import SignatureCheck, SigningKey, sign, verify
from protocol.topics import Family

STATION = "station-01"


def per_op_us(label: str, op: Callable[[], object], seconds: float) -> float:
    done, start = 0, time.perf_counter()
    while (elapsed := time.perf_counter() - start) < seconds:
        for _ in range(200):
            op()
        done += 200
    micros = elapsed / done * 1e6
    print(f"{label:<46} {micros:8.1f} µs   {1e6 / micros:>10,.0f} /s")
    return micros


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=1.0, help="per figure")
    seconds = parser.parse_args().seconds
    now = datetime.now(UTC)
    station_key, control, successor = (SigningKey.generate() for _ in range(3))
    request = dump(
        AccessRequest(
            request_id=uuid.uuid4().hex,
            station_id=STATION,
            token="WS1:" + "A" * 170,
            station_time=now,
        )
    )
    event = dump(
        StationEvent(
            event_id=uuid.uuid4().hex,
            station_id=STATION,
            epoch="0123456789abcdef",
            seq=42,
            kind=EventKind.DOOR_OPENED,
            occurred_at=now,
            passage=Passage.ENTRY,
            rider_id="r-abcdefghijkl",
        )
    )
    decision = dump(
        AccessDecision(
            request_id=uuid.uuid4().hex,
            station_id=STATION,
            allowed=True,
            reason=Reason.GRANTED,
            rider_id="r-abcdefghijkl",
            decided_at=now,
            expires_at=now + timedelta(seconds=5),
        )
    )
    station_keys = {station_key.kid: station_key.public_key}
    pinned = {control.kid: control.public_key}
    signed_request = sign([station_key], Family.ACCESS_REQUEST, STATION, request)
    one = sign([control], Family.ACCESS_DECISION, STATION, decision)
    two = sign([successor, control], Family.ACCESS_DECISION, STATION, decision)

    def check(props: tuple[tuple[str, str], ...], keys: dict[str, bytes], family: Family,
              payload: bytes) -> Callable[[], object]:  # fmt: skip
        def run() -> object:
            outcome = verify(props, keys=keys, family=family, station_id=STATION, payload=payload)
            assert outcome is SignatureCheck.OK
            return outcome

        return run

    print(f"one core, {seconds:.1f} s per figure; payloads {len(request)}-{len(event)} bytes")
    results = {
        "station_sign_request_us": per_op_us(
            "station signs a request",
            lambda: sign([station_key], Family.ACCESS_REQUEST, STATION, request),
            seconds,
        ),
        "station_sign_event_us": per_op_us(
            "station signs an event",
            lambda: sign([station_key], Family.EVENTS, STATION, event),
            seconds,
        ),
        "server_verify_request_us": per_op_us(
            "server verifies the station's request",
            check(signed_request, station_keys, Family.ACCESS_REQUEST, request),
            seconds,
        ),
        "server_sign_decision_2keys_us": per_op_us(
            "server signs a decision (two control keys)",
            lambda: sign([successor, control], Family.ACCESS_DECISION, STATION, decision),
            seconds,
        ),
        "station_verify_decision_us": per_op_us(
            "station verifies a decision",
            check(one, pinned, Family.ACCESS_DECISION, decision),
            seconds,
        ),
        "station_verify_decision_rotation_us": per_op_us(
            "station verifies a decision during a rotation",
            check(two, pinned, Family.ACCESS_DECISION, decision),
            seconds,
        ),
        "parse_decision_us": per_op_us(
            "(for scale) parse the decision (pydantic)",
            lambda: parse(AccessDecision, decision),
            seconds,
        ),
        "parse_request_us": per_op_us(
            "(for scale) parse the request (pydantic)",
            lambda: parse(AccessRequest, request),
            seconds,
        ),
    }
    door_path = (
        results["station_sign_request_us"]
        + results["server_verify_request_us"]
        + results["server_sign_decision_2keys_us"]
        + results["station_verify_decision_us"]
    )
    results["door_path_signing_us"] = door_path
    results["door_path_vs_parse_ratio"] = door_path / (
        results["parse_decision_us"] + results["parse_request_us"]
    )
    print(f"{'signing added to one entry (4 operations)':<46} {door_path:8.1f} µs")
    print(json.dumps({"bench": "signing", **{k: round(v, 2) for k, v in results.items()}}))


if __name__ == "__main__":
    main()
