"""What watching costs, side by side with the work it watches, in one run.

- a camera frame of the empty doorway (most frames a station sees) decoded by the default
  decoder (zxing-cpp, zbar as fallback), bare and with the agent's metrics around it (frame
  counter, decode-time histogram);
- the server's per-decision instruments (two context binds, the result counter, the latency
  histogram) against the token check every request costs anyway (``verify_token``);
- one log line formatted as text and as a JSON line (python-json-logger, context fields).

Prints a table and one JSON line.

    .venv/bin/python bench/bench_observe.py [--rounds 2000]
"""

from __future__ import annotations

import argparse
import json
import logging
import statistics
import time
from collections.abc import Callable
from datetime import UTC, datetime

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from firmware_sim.camera import SimCamera
from protocol.credential import Claims, new_nonce, raw_public_key, sign_token, verify_token
from protocol.payloads import AccessDecision
from protocol.reasons import Reason
from server.metrics.instruments import DecisionMetrics
from station_agent.adapters.decoder_pyzbar import PyzbarDecoder
from station_agent.adapters.decoder_zxing import ZxingDecoder
from station_agent.metrics import AgentMetrics
from telemetry.logs import ContextFilter, SafeJsonFormatter, bind


def _median_us(work: Callable[[], object], rounds: int) -> float:
    times = []
    for _ in range(rounds):
        started = time.perf_counter()
        work()
        times.append(time.perf_counter() - started)
    return statistics.median(times) * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=2000)
    args = parser.parse_args()
    rounds = args.rounds

    frame = SimCamera(seed=1).read()
    assert frame is not None
    decoder = ZxingDecoder(fallback=PyzbarDecoder())
    metrics = AgentMetrics()

    def instrumented_frame() -> object:
        metrics.frames.inc()
        with metrics.decode_seconds.time():
            return decoder.decode(frame)

    decision = AccessDecision(
        request_id="0" * 32,
        station_id="st-bench",
        allowed=True,
        reason=Reason.GRANTED,
        rider_id="r-1",
        decided_at=datetime.now(UTC),
        expires_at=datetime.now(UTC),
    )
    decision_metrics = DecisionMetrics()

    def decision_instruments() -> None:
        started = time.perf_counter()
        bind(station_id="st-bench")
        bind(station_id="st-bench", request_id=decision.request_id)
        decision_metrics.observe(decision, time.perf_counter() - started)

    record = logging.LogRecord(
        "server.mqtt", logging.WARNING, __file__, 1, "dropped %s", ("x",), None
    )
    context = ContextFilter("st-bench")
    text = logging.Formatter("%(asctime)s server %(levelname)s %(message)s")
    as_json = SafeJsonFormatter("%(asctime)s %(levelname)s %(name)s %(message)s")

    def text_line() -> str:
        context.filter(record)
        return text.format(record)

    def json_line() -> str:
        context.filter(record)
        return as_json.format(record)

    rows: list[tuple[str, float, float]] = []
    # Both columns of a row measured back to back in one run: read the ratios.
    bare = _median_us(lambda: decoder.decode(frame), rounds)
    watched = _median_us(instrumented_frame, rounds)
    rows.append(("doorway frame: decode, bare / with agent metrics", bare, watched))
    decide_us = _median_us(_token_check(), rounds)
    instruments_us = _median_us(decision_instruments, rounds * 5)
    rows.append(("decision: token verified / the instruments added", decide_us, instruments_us))
    rows.append(
        (
            "log line: text / JSON",
            _median_us(text_line, rounds * 5),
            _median_us(json_line, rounds * 5),
        )
    )

    print(f"{'what':<52} {'first µs':>10} {'second µs':>10} {'ratio':>7}")
    for what, first, second in rows:
        print(f"{what:<52} {first:>10.2f} {second:>10.2f} {second / first:>7.3f}")
    print(
        json.dumps(
            {
                "frame_bare_us": round(rows[0][1], 2),
                "frame_with_metrics_us": round(rows[0][2], 2),
                "token_verify_us": round(rows[1][1], 2),
                "decision_instruments_us": round(rows[1][2], 2),
                "log_text_us": round(rows[2][1], 2),
                "log_json_us": round(rows[2][2], 2),
                "rounds": rounds,
            }
        )
    )


def _token_check() -> Callable[[], object]:
    """The server's own CPU work for one request: verifying the rider's token."""
    key = Ed25519PrivateKey.generate()
    keys = {"k1": raw_public_key(key)}
    now = time.time()
    token = sign_token(
        Claims("k1", "r-000000000001", "ws-bench", int(now), 60, new_nonce(), 1), key
    )
    return lambda: verify_token(token, keys=keys, audience="ws-bench", now=now)


if __name__ == "__main__":
    main()
