"""CPU per message in the server's MQTT consumer, measured on its own threads: what one
heartbeat, one event and one access decision cost the server, without the broker's or the
load generator's share and without the noise of a shared machine's wall clock.

The consumer (``server.mqtt.MqttConsumer``) runs in this process against a real database and
a private Mosquitto (its answers and acknowledgements are really published). Messages are
made beforehand, each signed with its station's key as its agent signs it, and handed to the
consumer's ``on_message`` (paho's callback) at a steady rate by a feeder thread; each kind in
a phase of its own. The CPU is the sum over the consumer's threads (its workers and its two
paho network threads) of ``pthread_getcpuclockid`` time, so the feeder is not counted; paho's
own parsing of incoming packets is not in it either (the messages do not come off a socket):
``bench/server_capacity.py`` measures the whole process, that included.

    .venv/bin/python bench/consumer_cpu.py --db sqlite,postgres
    .venv/bin/python bench/consumer_cpu.py --baseline main   # the same, main's code beside

Prints a table and, last, one JSON line. ``--baseline REF`` runs the same phases on the
server code at REF (``git archive``) in a child process, side by side.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Sequence
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(os.environ.get("WS_BENCH_CODE_DIR", Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(ROOT))

from demo.broker import PrivateBroker  # noqa: E402
from mqttlink import Inbound  # noqa: E402
from protocol.payloads import EventKind, Passage  # noqa: E402
from server.core.db import init_db, make_engine  # noqa: E402
from server.core.settings import ServerSettings  # noqa: E402
from server.keys.ring import KeyHolder  # noqa: E402
from server.mqtt.consumer import MqttConsumer  # noqa: E402
from tests.support.fleet import (  # noqa: E402
    Outgoing,
    access_request,
    enrol_riders,
    event,
    heartbeat,
    provision_fleet,
    tokens_for,
)

PG_ADMIN = "postgresql://postgres@127.0.0.1:5432/postgres"
TICK_S = 0.01


@dataclass
class Result:
    db: str
    code: str
    kind: str
    messages: int
    rate: float
    cpu_s: float
    wall_s: float

    def row(self) -> dict[str, object]:
        return {
            "db": self.db,
            "code": self.code,
            "kind": self.kind,
            "messages": self.messages,
            "rate_per_s": self.rate,
            "cpu_us_per_message": round(1e6 * self.cpu_s / max(1, self.messages), 1),
            "cpu_pct_at_rate": round(100 * self.cpu_s / self.wall_s, 1),
        }


def thread_cpu(threads: Sequence[threading.Thread]) -> float:
    total = 0.0
    for thread in threads:
        if thread.ident is not None and thread.is_alive():
            total += time.clock_gettime(time.pthread_getcpuclockid(thread.ident))
    return total


def consumer_threads(consumer: MqttConsumer) -> list[threading.Thread]:
    threads = list(consumer._workers)
    for link in (consumer._link, consumer._bulk_link):
        paho = getattr(link._client, "_thread", None)
        if paho is not None:
            threads.append(paho)
    return threads


def inbound(message: Outgoing, correlation: bytes | None = None) -> Inbound:
    return Inbound(
        message.topic,
        message.payload,
        retain=False,
        correlation_data=correlation,
        user_properties=message.user_properties,
    )


def feed(consumer: MqttConsumer, messages: Sequence[Inbound], rate: float) -> float:
    """Hand the messages to paho's callback at ``rate`` a second; the seconds it took."""
    started = time.monotonic()
    sent = 0
    while sent < len(messages):
        due = min(len(messages), int((time.monotonic() - started) * rate) + 1)
        for message in messages[sent:due]:
            consumer.on_message(message)
        sent = due
        time.sleep(TICK_S)
    return time.monotonic() - started


def wait_until(done: Callable[[], bool], timeout_s: float = 120.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not done():
        if time.monotonic() > deadline:
            raise RuntimeError("the consumer did not finish in time")
        time.sleep(0.02)


def total(consumer: MqttConsumer, key: str) -> int:
    return int(consumer.stats().get(key, 0))  # type: ignore[call-overload]


def measure(
    consumer: MqttConsumer, messages: Sequence[Inbound], rate: float, counter: str
) -> tuple[float, float]:
    """CPU seconds of the consumer's threads, and wall seconds, to handle ``messages``."""
    threads = consumer_threads(consumer)
    before = total(consumer, counter)
    dropped_before = sum(consumer.dropped.values())
    cpu_before = thread_cpu(threads)
    started = time.monotonic()
    feed(consumer, messages, rate)
    wait_until(
        lambda: (
            total(consumer, counter) - before + sum(consumer.dropped.values()) - dropped_before
            >= len(messages)
        )
    )
    wall = time.monotonic() - started
    cpu = thread_cpu(threads) - cpu_before
    dropped = sum(consumer.dropped.values()) - dropped_before
    if dropped:
        print(f"  warning: {dropped} dropped: {dict(consumer.dropped)}", file=sys.stderr)
    return cpu, wall


def run(db_kind: str, args: argparse.Namespace, code: str) -> list[Result]:
    with ExitStack() as stack:
        workdir = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="ws-cpu-")))
        broker = stack.enter_context(PrivateBroker())
        if db_kind == "sqlite":
            url = f"sqlite:///{workdir / 'bench.db'}"
        else:
            import psycopg

            name = f"ws_cpu_{uuid.uuid4().hex[:10]}"
            with psycopg.connect(PG_ADMIN, autocommit=True) as admin:
                admin.execute(f'CREATE DATABASE "{name}"')

            def drop() -> None:
                with psycopg.connect(PG_ADMIN, autocommit=True) as admin:
                    admin.execute(f'DROP DATABASE "{name}" WITH (FORCE)')

            stack.callback(drop)
            url = f"postgresql+psycopg://postgres@127.0.0.1:5432/{name}"
        engine = make_engine(url)
        stack.callback(engine.dispose)
        init_db(engine)
        keys_by_station = provision_fleet(engine, args.stations)
        stations = list(keys_by_station)
        riders = enrol_riders(engine, args.riders)
        settings = ServerSettings(
            data_dir=workdir,
            demo_mode=True,
            database_url=url,
            access_request_burst=10_000,
            access_requests_per_s=10_000,
            **broker.server_settings(""),  # type: ignore[arg-type]
        )
        key_holder = KeyHolder(engine)
        key_holder.reload()
        consumer = MqttConsumer(settings, engine, key_holder)
        consumer.start()
        stack.callback(consumer.stop)
        if not consumer.wait_connected(10):
            raise RuntimeError("the consumer could not reach the broker")

        def beats(count: int) -> list[Inbound]:
            return [
                inbound(
                    heartbeat(
                        keys_by_station[stations[n % len(stations)]], stations[n % len(stations)]
                    )
                )
                for n in range(count)
            ]

        epoch = uuid.uuid4().hex[:16]
        seqs = dict.fromkeys(stations, 0)

        def entries(count: int) -> list[Inbound]:
            made = []
            for n in range(count):
                station_id = stations[n % len(stations)]
                rider = riders[n % len(riders)].id
                for kind, fields in (
                    (EventKind.ACCESS_GRANTED, {"request_id": uuid.uuid4().hex, "rider_id": rider}),
                    (EventKind.DOOR_OPENED, {"passage": Passage.ENTRY, "rider_id": rider}),
                    (EventKind.DOOR_CLOSED, {}),
                    (EventKind.DOOR_OPENED, {"passage": Passage.EXIT}),
                    (EventKind.DOOR_CLOSED, {}),
                ):
                    seqs[station_id] += 1
                    made.append(
                        inbound(
                            event(
                                keys_by_station[station_id],
                                station_id,
                                epoch=epoch,
                                seq=seqs[station_id],
                                kind=kind,
                                **fields,
                            )
                        )
                    )
            return made

        def requests(count: int) -> list[Inbound]:
            now = time.time()
            tokens = tokens_for(riders, key_holder, audience=settings.audience, now=now)
            made = []
            for n in range(count):
                station_id = stations[(n * 7) % len(stations)]
                request_id, message = access_request(
                    keys_by_station[station_id], station_id, tokens[n % len(tokens)]
                )
                # A fresh code per request: each token once, then new ones.
                if (n + 1) % len(tokens) == 0:
                    tokens = tokens_for(riders, key_holder, audience=settings.audience, now=now)
                made.append(inbound(message, request_id.encode()))
            return made

        # Warm-up: key caches, prepared statements, connections.
        measure(consumer, beats(len(stations)), args.heartbeat_rate, "heartbeats_stored")
        measure(consumer, entries(100), args.event_rate / 5, "events_stored")
        measure(consumer, requests(50), args.request_rate, "decisions_sent")
        results = []
        for _ in range(args.repeat):
            cpu, wall = measure(
                consumer, beats(args.heartbeats), args.heartbeat_rate, "heartbeats_stored"
            )
            results.append(
                Result(db_kind, code, "heartbeat", args.heartbeats, args.heartbeat_rate, cpu, wall)
            )
            cpu, wall = measure(
                consumer, entries(args.events // 5), args.event_rate / 5 * 5, "events_stored"
            )
            results.append(Result(db_kind, code, "event", args.events, args.event_rate, cpu, wall))
            cpu, wall = measure(
                consumer, requests(args.requests), args.request_rate, "decisions_sent"
            )
            results.append(
                Result(db_kind, code, "decision", args.requests, args.request_rate, cpu, wall)
            )
        return results


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--db", default="sqlite,postgres")
    parser.add_argument("--stations", type=int, default=5_000)
    parser.add_argument("--riders", type=int, default=500)
    parser.add_argument("--heartbeats", type=int, default=15_000)
    parser.add_argument("--heartbeat-rate", type=float, default=3_100.0)
    parser.add_argument("--events", type=int, default=5_000)
    parser.add_argument("--event-rate", type=float, default=1_500.0)
    parser.add_argument("--requests", type=int, default=1_500)
    parser.add_argument("--request-rate", type=float, default=300.0)
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument("--baseline", default="", help="git ref run first, side by side")
    parser.add_argument("--code", default="this", help=argparse.SUPPRESS)
    parser.add_argument("--json-only", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    rows: list[dict[str, object]] = []
    for db_kind in [k for k in args.db.split(",") if k]:
        if args.baseline:
            rows += baseline_rows(args.baseline, db_kind)
        rows += [r.row() for r in run(db_kind, args, args.code)]
    if not args.json_only:
        print_table(rows)
    print(json.dumps({"rows": rows}))


def baseline_rows(ref: str, db_kind: str) -> list[dict[str, object]]:
    """The same phases on the server code at ``ref``, in a child process."""
    with tempfile.TemporaryDirectory(prefix="ws-cpu-code-") as target:
        archive = subprocess.run(
            ["git", "-C", str(ROOT), "archive", ref], check=True, capture_output=True
        ).stdout
        subprocess.run(["tar", "-x", "-C", target], input=archive, check=True)
        argv = [a for a in sys.argv[1:]]
        skip = {"--baseline", "--db"}
        kept: list[str] = []
        it = iter(argv)
        for a in it:
            if a.split("=", 1)[0] in skip:
                if "=" not in a:
                    next(it, None)
                continue
            kept.append(a)
        out = subprocess.run(
            [sys.executable, __file__, *kept, "--db", db_kind, "--code", ref, "--json-only"],
            env={**os.environ, "WS_BENCH_CODE_DIR": target},
            check=True,
            capture_output=True,
            text=True,
        ).stdout
    rows: list[dict[str, object]] = json.loads(out.strip().splitlines()[-1])["rows"]
    return rows


def print_table(rows: list[dict[str, object]]) -> None:
    print(
        f"{'db':>9} {'code':>8} {'kind':>9} {'messages':>8} {'rate/s':>7} "
        f"{'CPU µs/msg':>10} {'CPU % at rate':>13}"
    )
    for r in rows:
        print(
            f"{r['db']!s:>9} {r['code']!s:>8} {r['kind']!s:>9} {r['messages']!s:>8} "
            f"{r['rate_per_s']!s:>7} {r['cpu_us_per_message']!s:>10} {r['cpu_pct_at_rate']!s:>13}"
        )


if __name__ == "__main__":
    main()
