"""Home Assistant discovery: what the scheduler's tick pays for it.

The lease holder calls ``HomeAssistantBridge.sync()`` every second (server/jobs/scheduler.py):
one read of every station's row, the states compared with what was last published, and only
the changes published. Measured on SQLite with N stations inserted in bulk and a publish that
only counts, side by side in one run:

- ``first``: a new lease holder, or after a broker reconnect: every config and state;
- ``steady``: the usual tick: nothing changed, nothing published;
- ``one door``: one station's door opened since the last tick;
- ``steady, ORM``: the steady tick as first written, reading whole ``Station`` objects
  instead of the six columns (``read_views``).

    .venv/bin/python bench/homeassistant_sync.py --stations 1000 10000 --repeat 20

Prints a table, then one JSON line.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sqlalchemy import insert, update
from sqlmodel import col, select

from server.core.db import init_db, make_engine, session_scope
from server.homeassistant.bridge import HomeAssistantBridge, read_views
from server.homeassistant.discovery import StationView, changes
from server.stations.models import Station


def _ms(samples: list[float]) -> float:
    return statistics.median(samples) * 1000


def run(stations: int, repeat: int) -> dict[str, float]:
    with tempfile.TemporaryDirectory() as tmp:
        engine = make_engine(f"sqlite:///{Path(tmp) / 'bench.db'}")
        init_db(engine)
        with session_scope(engine) as session:
            rows = [
                {"id": f"st-{i:06d}", "name": f"驿站 {i}", "capacity": 12, "online": True}
                for i in range(stations)
            ]
            session.execute(insert(Station), rows)
            session.commit()
        sent: list[int] = [0]

        def publish(topic: str, payload: bytes) -> None:
            sent[0] += 1

        first, steady, one_door, steady_orm = [], [], [], []
        messages = {"first": 0, "steady": 0, "one door": 0}
        for turn in range(repeat):
            # A new lease holder each turn: its first sync publishes everything.
            bridge = HomeAssistantBridge(engine, publish, lambda: 0)
            sent[0] = 0
            start = time.perf_counter()
            bridge.sync()
            first.append(time.perf_counter() - start)
            messages["first"] = sent[0]
            sent[0] = 0
            start = time.perf_counter()
            bridge.sync()
            steady.append(time.perf_counter() - start)
            messages["steady"] = sent[0]
            with session_scope(engine) as session:
                phase = "open" if turn % 2 == 0 else "closed"
                session.execute(
                    update(Station).where(Station.id == "st-000000").values(door_phase=phase)  # type: ignore[arg-type]
                )
                session.commit()
            sent[0] = 0
            start = time.perf_counter()
            bridge.sync()
            one_door.append(time.perf_counter() - start)
            messages["one door"] = sent[0]
            with session_scope(engine) as session:
                _, published = changes(read_views(session), {})
            start = time.perf_counter()
            with session_scope(engine) as session:
                views = [
                    StationView(s.id, s.name, s.online, s.door_phase, s.occupancy, s.capacity)
                    for s in session.exec(select(Station).order_by(col(Station.id)))
                ]
            assert changes(views, published)[0] == []
            steady_orm.append(time.perf_counter() - start)
        engine.dispose()
    return {
        "stations": stations,
        "first_ms": _ms(first),
        "steady_ms": _ms(steady),
        "one_door_ms": _ms(one_door),
        "first_messages": messages["first"],
        "steady_messages": messages["steady"],
        "one_door_messages": messages["one door"],
        "steady_orm_ms": _ms(steady_orm),
        "orm_over_columns": _ms(steady_orm) / _ms(steady),
        "steady_share_of_tick": _ms(steady) / 1000,
        "first_over_steady": _ms(first) / _ms(steady),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--stations", type=int, nargs="+", default=[1000, 10000])
    parser.add_argument("--repeat", type=int, default=20)
    args = parser.parse_args()
    results = [run(n, args.repeat) for n in args.stations]
    print(f"{'stations':>9} {'first ms':>9} {'msgs':>7} {'steady ms':>10} {'msgs':>5} "
          f"{'one door ms':>12} {'msgs':>5} {'steady/tick':>12} {'ORM ms':>8} "
          f"{'ORM/columns':>12}")  # fmt: skip
    for r in results:
        print(
            f"{r['stations']:>9,} {r['first_ms']:>9.1f} {r['first_messages']:>7,} "
            f"{r['steady_ms']:>10.1f} {r['steady_messages']:>5} {r['one_door_ms']:>12.1f} "
            f"{r['one_door_messages']:>5} {r['steady_share_of_tick']:>11.1%} "
            f"{r['steady_orm_ms']:>8.1f} {r['orm_over_columns']:>11.1f}x"
        )
    print(
        json.dumps({"benchmark": "homeassistant_sync", "repeat": args.repeat, "results": results})
    )


if __name__ == "__main__":
    main()
