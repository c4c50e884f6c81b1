"""What the server does at start with the schema it finds: a pure rule over what was read."""

from __future__ import annotations

import enum
from collections.abc import Collection, Sequence
from dataclasses import dataclass

MIGRATE_COMMAND = "python -m server.cli migrate"


class Step(enum.Enum):
    NOTHING = "nothing"  # at the newest revision
    UPGRADE = "upgrade"  # create an empty database, or (auto_migrate) bring one up to date
    STAMP_BASELINE = "stamp_baseline"  # made by create_all before Alembic, baseline exactly
    REFUSE = "refuse"


@dataclass(frozen=True)
class Plan:
    step: Step
    why: str = ""


def plan_start(
    *,
    found: str | None,
    head: str,
    known: Collection[str],
    has_tables: bool,
    baseline_differences: Sequence[str] | None,
    auto_migrate: bool,
) -> Plan:
    """``found``: the revision recorded in the database (None: no record). ``known``: every
    revision this server ships. ``baseline_differences``: for a database with tables and no
    record, how its tables differ from the baseline's (empty: it is the baseline).

    An empty database holds nothing to lose, so it is created at once; one with rows is
    migrated only on purpose (a backup first), unless ``auto_migrate`` (the demo) says so."""
    if found == head:
        return Plan(Step.NOTHING)
    if found is None and not has_tables:
        return Plan(Step.UPGRADE, "empty database: creating the schema")
    if found is None:
        if baseline_differences:
            return Plan(
                Step.REFUSE,
                "the database has tables but no schema revision, and they are not the baseline"
                f" schema ({'; '.join(baseline_differences)}): restore a backup made by this"
                ' version or repair by hand (docs/operations.md, "Upgrading")',
            )
        return Plan(Step.STAMP_BASELINE, "tables made before migrations: recorded as baseline")
    if found not in known:
        return Plan(
            Step.REFUSE,
            f"the database is at schema revision {found!r}, unknown to this server (made by a"
            f" newer version?): run that version, or roll the database back to {head!r} with it",
        )
    if auto_migrate:
        return Plan(Step.UPGRADE, f"auto_migrate: upgrading the schema from {found!r}")
    return Plan(
        Step.REFUSE,
        f"the database is at schema revision {found!r}, this server needs {head!r}: back it up,"
        f' then run `{MIGRATE_COMMAND}` (docs/operations.md, "Upgrading")',
    )
