"""The start rule for the schema (server/migrations/plan.py): what is created, adopted,
upgraded or refused, and that a refusal names what to run."""

from __future__ import annotations

import pytest

from server.migrations.plan import MIGRATE_COMMAND, Step, plan_start

KNOWN = {"0001_baseline", "0002_later"}
HEAD = "0002_later"


def _plan(
    found: str | None,
    *,
    has_tables: bool = True,
    baseline_differences: list[str] | None = None,
    auto_migrate: bool = False,
) -> tuple[Step, str]:
    plan = plan_start(
        found=found,
        head=HEAD,
        known=KNOWN,
        has_tables=has_tables,
        baseline_differences=baseline_differences,
        auto_migrate=auto_migrate,
    )
    return plan.step, plan.why


def test_at_head_nothing_happens() -> None:
    assert _plan(HEAD) == (Step.NOTHING, "")


def test_an_empty_database_is_created_without_being_asked() -> None:
    step, _ = _plan(None, has_tables=False)
    assert step is Step.UPGRADE


def test_tables_made_before_migrations_are_adopted_when_they_are_the_baseline() -> None:
    step, _ = _plan(None, baseline_differences=[])
    assert step is Step.STAMP_BASELINE


def test_tables_that_are_not_the_baseline_are_refused_with_the_differences() -> None:
    step, why = _plan(None, baseline_differences=["table station missing"])
    assert step is Step.REFUSE
    assert "table station missing" in why


@pytest.mark.parametrize("auto_migrate", [False, True])
def test_a_revision_this_server_does_not_know_is_refused(auto_migrate: bool) -> None:
    step, why = _plan("0009_future", auto_migrate=auto_migrate)
    assert step is Step.REFUSE
    assert "'0009_future'" in why
    assert "newer version" in why


def test_a_database_behind_is_refused_with_the_command_to_run() -> None:
    step, why = _plan("0001_baseline")
    assert step is Step.REFUSE
    assert MIGRATE_COMMAND in why
    assert "back it up" in why


def test_a_database_behind_is_upgraded_only_when_auto_migrate_says_so() -> None:
    step, _ = _plan("0001_baseline", auto_migrate=True)
    assert step is Step.UPGRADE
