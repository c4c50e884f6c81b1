"""Staff reads at 10,000 and 186,100 stations, this tree against main's, side by side.

Fills a database (SQLite, and PostgreSQL when reachable at 127.0.0.1:5432) with stations, open
alarms and 200,000 events by bulk insert, then serves the staff routes of each tree over real
HTTP (uvicorn, one process per tree, the same database) and times, one request after another:
``GET /api/summary``, ``GET /api/stations`` (what it returns by default), the overview page,
the live stream's first snapshot, the visits report (14 days, every station), and the events
CSV (rows per second, and the serving process's peak memory after it). Prints a table and one
JSON line.

    .venv/bin/python bench/staff_reads.py [--stations 10000,186100] [--db sqlite,postgres]
        [--repeat 20] [--old-repeat 5] [--old-tree main]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
ADMIN_PASSWORD = "bench-admin-password"
EVENTS = 200_000
PG_ADMIN = "postgresql://postgres@127.0.0.1:5432/postgres"


# -- the parent: databases, trees, the table -----------------------------------------------
def fill(url: str, stations: int) -> None:
    """Stations (a seventh offline, some full, in lockdown or maintenance), open alarms on one
    in a hundred, and EVENTS entries and exits over the last 14 days, in bulk."""
    sys.path.insert(0, str(ROOT))
    from sqlalchemy import insert

    from server.alarms.models import Alarm
    from server.core.db import init_db, make_engine
    from server.events.models import EventRecord
    from server.reports.tally import recount
    from server.stations.models import Station

    engine = make_engine(url)
    init_db(engine)
    rng = random.Random(7)
    now = datetime.now(UTC)
    ids = [f"st-{i:06d}" for i in range(stations)]
    with engine.begin() as connection:
        connection.execute(
            insert(Station),
            [
                {
                    "id": sid,
                    "name": f"驿站 {i:06d}",
                    "capacity": 10 + i % 20,
                    "occupancy": i % 13,
                    "online": i % 7 != 0,
                    "online_changed_at": now - timedelta(minutes=i % 600),
                    "door_phase": "forced_open" if i % 997 == 0 else "locked",
                    "lockdown": i % 500 == 0,
                    "maintenance": i % 300 == 0,
                    "closed_by_hours": i % 50 == 0,
                    # Spread over China, for the map; one in forty without coordinates.
                    "latitude": 18 + (i * 7919 % 2200) / 100 if i % 40 else None,
                    "longitude": 98 + (i * 104_729 % 2400) / 100 if i % 40 else None,
                }
                for i, sid in enumerate(ids)
            ],
        )
        connection.execute(
            insert(Alarm),
            [
                {"station_id": sid, "kind": "held_open", "raised_at": now, "detail": ""}
                for sid in ids[::100]
            ],
        )
        rows = []
        for seq in range(EVENTS):
            at = now - timedelta(seconds=rng.randrange(14 * 86_400))
            entry = rng.random() < 0.9
            rows.append(
                {
                    "event_id": uuid.uuid4().hex,
                    "station_id": ids[rng.randrange(stations)],
                    "epoch": "e1",
                    "seq": seq,
                    "kind": "door_opened",
                    "passage": "entry" if entry else "exit",
                    "rider_id": f"r-{rng.randrange(20_000)}" if entry else None,
                    "occurred_at": at,
                    "received_at": at,
                    "applied": True,
                }
            )
        connection.execute(insert(EventRecord), rows)
        recount(connection)  # planted behind the event store: the summary's totals rebuilt
    if url.startswith("postgresql"):  # as autovacuum leaves a table: counted, visible
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
            connection.exec_driver_sql("VACUUM ANALYZE")
    engine.dispose()


def databases(kinds: list[str], stations: int, workdir: Path) -> list[tuple[str, str]]:
    found = []
    for kind in kinds:
        if kind == "sqlite":
            found.append((kind, f"sqlite:///{workdir / f'reads-{stations}.db'}"))
            continue
        import psycopg

        try:
            admin = psycopg.connect(PG_ADMIN, autocommit=True, connect_timeout=3)
        except psycopg.OperationalError:
            print("(PostgreSQL not reachable: skipped)", file=sys.stderr)
            continue
        name = f"ws_bench_reads_{stations}_{uuid.uuid4().hex[:6]}"
        with admin:
            admin.execute(f'CREATE DATABASE "{name}"')
        found.append((kind, f"postgresql+psycopg://postgres@127.0.0.1:5432/{name}"))
    return found


def drop(url: str) -> None:
    if url.startswith("postgresql"):
        import psycopg

        with psycopg.connect(PG_ADMIN, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE "{url.rsplit("/", 1)[1]}" WITH (FORCE)')


def measure_tree(tree: Path, url: str, repeat: int, workdir: Path) -> dict[str, Any]:
    """The staff routes of ``tree`` in a process of their own; its JSON line."""
    env = os.environ | {"PYTHONPATH": str(tree), "PYTHONDONTWRITEBYTECODE": "1"}
    command = [sys.executable, __file__, "--measure", url, "--repeat", str(repeat)]
    command += ["--workdir", str(workdir)]
    done = subprocess.run(command, env=env, cwd=tree, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise SystemExit(f"measuring {tree} failed:\n{done.stderr[-3000:]}")
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def old_tree(ref: str, workdir: Path) -> Path:
    """A copy of ``ref``'s files (git archive), so its code runs without touching a worktree."""
    target = workdir / f"tree-{ref}"
    target.mkdir()
    archive = subprocess.run(
        ["git", "-C", str(ROOT), "archive", ref], capture_output=True, check=True
    ).stdout
    subprocess.run(["tar", "-x", "-C", str(target)], input=archive, check=True)
    return target


# -- the child: one tree's staff routes over HTTP --------------------------------------------
def serve(url: str, workdir: Path) -> tuple[str, Callable[[], None]]:
    import uvicorn
    from fastapi import FastAPI
    from sqlmodel import Session

    import server
    from server.core.db import make_engine
    from server.core.deps import Services
    from server.core.settings import ServerSettings
    from server.events import routes as event_routes
    from server.main import PAGE_ROUTERS
    from server.reports import routes as report_routes
    from server.staff import repo as staff_repo
    from server.staff import routes as staff_routes
    from server.stations import routes as station_routes

    print(f"serving {Path(server.__file__).parent.parent}", file=sys.stderr)
    engine = make_engine(url)
    settings = ServerSettings(data_dir=workdir, database_url=url, demo_mode=True)
    with Session(engine) as session:
        staff_repo.ensure_admin(
            session, username="admin", password=ADMIN_PASSWORD, now=datetime.now(UTC)
        )
    app = FastAPI()
    for router in (
        station_routes.router,
        event_routes.router,
        report_routes.router,
        staff_routes.router,
    ):
        app.include_router(router)
    for router in PAGE_ROUTERS:
        app.include_router(router)
    # Only the engine and settings are read by these routes; MQTT and the broker stay out.
    app.state.services = Services(settings, engine, None, None, None, None, time.time)  # type: ignore[arg-type]
    try:
        from server.reports.live import LiveFeed  # this tree: one poller per process
        from server.reports.overview import LiveReader

        app.state.live_feed = LiveFeed(LiveReader(engine))
    except ImportError:
        pass  # main's tree: each stream polls for itself
    port = 18000 + os.getpid() % 2000
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning")
    runner = uvicorn.Server(config)
    thread = threading.Thread(target=runner.run, daemon=True)
    thread.start()
    while not runner.started:
        time.sleep(0.05)

    def stop() -> None:
        runner.should_exit = True
        thread.join(10)
        engine.dispose()

    return f"http://127.0.0.1:{port}", stop


def timed(repeat: int, request: Callable[[], int]) -> dict[str, float]:
    request()  # warm: connections, caches, compiled statements
    times, size = [], 0
    for _ in range(repeat):
        started = time.perf_counter()
        size = request()
        times.append((time.perf_counter() - started) * 1000)
    times.sort()
    p99 = times[min(len(times) - 1, round(0.99 * (len(times) - 1)))]
    return {"p50_ms": statistics.median(times), "p99_ms": p99, "bytes": size, "n": repeat}


def measure(url: str, repeat: int, workdir: Path) -> dict[str, Any]:
    import httpx

    base, stop = serve(url, workdir)
    results: dict[str, Any] = {}
    try:
        with httpx.Client(base_url=base, timeout=600) as client:
            login = client.post(
                "/api/auth/login", json={"username": "admin", "password": ADMIN_PASSWORD}
            )
            client.headers["Authorization"] = f"Bearer {login.raise_for_status().json()['token']}"

            def get(path: str) -> Callable[[], int]:
                return lambda: len(client.get(path).raise_for_status().content)

            def first_snapshot() -> int:
                with client.stream("GET", "/api/stream") as reply:
                    for line in reply.iter_lines():
                        if line.startswith("data: "):
                            return len(line)
                raise RuntimeError("the stream ended")

            results["summary"] = timed(repeat, get("/api/summary"))
            results["stations"] = timed(repeat, get("/api/stations"))
            results["overview"] = timed(repeat, get("/"))
            results["stream_first"] = timed(repeat, first_snapshot)
            results["report"] = timed(repeat, get("/api/reports/visits"))
            if client.get("/api/map/stations").status_code == 200:  # not in older trees
                results["map"] = timed(repeat, get("/api/map/stations"))
            before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
            started = time.perf_counter()
            text = client.get("/api/events.csv").raise_for_status().text
            seconds = time.perf_counter() - started
            rows = text.count("\n") - 1
            results["csv"] = {
                "rows": rows,
                "rows_per_s": rows / seconds,
                "seconds": seconds,
                "bytes": len(text.encode()),
                "peak_rss_growth_mb": (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before)
                / 1024,
            }
    finally:
        stop()
    return results


OPERATIONS = ("summary", "stations", "overview", "stream_first", "report", "map")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--stations", default="10000,186100")
    parser.add_argument("--db", default="sqlite,postgres")
    parser.add_argument("--repeat", type=int, default=20)
    parser.add_argument("--old-repeat", type=int, default=5, help="main's code is slow at scale")
    parser.add_argument("--old-tree", default="main", help="a git ref; '' to skip it")
    parser.add_argument("--measure", help=argparse.SUPPRESS)
    parser.add_argument("--workdir", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.measure:
        print(json.dumps(measure(args.measure, args.repeat, Path(args.workdir))))
        return
    report: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory(prefix="staff-reads-") as tmp:
        workdir = Path(tmp)
        old = old_tree(args.old_tree, workdir) if args.old_tree else None
        print(
            f"{'stations':>8} {'db':<8} {'read':<13} {'main p50':>10} {'p99':>9} "
            f"{'bytes':>11} {'this p50':>10} {'p99':>9} {'bytes':>9} {'speed-up':>9}"
        )
        for stations in (int(n) for n in args.stations.split(",")):
            for kind, url in databases(args.db.split(","), stations, workdir):
                started = time.perf_counter()
                fill(url, stations)
                print(
                    f"(filled {kind} with {stations} stations in "
                    f"{time.perf_counter() - started:.0f} s)",
                    file=sys.stderr,
                )
                try:
                    new = measure_tree(ROOT, url, args.repeat, workdir)
                    before = measure_tree(old, url, args.old_repeat, workdir) if old else None
                finally:
                    drop(url)
                row: dict[str, Any] = {
                    "stations": stations,
                    "db": kind,
                    "this": new,
                    "main": before,
                }
                report.append(row)
                for op in (*(o for o in OPERATIONS if o in new), "csv"):
                    now_, then = new[op], before.get(op) if before else None
                    if op == "csv":
                        cells = [
                            f"{then['rows_per_s']:>10,.0f}" if then else f"{'':>10}",
                            f"{then['rows']:>9,} rows" if then else f"{'':>9}",
                            f"{then['peak_rss_growth_mb']:>8.0f}MB" if then else f"{'':>11}",
                            f"{now_['rows_per_s']:>10,.0f}",
                            f"{now_['rows']:>9,}",
                            f"{now_['peak_rss_growth_mb']:>7.0f}MB",
                        ]
                        ratio = now_["rows_per_s"] / then["rows_per_s"] if then else 0
                        print(
                            f"{stations:>8} {kind:<8} {'csv rows/s':<13} {' '.join(cells)} "
                            f"{ratio:>8.1f}x"
                        )
                        continue
                    old_cells = (
                        f"{then['p50_ms']:>8.1f}ms {then['p99_ms']:>7.1f}ms {then['bytes']:>11,}"
                        if then
                        else " " * 32
                    )
                    ratio = then["p50_ms"] / now_["p50_ms"] if then else 0
                    print(
                        f"{stations:>8} {kind:<8} {op:<13} {old_cells} "
                        f"{now_['p50_ms']:>8.1f}ms {now_['p99_ms']:>7.1f}ms "
                        f"{now_['bytes']:>9,} {ratio:>8.1f}x"
                    )
    print(json.dumps({"bench": "staff_reads", "results": report}))


if __name__ == "__main__":
    main()
