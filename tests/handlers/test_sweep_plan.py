"""The slot sweep's decisions without DynamoDB or SageMaker: which slots are extended, freed
or taken for running executions, from one read of the ledger and one listing (the moto tests
in test_slots.py carry the same plans out with conditional writes and races)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from trainops_runtime.training_slots import (
    ADOPTED,
    RECONCILE_GRACE,
    Ledger,
    RunningExecution,
    Slot,
    adopted_holder,
    plan_sweep,
)

NOW = datetime(2026, 11, 30, 12, tzinfo=UTC)
TOKEN = "a" * 64  # a request's idempotency token
OWN = TOKEN[:12]  # how its execution's display name ends


def at(minutes: int) -> int:
    return int((NOW + timedelta(minutes=minutes)).timestamp())


def slot(model: str, *, claimed: int = -120, expires: int = 600, holder: str = TOKEN) -> Slot:
    return Slot(model, holder, "req-1", "queue", claimed_at=at(claimed), expires_at=at(expires))


def execution(model: str, name: str, started_minutes_ago: int = 60) -> RunningExecution:
    arn = f"arn:aws:sagemaker:us-east-1:1:pipeline/p-{model}/execution/{name}"
    return RunningExecution(
        model,
        arn,
        "Executing",
        NOW - timedelta(minutes=started_minutes_ago),
        f"que-{model}-a1-{name}",
    )


def plan(slots: dict[str, Slot], running: dict, longest: dict | None = None):
    ledger = Ledger(version=3, slots=slots)
    return plan_sweep(ledger, running, longest or {"churn": 60, "fraud": 60}, now=NOW)


def test_a_slot_whose_execution_runs_is_kept_and_extended_only_when_it_runs_short() -> None:
    running = {"churn": [execution("churn", OWN)]}
    assert plan({"churn": slot("churn", expires=600)}, running).extend == []
    (extended,) = plan({"churn": slot("churn", expires=20)}, running).extend
    # less than the horizon (30 minutes before any sweep was recorded) left: twice that
    assert extended == (slot("churn", expires=20), at(60))
    assert plan({"churn": slot("churn", expires=20)}, running).free == []


def test_a_slot_nothing_holds_is_freed_once_past_the_grace() -> None:
    lost = slot("churn", claimed=-120)
    young = slot("fraud", claimed=-int(RECONCILE_GRACE.total_seconds() // 60) + 1)
    result = plan({"churn": lost, "fraud": young}, {})
    assert result.free == [lost]  # the young claim may precede its execution in the listing


def test_an_execution_without_a_live_slot_gets_one_for_the_oldest() -> None:
    newest, oldest = execution("fraud", "new", 10), execution("fraud", "old", 90)
    expired = slot("fraud", claimed=-300, expires=-1, holder="someone")
    (adopted,) = plan({"fraud": expired}, {"fraud": [newest, oldest]}).adopt
    taken, for_execution = adopted
    assert for_execution == oldest
    assert (taken.holder, taken.trigger) == (adopted_holder(oldest.execution_arn), ADOPTED)
    assert taken.expires_at > at(60)  # the model's longest run plus slack


def test_a_freed_model_that_still_runs_something_else_is_adopted() -> None:
    other = execution("churn", "console-started")
    result = plan({"churn": slot("churn")}, {"churn": [other]})
    assert [s.model for s in result.free] == ["churn"]
    assert [s.model for s, _ in result.adopt] == ["churn"]


def test_models_outside_the_catalog_or_idle_are_left_alone() -> None:
    running = {"legacy": [execution("legacy", "x")], "churn": []}
    result = plan({}, running, longest={"churn": 60})
    assert (result.extend, result.free, result.adopt) == ([], [], [])
