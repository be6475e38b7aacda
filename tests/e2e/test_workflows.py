"""End-to-end: the real handlers wired together on moto; the full event history is asserted."""

from __future__ import annotations

import pytest

from tests.e2e.platform import Platform
from tests.sagemaker_sim import PipelineSim
from trainops_runtime import read_model

PIPELINE = "SageMaker Model Building Pipeline Execution Status Change"
CAPACITY = "ClientError: CapacityError: Unable to provision requested ML compute capacity."
ALGORITHM = "AlgorithmError: ValueError: could not convert string to float"


@pytest.fixture
def platform(
    pipelines: PipelineSim, event_sink: object, monkeypatch: pytest.MonkeyPatch
) -> Platform:
    return Platform(pipelines, monkeypatch)


def test_a_request_that_succeeds(platform: Platform) -> None:
    platform.submit("churn", "req-ok")
    platform.drain_queue()
    (execution,) = platform.executions("churn")
    platform.pump()
    platform.finish(execution, "Succeeded")
    platform.pump()
    assert platform.history("model#churn") == [
        ("TrainingRequested", 1),
        ("TrainingStarted", 1),
        (PIPELINE, "Succeeded"),
        ("TrainingSucceeded", 1),
    ]
    state = platform.state("model#churn")
    assert state["counts"] == {"requested": 1, "started": 1, "succeeded": 1}
    assert state["lastSuccess"]["requestId"] == "req-ok"
    assert state["runningExecution"] is None
    run = platform.state(f"run#{execution.arn.rsplit('/', 1)[-1]}")
    assert run["status"] == "Succeeded"
    assert [step["type"] for step in run["timeline"]] == [
        "TrainingStarted",
        PIPELINE,
        "TrainingSucceeded",
    ]
    assert platform.alerts() == []


def test_a_request_that_fails_retryably_twice_then_succeeds(platform: Platform) -> None:
    platform.submit("churn", "req-retry", hyperparameters={"epochs": "9"})
    outcomes = []
    for attempt in (1, 2, 3):
        platform.drain_queue()
        execution = platform.executions("churn")[-1]
        assert platform.sim.parameters(execution.arn)["Attempt"] == str(attempt)
        assert platform.sim.parameters(execution.arn)["Hp-epochs"] == "9"
        if attempt < 3:
            outcomes.append(platform.finish(execution, "Failed", step_failure=CAPACITY)["outcome"])
        else:
            outcomes.append(platform.finish(execution, "Succeeded")["outcome"])
        platform.pump()
    assert outcomes == ["requeued", "requeued", "succeeded"]
    assert platform.history("model#churn") == [
        ("TrainingRequested", 1),
        ("TrainingStarted", 1),
        (PIPELINE, "Failed"),
        ("TrainingRequeued", 1),
        ("TrainingRequested", 2),
        ("TrainingStarted", 2),
        (PIPELINE, "Failed"),
        ("TrainingRequeued", 2),
        ("TrainingRequested", 3),
        ("TrainingStarted", 3),
        (PIPELINE, "Succeeded"),
        ("TrainingSucceeded", 3),
    ]
    state = platform.state("model#churn")
    assert state["counts"] == {
        "requested": 3,
        "started": 3,
        "failed": 2,
        "requeued": 2,
        "succeeded": 1,
    }
    assert state["lastSuccess"]["requestId"] == "req-retry"
    assert platform.alerts() == []


def test_a_request_that_fails_permanently_alerts(platform: Platform) -> None:
    platform.submit("churn", "req-broken")
    platform.drain_queue()
    (execution,) = platform.executions("churn")
    assert platform.finish(execution, "Failed", step_failure=ALGORITHM)["outcome"] == "failed"
    platform.pump()
    assert platform.history("model#churn") == [
        ("TrainingRequested", 1),
        ("TrainingStarted", 1),
        (PIPELINE, "Failed"),
        ("TrainingFailed", 1),
    ]
    (alert,) = platform.alerts()
    assert alert["Subject"] == "trainops: training of churn failed (not retryable)"
    state = platform.state("model#churn")
    assert state["lastFailure"]["final"] is True
    assert ALGORITHM in state["lastFailure"]["reason"]
    assert len(platform.executions("churn")) == 1  # not retried


def test_a_burst_above_capacity_drains_in_order_per_model(
    pipelines: PipelineSim, event_sink: object, monkeypatch: pytest.MonkeyPatch
) -> None:
    platform = Platform(pipelines, monkeypatch, max_concurrent=2)
    for index in range(3):
        platform.submit("churn", f"churn-{index}")
    for index in range(2):
        platform.submit("fraud", f"fraud-{index}")
    started: list[str] = []
    for _ in range(10):
        platform.drain_queue(rounds=1)
        running = [
            e
            for m in ("churn", "fraud")
            for e in platform.executions(m)
            if e.pipeline_execution_status == "Executing"
        ]
        assert len(running) <= 2, "capacity exceeded"
        for execution in running:
            started.append(platform.sim.parameters(execution.arn)["RequestId"])
            platform.finish(execution, "Succeeded")
        if len(started) == 5:
            break
    assert [r for r in started if r.startswith("churn")] == ["churn-0", "churn-1", "churn-2"]
    assert [r for r in started if r.startswith("fraud")] == ["fraud-0", "fraud-1"]
    platform.pump()
    assert platform.state("model#churn")["counts"]["succeeded"] == 3
    assert platform.state("model#fraud")["counts"]["succeeded"] == 2
    deferred = [t for t, _ in platform.history("model#churn") if t == "TrainingDeferred"]
    assert deferred, "the burst should have met back-pressure"
    assert platform.dead_letters() == []


def test_a_duplicate_delivery_at_every_hop_changes_nothing(
    pipelines: PipelineSim, event_sink: object, monkeypatch: pytest.MonkeyPatch
) -> None:
    platform = Platform(pipelines, monkeypatch, duplicates=True)
    platform.submit("churn", "req-dup")
    platform.drain_queue()
    assert len(platform.executions("churn")) == 1
    (execution,) = platform.executions("churn")
    platform.pump()
    platform.finish(execution, "Succeeded")
    platform.pump()
    assert platform.history("model#churn") == [
        ("TrainingRequested", 1),
        ("TrainingStarted", 1),
        (PIPELINE, "Succeeded"),
        ("TrainingSucceeded", 1),
    ]
    assert platform.state("model#churn")["counts"] == {"requested": 1, "started": 1, "succeeded": 1}
    assert read_model.load("trainops-test-read-model", "model#fraud") is None


def test_a_schedule_tick_trains_and_is_recorded(platform: Platform) -> None:
    assert platform.tick("fraud", "2026-11-22T06:00:00Z")["status"] == "started"
    (execution,) = platform.executions("fraud")
    platform.finish(execution, "Succeeded")
    platform.pump()
    assert platform.history("model#fraud") == [
        ("TrainingRequested", 1),
        ("TrainingStarted", 1),
        (PIPELINE, "Succeeded"),
        ("TrainingSucceeded", 1),
    ]
    assert platform.state("model#fraud")["lastRequest"]["trigger"] == "schedule"
    assert platform.tick("fraud", "2026-11-22T06:00:00Z")["status"] in {"started", "duplicate"}
    assert len(platform.executions("fraud")) == 1  # the same tick again starts nothing new
