"""Trust data at national size: what a revocation costs, and how fast it reaches stations.

With N stations in the database (inserted in bulk) and 100,000 riders revoked within the
denylist's retention window, through real HTTP, a real Mosquitto and the real server:

- the revocation request (HTTP POST, p50/p99), messages and bytes it makes the server
  publish, and the time until ``--subscribers`` clients subscribed like stations (each
  verifying the signature with the pinned control key) hold the page naming the rider;
- the periodic refresh (every trust page) and the largest payload seen;
- side by side at 10,000 stations, the old design (``publish_all_configs``: one config per
  station with the keys and the whole denylist, built, signed and published inside the
  request), run with 1,000 revocations in the database (at 100,000 the old config is ~2 MB,
  over the 64 KiB cap, and no station could use it).

    .venv/bin/python bench/trust_fanout.py --stations 10000 186100

Prints a table, then one JSON line.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import queue
import secrets
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sqlalchemy import insert

from demo.broker import PrivateBroker
from mqttlink import Inbound, Link, LinkSettings
from protocol import topics
from protocol.credential import public_key_to_text
from protocol.payloads import DenylistPage, parse
from protocol.signing import SignatureCheck, sign, verify_trust
from protocol.topics import Family
from protocol.trust import bucket_of
from server.core.db import session_scope
from server.core.deps import Services
from server.core.localtime import utcnow
from server.core.settings import ServerSettings
from server.main import create_app
from server.riders.models import Rider
from server.riders.repo import denylist
from server.stations.models import Station
from server.stations.repo import config_version, get_station, list_stations
from server.stations.rules import mode_of
from tests.support.stack import serve_in_thread

ADMIN_PASSWORD = "bench-admin-password-" + uuid.uuid4().hex[:8]
REVOKED_IN_DB = 100_000


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


class Subscriber:
    """One station-like subscriber of the trust pages: verifies each page's signature with
    the pinned control keys and records when it first holds each revoked rider."""

    def __init__(self, port: int, name: str, control: dict[str, bytes]) -> None:
        self.control = control
        self.seen_at: dict[str, float] = {}
        self.refused = 0
        self.largest = 0
        self._link = Link(
            client_id=name,
            settings=LinkSettings(port=port),
            on_message=self._on_message,
            subscriptions=[(topics.all_trust_topics(), 1)],
        )

    def _on_message(self, message: Inbound) -> None:
        at = time.perf_counter()
        page = topics.parse_trust(message.topic)
        if page is None or page.bucket is None:
            return
        self.largest = max(self.largest, len(message.payload))
        check = verify_trust(
            message.user_properties, keys=self.control, page=page, payload=message.payload
        )
        if check is not SignatureCheck.OK:
            self.refused += 1
            return
        for rider_id in parse(DenylistPage, message.payload).denylist:
            self.seen_at.setdefault(rider_id, at)

    def __enter__(self) -> Subscriber:
        self._link.start()
        self._link.wait_connected(10)
        return self

    def __exit__(self, *_: object) -> None:
        self._link.stop()


class Counter:
    """Counts every message the server publishes (an open broker: it reads everything)."""

    def __init__(self, port: int) -> None:
        self.inbox: queue.SimpleQueue[Inbound] = queue.SimpleQueue()
        self._link = Link(
            client_id="bench-counter",
            settings=LinkSettings(port=port),
            on_message=self.inbox.put,
            subscriptions=[("ws/v1/#", 1)],
        )

    def drain(self, quiet_s: float) -> list[Inbound]:
        got: list[Inbound] = []
        try:
            while True:
                got.append(self.inbox.get(timeout=quiet_s))
        except queue.Empty:
            return got

    def __enter__(self) -> Counter:
        self._link.start()
        self._link.wait_connected(10)
        return self

    def __exit__(self, *_: object) -> None:
        self._link.stop()


def insert_stations(services: Services, count: int) -> None:
    now = utcnow()
    with session_scope(services.engine) as session:
        for start in range(0, count, 20_000):
            rows = [
                {"id": f"st-{i:06d}", "name": f"station {i}", "capacity": 10,
                 "online_changed_at": now}
                for i in range(start, min(count, start + 20_000))
            ]  # fmt: skip
            session.execute(insert(Station), rows)
        session.commit()


def insert_revoked(services: Services, count: int, *, offset: int) -> None:
    """Riders revoked at random times within the last day (the retention window)."""
    now = utcnow()
    with session_scope(services.engine) as session:
        for start in range(0, count, 20_000):
            rows = []
            for i in range(start, min(count, start + 20_000)):
                rider_id = f"r-bench{offset + i:07d}"
                changed = now - timedelta(seconds=(i * 86_000) / count)
                rows.append(
                    {
                        "id": rider_id,
                        "display_name": "",
                        "platform": "other",
                        "link_secret_hash": hashlib.sha256(secrets.token_bytes(16)).hexdigest(),
                        "credential_version": 2,
                        "credential_changed_at": changed,
                        "revoked_at": changed,
                        "created_at": changed - timedelta(days=30),
                        "denylist_bucket": bucket_of(rider_id),
                    }
                )
            session.execute(insert(Rider), rows)
        session.commit()


def legacy_publish_all_configs(services: Services) -> tuple[int, int, int]:
    """The design this replaces, as it was (server/mqtt/publisher.py before issue 12): every
    station's config with the keys and the whole denylist, built, signed, published.
    Returns (messages, bytes, largest)."""
    settings, keys, link = services.settings, services.keys, services.publisher._link
    with session_scope(services.engine) as session:
        station_ids = [station.id for station in list_stations(session)]
    messages = total = largest = 0
    for station_id in station_ids:
        now = utcnow()
        with session_scope(services.engine) as session:
            station = get_station(session, station_id=station_id)
            config = {
                "v": 1,
                "station_id": station_id,
                "config_version": config_version(session),
                "issued_at": now.isoformat(),
                "audience": settings.audience,
                "keys": {k: public_key_to_text(v) for k, v in keys.ring.published(now).items()},
                "denylist": denylist(
                    session, since=now - timedelta(seconds=settings.denylist_retention_s)
                ),
                "mode": (mode_of(station) if station else "normal"),
                "lockdown": station.lockdown if station else False,
                "control_keys": {
                    k: public_key_to_text(v) for k, v in keys.control.published(now).items()
                },
            }
        payload = json.dumps(config, default=str).encode()
        link.publish(
            topics.station_topic(station_id, Family.CONFIG),
            payload,
            qos=1,
            retain=True,
            user_properties=sign(keys.control.signers, Family.CONFIG, station_id, payload),
        )
        messages, total, largest = messages + 1, total + len(payload), max(largest, len(payload))
    return messages, total, largest


@contextmanager
def running_server(broker: PrivateBroker, data_dir: Path) -> Iterator[tuple[object, Services]]:
    settings = ServerSettings(
        data_dir=data_dir,
        audience="ws-bench",
        admin_password=ADMIN_PASSWORD,
        demo_mode=True,
        broker_port=broker.port,
    )
    app = create_app(settings)
    with serve_in_thread(app) as client:
        login = client.post(
            "/api/auth/login", json={"username": "admin", "password": ADMIN_PASSWORD}
        )
        client.headers["Authorization"] = f"Bearer {login.raise_for_status().json()['token']}"
        yield client, app.state.services


def measure_revocations(
    client: object, services: Services, subscribers: list[Subscriber], counter: Counter, n: int
) -> dict[str, float]:
    http = client  # httpx.Client
    riders = []
    for _ in range(n):
        reply = http.post("/api/riders", json={"platform": "courier"})  # type: ignore[attr-defined]
        riders.append(reply.raise_for_status().json()["id"])
    counter.drain(0.3)
    request_ms, reach_ms, messages, sizes = [], [], [], []
    for rider_id in riders:
        start = time.perf_counter()
        http.post(f"/api/riders/{rider_id}/revoke").raise_for_status()  # type: ignore[attr-defined]
        request_ms.append((time.perf_counter() - start) * 1000)
        deadline = time.monotonic() + 10
        while not all(rider_id in s.seen_at for s in subscribers) and time.monotonic() < deadline:
            time.sleep(0.0005)
        reach_ms.append((max(s.seen_at.get(rider_id, 1e9) for s in subscribers) - start) * 1000)
        sent = counter.drain(0.15)
        messages.append(len(sent))
        sizes.append(sum(len(m.payload) for m in sent))
    return {
        "request_p50_ms": statistics.median(request_ms),
        "request_p99_ms": pct(request_ms, 0.99),
        "reach_all_p50_ms": statistics.median(reach_ms),
        "reach_all_p99_ms": pct(reach_ms, 0.99),
        "messages_per_revocation": statistics.mean(messages),
        "bytes_per_revocation": statistics.mean(sizes),
    }


def run(stations: int, args: argparse.Namespace) -> dict[str, object]:
    result: dict[str, object] = {"stations": stations}
    with ExitStack() as stack:
        tmp = Path(stack.enter_context(tempfile.TemporaryDirectory()))
        broker = stack.enter_context(PrivateBroker())
        client, services = stack.enter_context(running_server(broker, tmp / "server"))
        insert_stations(services, stations)
        control = {k.kid: k.public_key for k in services.keys.control.signers}
        subscribers = [
            stack.enter_context(Subscriber(broker.port, f"bench-st-{i}", control))
            for i in range(args.subscribers)
        ]
        counter = stack.enter_context(Counter(broker.port))
        if args.legacy and stations <= args.legacy_max:
            insert_revoked(services, 1_000, offset=0)
            counter.drain(0.3)
            start = time.perf_counter()
            cpu = time.process_time()
            messages, total, largest = legacy_publish_all_configs(services)
            result["legacy_1000_revoked"] = {
                "fanout_s": time.perf_counter() - start,
                "cpu_s": time.process_time() - cpu,
                "messages": messages,
                "bytes": total,
                "largest_payload": largest,
            }
            counter.drain(1.0)
            result["new_1000_revoked"] = measure_revocations(
                client, services, subscribers, counter, args.revocations
            )
            insert_revoked(services, REVOKED_IN_DB - 1_000, offset=1_000)
        else:
            insert_revoked(services, REVOKED_IN_DB, offset=0)
        result["new_100000_revoked"] = measure_revocations(
            client, services, subscribers, counter, args.revocations
        )
        counter.drain(0.3)
        start = time.perf_counter()
        services.publisher.publish_trust()
        refresh_s = time.perf_counter() - start
        sent = counter.drain(1.0)
        result["refresh"] = {
            "seconds": refresh_s,
            "messages": len(sent),
            "bytes": sum(len(m.payload) for m in sent),
            "largest_payload": max(len(m.payload) for m in sent),
        }
        with session_scope(services.engine) as session:
            in_window = len(denylist(session, since=utcnow() - timedelta(days=1)))
        result["denylist_entries"] = in_window
        result["old_config_bytes_at_this_denylist"] = len(
            json.dumps({f"r-bench{i:07d}": 2 for i in range(in_window)}).encode()
        )
        result["signature_refusals"] = sum(s.refused for s in subscribers)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--stations", type=int, nargs="+", default=[10_000, 186_100])
    parser.add_argument("--revocations", type=int, default=100)
    parser.add_argument("--subscribers", type=int, default=20)
    parser.add_argument("--legacy-max", type=int, default=10_000)
    parser.add_argument("--no-legacy", dest="legacy", action="store_false")
    args = parser.parse_args()
    started = datetime.now(UTC)
    results = [run(n, args) for n in args.stations]

    print(f"trust fan-out, {args.revocations} revocations each, {args.subscribers} subscribers")
    print(f"{'stations':>9} {'design':<28} {'request p50/p99 ms':>20} {'reach all p50/p99 ms':>22}"
          f" {'msgs':>7} {'bytes':>10} {'largest':>8}")  # fmt: skip
    for r in results:
        legacy = r.get("legacy_1000_revoked")
        if isinstance(legacy, dict):
            print(f"{r['stations']:>9} {'old: every config (1k rev.)':<28} "
                  f"{legacy['fanout_s'] * 1000:>20.0f} {'-':>22} {legacy['messages']:>7} "
                  f"{legacy['bytes']:>10} {legacy['largest_payload']:>8}")  # fmt: skip
        for key, label in (("new_1000_revoked", "new: one page (1k rev.)"),
                           ("new_100000_revoked", "new: one page (100k rev.)")):  # fmt: skip
            m = r.get(key)
            if isinstance(m, dict):
                print(f"{r['stations']:>9} {label:<28} "
                      f"{m['request_p50_ms']:>9.1f} / {m['request_p99_ms']:<8.1f} "
                      f"{m['reach_all_p50_ms']:>10.1f} / {m['reach_all_p99_ms']:<9.1f} "
                      f"{m['messages_per_revocation']:>7.1f} {m['bytes_per_revocation']:>10.0f} "
                      f"{'':>8}")  # fmt: skip
        refresh = r["refresh"]
        assert isinstance(refresh, dict)
        print(f"{r['stations']:>9} {'new: periodic refresh':<28} {refresh['seconds'] * 1000:>20.0f}"
              f" {'-':>22} {refresh['messages']:>7} {refresh['bytes']:>10} "
              f"{refresh['largest_payload']:>8}")  # fmt: skip
    print(json.dumps({"bench": "trust_fanout", "at": started.isoformat(), "results": results}))


if __name__ == "__main__":
    main()
