"""What making the schema through the migrations costs, beside ``create_all`` (what the server
and every test fixture did before), side by side in one run on SQLite (and PostgreSQL when
reachable at 127.0.0.1:5432): a new database from empty, and the start check on a database
already at head (paid at every server start). Prints a table and one JSON line.

    .venv/bin/python bench/schema_setup.py [--rounds 20]
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path

from sqlalchemy import Engine, create_engine, text
from sqlalchemy.exc import OperationalError

from server import schema
from server.core.db import make_engine
from server.migrations import apply

PG_ADMIN_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"


def create_all(engine: Engine) -> None:
    """The schema as it was made before migrations."""
    schema.metadata.create_all(engine)


def median_ms(make: Callable[[], Engine], work: Callable[[Engine], None], rounds: int) -> float:
    """The median time of ``work`` on a fresh database from ``make``."""
    times = []
    for _ in range(rounds):
        engine = make()
        start = time.perf_counter()
        work(engine)
        times.append((time.perf_counter() - start) * 1000)
        engine.dispose()
    return statistics.median(times)


def sqlite_maker(root: Path) -> Callable[[], Engine]:
    return lambda: make_engine(f"sqlite:///{root / uuid.uuid4().hex}.db")


def postgres_maker() -> Callable[[], Engine] | None:
    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect():
            pass
    except OperationalError:  # no PostgreSQL here: SQLite only
        return None

    def make() -> Engine:
        name = f"ws_bench_{uuid.uuid4().hex[:12]}"
        with admin.connect() as connection:
            connection.execute(text(f'CREATE DATABASE "{name}"'))
        made.append(name)
        return make_engine(f"postgresql+psycopg://postgres@127.0.0.1:5432/{name}")

    return make


made: list[str] = []  # the PostgreSQL databases to drop at the end


def drop_made() -> None:
    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        for name in made:
            connection.execute(text(f'DROP DATABASE "{name}" WITH (FORCE)'))
    admin.dispose()


def at_head(make: Callable[[], Engine]) -> Callable[[], Engine]:
    def made() -> Engine:
        engine = make()
        apply.upgrade(engine)
        return engine

    return made


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=20)
    args = parser.parse_args()
    apply.upgrade(make_engine("sqlite://"))  # load the revision scripts once, as a process does
    results: dict[str, float] = {}
    try:
        run(args.rounds, results)
    finally:
        if made:
            drop_made()
    print(json.dumps(results))


def run(rounds: int, results: dict[str, float]) -> None:
    with tempfile.TemporaryDirectory() as scratch:
        makers = {"sqlite": sqlite_maker(Path(scratch))}
        if (postgres := postgres_maker()) is not None:
            makers["postgresql"] = postgres
        print(f"{'database':<11} {'operation':<40} {'median ms':>10}")
        for name, make in makers.items():
            rows = {
                "create_all from empty (before)": median_ms(make, create_all, rounds),
                "migrations from empty (now)": median_ms(make, apply.upgrade, rounds),
                "start check at head (now, each start)": median_ms(
                    at_head(make), apply.prepare, rounds
                ),
            }
            for label, ms in rows.items():
                print(f"{name:<11} {label:<40} {ms:>10.1f}")
            created, migrated, check = rows.values()
            results[f"{name}_create_all_ms"] = round(created, 1)
            results[f"{name}_migrate_ms"] = round(migrated, 1)
            results[f"{name}_start_check_ms"] = round(check, 1)
            results[f"{name}_migrate_over_create_all"] = round(migrated / created, 2)


if __name__ == "__main__":
    main()
