"""Capacity of the server: heartbeats, access requests and the events they produce from many
stations, through a real Mosquitto to real server processes (``python -m server``) on SQLite
and on PostgreSQL; then 1, 2 and 3 server processes on one broker and one PostgreSQL (MQTT 5
shared subscriptions).

Per phase: the rates offered, decisions answered, decision latency p50/p99 (request published
to decision received, by the load generator), events sent and stored, heartbeats sent and
stored (the server's own count, logged when it stops), the server's CPU and memory, and its CPU
per message handled (process CPU over decisions sent plus heartbeats and events stored, read
from its /metrics); two phases alone give CPU per heartbeat and per decision with its events,
for each code side by side. The broker
is "open" (anonymous, no ACL), so that a few connections can speak for every station (the
signatures are checked all the same). Broker, server(s) and load generator share the machine.

    .venv/bin/python bench/server_capacity.py --stations 10000 --seconds 20

Prints a table and, last, one JSON line.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import ExitStack
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import httpx
from capacity_load import Fleet, Tally
from sqlalchemy import Engine, func, insert
from sqlmodel import Session, select

from demo.broker import PrivateBroker
from demo.processes import free_port
from demo.server_process import ServerProcess
from server.core.db import init_db, make_engine
from server.events.models import EventRecord
from server.keys.ring import KeyHolder
from server.riders.models import Rider
from server.riders.tokens import issue_token
from tests.support.fleet import provision_fleet

PG_ADMIN = "postgresql://postgres@127.0.0.1:5432/postgres"
P99_TARGET_MS = 50.0
METRICS_TOKEN = uuid.uuid4().hex
_COUNTERS = {  # Prometheus sample name -> what it counts (main's server has them too)
    "ws_decisions_total": "decisions",
    "ws_heartbeats_stored_total": "heartbeats",
    "ws_events_stored_total": "events",
}


# One client for every scrape: a new one builds a TLS context each time (tens of ms of CPU,
# counted against the load generator).
_HTTP = httpx.Client()


def handled(servers: list[ServerProcess]) -> dict[str, float]:
    """Decisions sent, heartbeats and events stored so far, over the servers (/metrics)."""
    totals = dict.fromkeys(_COUNTERS.values(), 0.0)
    for server in servers:
        response = _HTTP.get(
            f"{server.base_url}/metrics",
            headers={"Authorization": f"Bearer {METRICS_TOKEN}"},
            timeout=30,
        )
        response.raise_for_status()
        for line in response.text.splitlines():
            name = line.split("{", 1)[0].split(" ", 1)[0]
            if name in _COUNTERS:
                totals[_COUNTERS[name]] += float(line.rsplit(" ", 1)[1])
            elif name == "ws_consumer_oldest_age_seconds":  # is a lane keeping up?
                lane = "oldest_s " + line.split('lane="', 1)[1].split('"', 1)[0]
                totals[lane] = max(totals.get(lane, 0.0), float(line.rsplit(" ", 1)[1]))
            elif name == "ws_decision_seconds_bucket":  # the server's own handling time
                bound = "handled_le " + line.split('le="', 1)[1].split('"', 1)[0]
                totals[bound] = totals.get(bound, 0.0) + float(line.rsplit(" ", 1)[1])
            elif name == "ws_consumer_cpu_seconds_total":  # this branch's server only
                thread = "cpu_s " + line.split('thread="', 1)[1].split('"', 1)[0]
                totals[thread] = totals.get(thread, 0.0) + float(line.rsplit(" ", 1)[1])
    return totals


@dataclass
class Phase:
    db: str
    code: str
    servers: int
    name: str
    seconds: float
    heartbeat_rate: float
    request_rate: float
    tally: Tally
    cpu_s: float
    handled: dict[str, float] = field(default_factory=dict)  # from the servers' /metrics
    load_cpu_s: float = 0.0  # the load generator's processes
    broker_cpu_s: float = 0.0
    database_cpu_s: float = 0.0  # PostgreSQL's processes (SQLite runs inside the server)

    def row(self) -> dict[str, object]:
        lat = sorted(self.tally.latencies_ms)
        answered = len(lat)
        decisions = self.handled.get("decisions", 0)
        heartbeats = self.handled.get("heartbeats", 0)
        events = self.handled.get("events", 0)
        messages = decisions + heartbeats + events
        return {
            "db": self.db,
            "code": self.code,
            "servers": self.servers,
            "phase": self.name,
            "heartbeats_per_s": round(self.tally.heartbeats / self.seconds),
            "requests_per_s": round(self.tally.requests / self.seconds),
            "answered_per_s": round(answered / self.seconds),
            "unanswered": self.tally.requests - answered,
            "p50_ms": round(statistics.median(lat), 2) if lat else None,
            "p99_ms": round(lat[min(len(lat) - 1, int(len(lat) * 0.99))], 2) if lat else None,
            # Where the 1 % tail is spent: before the server decided (the broker, the server's
            # network thread, the wait in its lane) or after (its database write, the answer's
            # way back).
            "p99_to_decided_ms": _p99(self.tally.to_decided_ms),
            "p99_after_decided_ms": _p99(self.tally.after_decided_ms),
            "events_sent": self.tally.events,
            "server_cpu_pct": round(100 * self.cpu_s / self.seconds),
            "server_cpu_s": round(self.cpu_s, 2),
            # What else ran on the same cores: the load generator and the broker.
            "load_cpu_pct": round(100 * self.load_cpu_s / self.seconds),
            "broker_cpu_pct": round(100 * self.broker_cpu_s / self.seconds),
            "database_cpu_pct": round(100 * self.database_cpu_s / self.seconds),
            "decisions": int(decisions),
            "heartbeats_stored": int(heartbeats),
            "events_stored": int(events),
            # The server process's CPU (every thread: paho's parsing included) per message it
            # handled in the phase, whatever its kind; the isolated phases split it by kind.
            "cpu_us_per_message": round(1e6 * self.cpu_s / messages) if messages else None,
            "cpu_us_per_heartbeat": (
                round(1e6 * self.cpu_s / heartbeats) if heartbeats and not decisions else None
            ),
            "cpu_us_per_decision_with_events": (
                round(1e6 * self.cpu_s / decisions) if decisions and not heartbeats else None
            ),
            # Decisions whose handling in the server (checks to answer, not the wait in its
            # lane nor the broker's hops) took over 25 and 50 ms: is a slow tail the server's?
            "handled_over_25_ms": self._handled_over("0.025"),
            "handled_over_50_ms": self._handled_over("0.05"),
            # The longest a message waited in each lane during the phase (sampled each second):
            # a bulk lane that falls behind holds more and more messages, until it sheds.
            "lane_oldest_s": {
                k.removeprefix("oldest_s "): round(v, 2)
                for k, v in sorted(self.handled.items())
                if k.startswith("oldest_s ")
            },
            # Where it went: each consumer thread's CPU seconds (servers that report them).
            "cpu_s_by_thread": {
                k.removeprefix("cpu_s "): round(v, 2)
                for k, v in sorted(self.handled.items())
                if k.startswith("cpu_s ")
            },
        }

    def _handled_over(self, bound: str) -> int | None:
        within, total = self.handled.get(f"handled_le {bound}"), self.handled.get("handled_le +Inf")
        return None if within is None or total is None else int(total - within)


def _p99(values: list[float]) -> float | None:
    ordered = sorted(values)
    return round(ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))], 2) if ordered else None


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / 100.0  # utime + stime, in clock ticks


def postgres_pids() -> list[int]:
    """The local PostgreSQL's processes (its backends included), by the account they run as."""
    pids = []
    for status in Path("/proc").glob("[0-9]*/status"):
        try:
            text = status.read_text()
        except OSError:  # gone meanwhile
            continue
        name = text.split("\n", 1)[0].removeprefix("Name:").strip()
        if name == "postgres":
            pids.append(int(status.parent.name))
    return pids


def database_cpu(db: str) -> dict[int, float]:
    """CPU seconds so far of each PostgreSQL process (none for SQLite, inside the server).
    Backends that end during a phase are missed; the server's and the bench's stay."""
    seconds: dict[int, float] = {}
    for pid in postgres_pids() if db == "postgres" else []:
        with contextlib.suppress(OSError):  # ended meanwhile
            seconds[pid] = cpu_seconds(pid)
    return seconds


def rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


class Database:
    """A fresh database of one kind, dropped at the end."""

    def __init__(self, kind: str, workdir: Path, code_dir: Path | None = None) -> None:
        self.kind = kind
        if kind == "sqlite":
            self.url = f"sqlite:///{workdir / f'bench-{uuid.uuid4().hex[:6]}.db'}"
            self._name = None
        else:
            import psycopg

            self._name = f"ws_bench_{uuid.uuid4().hex[:10]}"
            with psycopg.connect(PG_ADMIN, autocommit=True) as admin:
                admin.execute(f'CREATE DATABASE "{self._name}"')
            self.url = f"postgresql+psycopg://postgres@127.0.0.1:5432/{self._name}"
        self.engine = make_engine(self.url)
        if code_dir is None:
            init_db(self.engine)
        else:  # the schema of the code that will serve it (its own migrations)
            subprocess.run(
                [
                    sys.executable,
                    "-c",
                    "import sys; from server.core.db import init_db, make_engine; "
                    "init_db(make_engine(sys.argv[1]))",
                    self.url,
                ],
                cwd=code_dir,
                env={**os.environ, "PYTHONPATH": str(code_dir)},
                check=True,
            )

    def drop(self) -> None:
        self.engine.dispose()
        if self._name is not None:
            import psycopg

            with psycopg.connect(PG_ADMIN, autocommit=True) as admin:
                admin.execute(f'DROP DATABASE "{self._name}" WITH (FORCE)')

    def table_pages(self) -> dict[str, int] | None:
        """Heap pages of the tables rewritten all day (PostgreSQL): do they grow with the load?"""
        if self.kind != "postgres":
            return None
        with self.engine.connect() as connection:
            rows = connection.exec_driver_sql(
                "SELECT relname, pg_relation_size(oid) / 8192 FROM pg_class"
                " WHERE relname IN ('station', 'event_stream', 'tally') AND relkind = 'r'"
            )
            return {str(name): int(pages) for name, pages in rows}

    def count_events(self) -> int:
        with Session(self.engine) as session:
            return int(session.exec(select(func.count()).select_from(EventRecord)).one())


def enrol(engine: Engine, count: int) -> list[Rider]:
    now = datetime.now(UTC)
    riders = [
        Rider(id=f"r-{n:012d}", link_secret_hash=uuid.uuid4().hex, created_at=now)
        for n in range(count)
    ]
    with engine.begin() as connection:
        connection.execute(insert(Rider.__table__), [r.model_dump() for r in riders])  # type: ignore[attr-defined]
    return riders


def fresh_tokens(engine: Engine, riders: list[Rider], audience: str) -> Iterator[str]:
    """A new code for a random rider each time, signed with the server's rider key."""
    holder = KeyHolder(engine)
    holder.reload()
    rng = random.Random(2)
    while True:
        now = time.time()
        signer = holder.ring.signer(datetime.fromtimestamp(now, UTC))
        rider = rng.choice(riders)
        yield issue_token(rider=rider, signer=signer, audience=audience, lifetime_s=120, now=now)[0]


def start_servers(
    count: int, db: Database, broker: PrivateBroker, workdir: Path, code_dir: Path | None = None
) -> list[ServerProcess]:
    servers = []
    for n in range(count):
        server = ServerProcess(
            data_dir=workdir / f"server-{db.kind}-{n}-{uuid.uuid4().hex[:4]}",
            http_port=free_port(),
            broker_port=broker.port,
            code_dir=code_dir,
            extra_env={
                "WS_SERVER_DATABASE_URL": db.url,
                "WS_SERVER_CONFIG_REFRESH_S": "86400",  # not during the run
                "WS_SERVER_ACCESS_REQUEST_BURST": "1000",
                "WS_SERVER_ACCESS_REQUESTS_PER_S": "1000",
                "WS_SERVER_METRICS_TOKEN": METRICS_TOKEN,
            },
        )
        servers.append(server.start(timeout_s=900))
    return servers


def run_phase(
    fleet: Fleet,
    servers: list[ServerProcess],
    *,
    db: str,
    code: str = "ingest",
    name: str,
    seconds: float,
    heartbeat_rate: float,
    request_rate: float,
    broker_pid: int | None = None,
) -> Phase:
    # Signed (and the heartbeats encoded) before the clocks start: the generator shares the
    # cores it measures the server on (capacity_load.py).
    if heartbeat_rate:
        fleet.prepare_heartbeats(int(heartbeat_rate * seconds * 1.1) + 100)
    fleet.prepare_requests(int(request_rate * seconds * 1.1) + 10 if request_rate else 0)
    fleet.reset()
    pids = [s.pid for s in servers if s.pid is not None]
    counted_before = handled(servers)
    cpu_before = sum(cpu_seconds(pid) for pid in pids)
    others = {"load": fleet.pids(), "broker": [broker_pid] if broker_pid else []}
    database_before = database_cpu(db)
    others_before = {k: sum(cpu_seconds(pid) for pid in v) for k, v in others.items()}
    stop = threading.Event()
    threads: list[threading.Thread] = []
    if heartbeat_rate:
        threads.append(
            threading.Thread(target=fleet.send_heartbeats, args=(heartbeat_rate, stop), daemon=True)
        )
    if request_rate:
        threads.append(
            threading.Thread(target=fleet.send_requests, args=(request_rate, stop), daemon=True)
        )
    outbox_stop = threading.Event()
    outbox = threading.Thread(target=fleet.send_events, args=(outbox_stop,), daemon=True)
    started = time.monotonic()
    for thread in [outbox, *threads]:
        thread.start()
    oldest: dict[str, float] = {}  # each lane's oldest message's age, the most seen in the phase
    while time.monotonic() < started + seconds:
        time.sleep(min(1.0, max(0.0, started + seconds - time.monotonic())))
        for key, value in handled(servers).items():
            if key.startswith("oldest_s "):
                oldest[key] = max(oldest.get(key, 0.0), value)
    stop.set()
    elapsed = time.monotonic() - started
    for thread in threads:
        thread.join(30)
    deadline = time.monotonic() + 6  # past the decision's lifetime: an answer still owed is lost
    while fleet.unanswered() and time.monotonic() < deadline:
        time.sleep(0.05)
    outbox_stop.set()  # the events of late answers go out too
    outbox.join(30)
    # Until the servers have worked off what they queued: their CPU and their counts then
    # belong to this phase, not the next one.
    # (Unchanged for 2 s: a server starved of CPU by a busy machine can pause that long.)
    # (The messages handled only: the CPU figures beside them never stand still.)
    counts, drained_by, still = handled(servers), time.monotonic() + 60, 0
    while time.monotonic() < drained_by and still < 4:
        time.sleep(0.5)
        counts, before = handled(servers), counts
        settled = all(counts[k] == before[k] for k in _COUNTERS.values())
        still = still + 1 if settled else 0
    cpu = sum(cpu_seconds(pid) for pid in pids) - cpu_before
    others_cpu = {
        k: sum(cpu_seconds(pid) for pid in v) - others_before[k] for k, v in others.items()
    }
    database_after = database_cpu(db)
    others_cpu["database"] = sum(
        cpu - database_before.get(pid, 0.0) for pid, cpu in database_after.items()
    )
    counted = {
        k: v - counted_before.get(k, 0.0)
        for k, v in counts.items()
        if not k.startswith("oldest_s ")
    }
    counted |= oldest
    tally = fleet.reset()
    return Phase(
        db,
        code,
        len(servers),
        name,
        elapsed,
        heartbeat_rate,
        request_rate,
        tally,
        cpu,
        counted,
        load_cpu_s=others_cpu["load"],
        broker_cpu_s=others_cpu["broker"],
        database_cpu_s=others_cpu["database"],
    )


def consumer_stats(server: ServerProcess) -> dict[str, object]:
    """The counts the server logs when its consumer stops."""
    for line in reversed(server.log_path.read_text(errors="replace").splitlines()):
        if "consumer stopped: " in line:
            stats: dict[str, object] = json.loads(line.split("consumer stopped: ", 1)[1])
            return stats
    return {}


def wait_stored(db: Database, expected: int, timeout_s: float = 60) -> int:
    deadline = time.monotonic() + timeout_s
    stored = db.count_events()
    while stored < expected and time.monotonic() < deadline:
        time.sleep(0.5)
        stored = db.count_events()
    return stored


def run_database(
    kind: str,
    args: argparse.Namespace,
    broker: PrivateBroker,
    workdir: Path,
    code: str,
    code_dir: Path | None,
) -> dict[str, object]:
    """One server of one code (this branch, or the baseline's) on a fresh database."""
    db = Database(kind, workdir, code_dir)
    try:
        keys = provision_fleet(db.engine, args.stations)
        riders = enrol(db.engine, args.riders)
        servers = start_servers(1, db, broker, workdir, code_dir)
        fleet = Fleet(broker.port, keys, fresh_tokens(db.engine, riders, "ws-demo"))
        phases: list[Phase] = []
        events_sent = 0
        heartbeats_sent = 0
        try:
            warm_s = min(args.stations / args.heartbeats_per_s, 10.0)  # fills the key caches
            warm = run_phase(
                fleet,
                servers,
                db=kind,
                code=code,
                name="warm-up",
                seconds=warm_s,
                heartbeat_rate=args.heartbeats_per_s,
                request_rate=0,
            )
            heartbeats_sent += warm.tally.heartbeats
            # CPU by kind, each alone: heartbeats at the national rate; requests (and the events
            # their answers produce) at a rate every code keeps up with.
            steps: list[tuple[str, float, float]] = [
                ("cpu: heartbeats", args.heartbeats_per_s, 0.0),
                ("cpu: requests", 0.0, args.cpu_requests_per_s),
                ("target", args.heartbeats_per_s, args.requests_per_s),
            ]
            if code_dir is None:  # this branch: find how far it holds
                steps += [(f"ramp {r:.0f}", args.heartbeats_per_s, r) for r in args.ramp]
            for name, beats, rate in steps:
                phase = run_phase(
                    fleet,
                    servers,
                    db=kind,
                    code=code,
                    name=name,
                    seconds=args.seconds,
                    heartbeat_rate=beats,
                    request_rate=rate,
                    broker_pid=broker.pid,
                )
                phases.append(phase)
                events_sent += phase.tally.events
                heartbeats_sent += phase.tally.heartbeats
                print(json.dumps(phase.row()), flush=True)
            events_stored = wait_stored(db, events_sent)
            rss = rss_mib(servers[0].pid) if servers[0].pid else 0.0
        finally:
            fleet.close()
            for server in servers:
                server.stop()
        stats = consumer_stats(servers[0])
        holding = [
            p.request_rate
            for p in phases
            if p.heartbeat_rate
            and (p.row()["p99_ms"] or 1e9) <= P99_TARGET_MS
            and p.row()["unanswered"] == 0
        ]
        return {
            "db": kind,
            "code": code,
            "phases": [p.row() for p in phases],
            "events_sent": events_sent,
            "events_stored": events_stored,
            "heartbeats_sent": heartbeats_sent,
            "heartbeats_stored": stats.get("heartbeats_stored"),
            "dropped": stats.get("dropped"),
            "server_rss_mib": round(rss),
            "table_pages": db.table_pages(),
            "highest_rate_p99_ok": max(holding) if holding else None,
        }
    finally:
        db.drop()


def run_scale_out(
    args: argparse.Namespace, broker: PrivateBroker, workdir: Path
) -> list[dict[str, object]]:
    rows = []
    for count in args.scale_out:
        db = Database("postgres", workdir)
        try:
            keys = provision_fleet(db.engine, args.stations)
            riders = enrol(db.engine, args.riders)
            servers = start_servers(count, db, broker, workdir)
            fleet = Fleet(broker.port, keys, fresh_tokens(db.engine, riders, "ws-demo"))
            try:
                warm = run_phase(
                    fleet,
                    servers,
                    db="postgres",
                    name="warm-up",
                    seconds=5,
                    heartbeat_rate=0,
                    request_rate=args.saturate_per_s / 4,
                )
                phase = run_phase(
                    fleet,
                    servers,
                    db="postgres",
                    name=f"saturate x{count}",
                    seconds=args.seconds,
                    heartbeat_rate=0,
                    request_rate=args.saturate_per_s,
                    broker_pid=broker.pid,
                )
                print(json.dumps(phase.row()), flush=True)
                sent_events = warm.tally.events + phase.tally.events
                if args.scale_out_target_seconds:
                    # The national peak's mix, held: do N processes keep their bulk lanes
                    # up (lane_oldest_s) where one falls behind and sheds heartbeats?
                    peak = run_phase(
                        fleet,
                        servers,
                        db="postgres",
                        name=f"target x{count}",
                        seconds=args.scale_out_target_seconds,
                        heartbeat_rate=args.heartbeats_per_s,
                        request_rate=args.requests_per_s,
                        broker_pid=broker.pid,
                    )
                    print(json.dumps(peak.row()), flush=True)
                    sent_events += peak.tally.events
                events_stored = wait_stored(db, sent_events)
            finally:
                fleet.close()
                for server in servers:
                    server.stop()
            totals = [consumer_stats(s) for s in servers]
            row = phase.row()
            row["decisions_by_server"] = [t.get("decisions_sent") for t in totals]
            row["dropped"] = [t.get("dropped") for t in totals]
            row["events_stored"] = events_stored
            row["events_sent_total"] = sent_events
            rows.append(row)
            if args.scale_out_target_seconds:
                rows.append(peak.row() | {"dropped": [t.get("dropped") for t in totals]})
        finally:
            db.drop()
    return rows


def baseline_code(ref: str, workdir: Path) -> Path:
    """The server's code at ``ref``, unpacked (``git archive``) for a side-by-side run."""
    target = workdir / f"code-{ref.replace('/', '_')}"
    target.mkdir()
    repo = Path(__file__).resolve().parents[1]
    archive = subprocess.run(
        ["git", "-C", str(repo), "archive", ref], check=True, capture_output=True
    ).stdout
    subprocess.run(["tar", "-x", "-C", str(target)], input=archive, check=True)
    return target


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--stations", type=int, default=10_000)
    parser.add_argument("--riders", type=int, default=2_000)
    parser.add_argument("--db", default="sqlite,postgres")
    parser.add_argument("--heartbeats-per-s", type=float, default=3_100.0)
    parser.add_argument("--requests-per-s", type=float, default=300.0)
    parser.add_argument(
        "--ramp", type=lambda t: [float(r) for r in t.split(",") if r], default=[450.0, 600.0]
    )
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument(
        "--scale-out", type=lambda t: [int(n) for n in t.split(",") if n], default=[1, 2, 3]
    )
    parser.add_argument("--saturate-per-s", type=float, default=1_500.0)
    parser.add_argument(
        "--scale-out-target-seconds",
        type=float,
        default=0.0,
        help="after each scale-out step, hold the national peak's mix this long (0: not)",
    )
    parser.add_argument(
        "--cpu-requests-per-s",
        type=float,
        default=40.0,
        help="requests a second in the requests-only phase that measures CPU per decision",
    )
    parser.add_argument(
        "--baseline",
        default="main",
        help="git ref whose server runs first, side by side ('' : none)",
    )
    args = parser.parse_args()
    results: dict[str, object] = {"stations": args.stations}
    with ExitStack() as stack:
        workdir = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="ws-capacity-")))
        broker = stack.enter_context(PrivateBroker())
        codes: list[tuple[str, Path | None]] = [("ingest", None)]
        if args.baseline:
            codes.insert(0, (args.baseline, baseline_code(args.baseline, workdir)))
        for kind in [k for k in args.db.split(",") if k]:
            for code, code_dir in codes:
                results[f"{kind}/{code}"] = run_database(
                    kind, args, broker, workdir, code, code_dir
                )
        if args.scale_out:
            results["scale_out"] = run_scale_out(args, broker, workdir)
    print_table(results)
    print(json.dumps(results))


def print_table(results: dict[str, object]) -> None:
    columns = ("db", "code", "srv", "phase", "hb/s", "req/s", "ans/s", "lost", "p50 ms", "p99 ms")
    widths = (9, 7, 3, 14, 6, 6, 6, 5, 8, 8)
    print(
        " ".join(f"{c:>{w}}" for c, w in zip(columns, widths, strict=True))
        + "  cpu%  µs/msg  µs/hb  µs/dec+ev  load%  broker%  db%  p99 to/after decided ms"
        + "  bulk lane oldest s"
    )
    rows: list[dict[str, object]] = []
    for value in results.values():
        if isinstance(value, dict):
            rows += value["phases"]  # type: ignore[arg-type]
        elif isinstance(value, list):
            rows += value
    for r in rows:
        keys = ("db", "code", "servers", "phase", "heartbeats_per_s", "requests_per_s")
        keys += ("answered_per_s", "unanswered", "p50_ms", "p99_ms")
        cells = " ".join(f"{r[k]!s:>{w}}" for k, w in zip(keys, widths, strict=True))
        cpu = (
            f"{r['server_cpu_pct']!s:>4}  {r.get('cpu_us_per_message')!s:>6}  "
            f"{r.get('cpu_us_per_heartbeat')!s:>5}  {r.get('cpu_us_per_decision_with_events')!s:>9}"
            f"  {r.get('load_cpu_pct')!s:>5}  {r.get('broker_cpu_pct')!s:>7}"
            f"  {r.get('database_cpu_pct')!s:>3}"
            f"  {r.get('p99_to_decided_ms')!s:>9} / {r.get('p99_after_decided_ms')!s:<9}"
            f"  {r.get('lane_oldest_s', {}).get('bulk')!s:>6}"  # type: ignore[attr-defined]
        )
        print(f"{cells}  {cpu}")
    for key, value in results.items():
        if isinstance(value, dict):
            print(
                f"{key}: events sent {value['events_sent']}, stored {value['events_stored']}; "
                f"heartbeats sent {value['heartbeats_sent']}, stored {value['heartbeats_stored']}; "
                f"dropped {value['dropped']}; server RSS {value['server_rss_mib']} MiB; "
                f"table pages {value['table_pages']}; "
                f"highest request rate with p99 <= {P99_TARGET_MS:.0f} ms: "
                f"{value['highest_rate_p99_ok']}"
            )
    if isinstance(results.get("scale_out"), list):
        scale = [r for r in results["scale_out"] if str(r["phase"]).startswith("saturate")]  # type: ignore[index]
        base = scale[0]["answered_per_s"] or 1  # type: ignore[index]
        ratios = [round(r["answered_per_s"] / base, 2) for r in scale]  # type: ignore[index]
        print(f"scale-out throughput ratios: {ratios}")


if __name__ == "__main__":
    main()
