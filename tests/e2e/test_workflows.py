"""End-to-end: the real handlers wired together on moto; the full event history is asserted."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from tests.e2e.platform import SLOTS, Platform
from tests.sagemaker_sim import PipelineSim
from tests.slot_ledger import held
from trainops_runtime import training_slots
from trainops_runtime.adapters import read_model, slots

PIPELINE = "SageMaker Model Building Pipeline Execution Status Change"
CAPACITY = "ClientError: CapacityError: Unable to provision requested ML compute capacity."
ALGORITHM = "AlgorithmError: ValueError: could not convert string to float"
TICK = "2026-11-22T06:00:00Z"
TICK_REQUEST = f"schedule:fraud:{TICK}"
NOTHING_FAILED = {"batchItemFailures": []}
NOTHING_TO_DELIVER = {"batchItemFailures": [], "invoked": False}


@pytest.fixture
def platform(
    pipelines: PipelineSim, event_sink: object, monkeypatch: pytest.MonkeyPatch
) -> Platform:
    return Platform(pipelines, monkeypatch)


def published(envelopes: list[dict[str, Any]]) -> list[tuple[str, str]]:
    """(type, event id) of the events the bus delivered."""
    return [(e["detail-type"], e["detail"]["eventId"]) for e in envelopes]


def recorded(stored: list[dict[str, Any]]) -> list[tuple[str, str]]:
    """(type, event id) of stored events."""
    return [(e["type"], e["eventId"]) for e in stored]


# ---- expected histories: (type, request id, attempt or SageMaker status), as Platform.history
History = list[tuple[str, str, Any]]
# What training_outcome records for an ended execution, by the status SageMaker reported.
OUTCOME_STATUS = {
    "TrainingSucceeded": "Succeeded",
    "TrainingRequeued": "Failed",
    "TrainingFailed": "Failed",
}


def started(request_id: str, attempt: int = 1) -> History:
    """An attempt of a request that started an execution."""
    return [("TrainingRequested", request_id, attempt), ("TrainingStarted", request_id, attempt)]


def ended(request_id: str, attempt: int = 1, outcome: str = "TrainingSucceeded") -> History:
    """The attempt's execution ended (SageMaker's status change), and the outcome recorded."""
    return [(PIPELINE, request_id, OUTCOME_STATUS[outcome]), (outcome, request_id, attempt)]


def trained(request_id: str, attempt: int = 1, outcome: str = "TrainingSucceeded") -> History:
    """An attempt that started, ran and ended, nothing in between."""
    return started(request_id, attempt) + ended(request_id, attempt, outcome)


def deferred(request_id: str) -> History:
    """The worker put the request back: its model or the platform was busy."""
    return [("TrainingDeferred", request_id, 1)]


# ---- expected read models (without timestamps, as Platform.state shows them)
# What a model's read model names before anything happened to it.
UNSET = ("lastRequest", "runningExecution", "lastSuccess", "lastFailure", "lastMaintenanceRun")


def model_state(model: str, version: int, **fields: Any) -> dict[str, Any]:
    """A model's read model: nothing happened but ``fields``."""
    return {"model": model, "lastVersion": version, **dict.fromkeys(UNSET), "counts": {}, **fields}


def last_request(request_id: str, attempt: int = 1, trigger: str = "queue") -> dict[str, Any]:
    return {"requestId": request_id, "attempt": attempt, "trigger": trigger}


def last_success(execution: Any, request_id: str) -> dict[str, Any]:
    return {"executionArn": execution.arn, "requestId": request_id}


def last_failure(execution: Any, request_id: str, error: str, *, final: bool) -> dict[str, Any]:
    return {
        "executionArn": execution.arn,
        "requestId": request_id,
        "reason": f"Train: {error}",
        "final": final,
    }


def trained_once(
    model: str, execution: Any, request_id: str, trigger: str = "queue"
) -> dict[str, Any]:
    """A model's read model after one request trained, once, successfully (four events)."""
    return model_state(
        model,
        4,
        lastRequest=last_request(request_id, trigger=trigger),
        lastSuccess=last_success(execution, request_id),
        counts={"requested": 1, "started": 1, "succeeded": 1},
    )


def test_a_request_that_succeeds(platform: Platform) -> None:
    platform.submit("churn", "req-ok")
    platform.drain_queue()
    (execution,) = platform.executions("churn")
    platform.pump()
    platform.finish(execution, "Succeeded")
    platform.pump()
    assert platform.history("model#churn") == trained("req-ok")
    assert platform.state("model#churn") == trained_once("churn", execution, "req-ok")
    run = execution.arn.rsplit("/", 1)[-1]
    assert platform.state(f"run#{run}") == {
        "run": run,
        "lastVersion": 3,
        "executionArn": execution.arn,
        "model": "churn",
        "requestId": "req-ok",
        "attempt": 1,
        "status": "Succeeded",
        "timeline": [
            {"version": 1, "type": "TrainingStarted"},
            {"version": 2, "type": PIPELINE, "status": "Succeeded"},
            {"version": 3, "type": "TrainingSucceeded"},
        ],
    }
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
    assert platform.history("model#churn") == (
        trained("req-retry", 1, "TrainingRequeued")
        + trained("req-retry", 2, "TrainingRequeued")
        + trained("req-retry", 3)
    )
    first, second, third = platform.executions("churn")
    assert platform.state("model#churn") == model_state(
        "churn",
        12,
        lastRequest=last_request("req-retry", attempt=3),
        lastSuccess=last_success(third, "req-retry"),
        lastFailure=last_failure(second, "req-retry", CAPACITY, final=False),
        counts={"requested": 3, "started": 3, "failed": 2, "requeued": 2, "succeeded": 1},
    )
    assert first.arn != second.arn != third.arn
    assert platform.alerts() == []


def test_a_request_that_fails_permanently_alerts(platform: Platform) -> None:
    platform.submit("churn", "req-broken")
    platform.drain_queue()
    (execution,) = platform.executions("churn")
    assert platform.finish(execution, "Failed", step_failure=ALGORITHM)["outcome"] == "failed"
    platform.pump()
    assert platform.history("model#churn") == trained("req-broken", outcome="TrainingFailed")
    (alert,) = platform.alerts()
    assert alert["Subject"] == "trainops: training of churn failed (not retryable)"
    assert platform.state("model#churn") == model_state(
        "churn",
        4,
        lastRequest=last_request("req-broken"),
        lastFailure=last_failure(execution, "req-broken", ALGORITHM, final=True),
        counts={"requested": 1, "started": 1, "failed": 1, "gaveUp": 1},
    )
    assert platform.poll() == NOTHING_TO_DELIVER  # not retried
    assert len(platform.executions("churn")) == 1


def executing(platform: Platform) -> list[str]:
    """Request ids of the executions holding a training slot, per model in start order."""
    return [
        platform.sim.parameters(e.arn)["RequestId"]
        for model in ("churn", "fraud")
        for e in platform.executions(model)
        if e.pipeline_execution_status == "Executing"
    ]


def execution_of(platform: Platform, model: str, request_id: str) -> Any:
    (found,) = [
        e
        for e in platform.executions(model)
        if platform.sim.parameters(e.arn)["RequestId"] == request_id
    ]
    return found


def test_a_burst_above_capacity_drains_in_order_per_model(
    pipelines: PipelineSim, event_sink: object, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two slots, five requests for two models; each poll and each end of training is driven
    explicitly. A model trains one request at a time, in queue order; models run in parallel."""
    platform = Platform(pipelines, monkeypatch, max_concurrent=2)
    for index in range(3):
        platform.submit("churn", f"churn-{index}")
    for index in range(2):
        platform.submit("fraud", f"fraud-{index}")

    # One batch of all five: the first request of each model starts; churn-1 and fraud-1 are
    # deferred (their model is training), churn-2 waits behind churn-1 (FIFO group) silently.
    assert len(platform.poll()["batchItemFailures"]) == 3
    assert executing(platform) == ["churn-0", "fraud-0"]
    platform.finish(execution_of(platform, "churn", "churn-0"), "Succeeded")

    # churn is free: churn-1 starts; churn-2 and fraud-1 wait for their model.
    assert len(platform.poll()["batchItemFailures"]) == 2
    assert executing(platform) == ["churn-1", "fraud-0"]
    platform.finish(execution_of(platform, "churn", "churn-1"), "Succeeded")
    platform.finish(execution_of(platform, "fraud", "fraud-0"), "Succeeded")

    assert platform.poll() == NOTHING_FAILED
    assert executing(platform) == ["churn-2", "fraud-1"]
    platform.finish(execution_of(platform, "churn", "churn-2"), "Succeeded")
    platform.finish(execution_of(platform, "fraud", "fraud-1"), "Succeeded")
    platform.pump()
    assert platform.poll() == NOTHING_TO_DELIVER

    assert platform.history("model#churn") == (
        started("churn-0")
        + deferred("churn-1")
        + ended("churn-0")
        + started("churn-1")
        + deferred("churn-2")
        + ended("churn-1")
        + trained("churn-2")
    )
    assert platform.history("model#fraud") == (
        started("fraud-0")
        + deferred("fraud-1")
        + deferred("fraud-1")
        + ended("fraud-0")
        + trained("fraud-1")
    )
    churn_deferrals = [
        e["payload"]["reason"]
        for e in platform.stored("model#churn")
        if e["type"] == "TrainingDeferred"
    ]
    assert churn_deferrals == [
        "churn is still training for request churn-0 (queue)",
        "churn is still training for request churn-1 (queue)",
    ]
    # each model trained all its requests, the last one last, and deferred two deliveries
    for model, version, trainings in (("churn", 14, 3), ("fraud", 10, 2)):
        last = f"{model}-{trainings - 1}"
        assert platform.state(f"model#{model}") == model_state(
            model,
            version,
            lastRequest=last_request(last),
            lastSuccess=last_success(execution_of(platform, model, last), last),
            counts={
                "requested": trainings,
                "started": trainings,
                "deferred": 2,
                "succeeded": trainings,
            },
        ), model
    assert platform.dead_letters() == []


def test_capacity_holds_back_a_model_that_is_free(
    pipelines: PipelineSim, event_sink: object, monkeypatch: pytest.MonkeyPatch
) -> None:
    """One slot: fraud waits for capacity, not for its model, and starts when churn ends."""
    platform = Platform(pipelines, monkeypatch, max_concurrent=1)
    platform.submit("churn", "churn-0")
    platform.submit("fraud", "fraud-0")
    assert len(platform.poll()["batchItemFailures"]) == 1
    assert executing(platform) == ["churn-0"]
    platform.finish(execution_of(platform, "churn", "churn-0"), "Succeeded")
    assert platform.poll() == NOTHING_FAILED
    assert executing(platform) == ["fraud-0"]
    platform.finish(execution_of(platform, "fraud", "fraud-0"), "Succeeded")
    platform.pump()
    assert platform.history("model#fraud") == deferred("fraud-0") + trained("fraud-0")
    (deferral,) = [e for e in platform.stored("model#fraud") if e["type"] == "TrainingDeferred"]
    assert deferral["payload"]["reason"] == "1 of 1 trainings running"


def test_a_duplicate_delivery_at_every_hop_changes_nothing(
    pipelines: PipelineSim, event_sink: object, monkeypatch: pytest.MonkeyPatch
) -> None:
    platform = Platform(pipelines, monkeypatch, duplicates=True)
    platform.submit("churn", "req-dup")  # two messages: the producer retried
    assert platform.poll() == NOTHING_FAILED  # one batch: the second is the duplicate
    (execution,) = platform.executions("churn")
    bus = platform.pump()
    stored = platform.stored("model#churn")
    assert [kind for kind, _ in recorded(stored)] == ["TrainingRequested", "TrainingStarted"]
    assert published(bus) == recorded(stored) * 2  # published again with the same ids
    platform.finish(execution, "Succeeded")  # status change: twice to the outcome and store
    # the outcome acts once per event id: the repeated delivery publishes nothing again
    assert [kind for kind, _ in published(platform.pump())] == ["TrainingSucceeded"]
    assert platform.history("model#churn") == trained("req-dup")
    assert platform.state("model#churn") == trained_once("churn", execution, "req-dup")
    assert read_model.load("trainops-test-read-model", "model#fraud") is None
    assert platform.poll() == NOTHING_TO_DELIVER


def test_a_duplicate_queue_message_adds_nothing_to_the_history(platform: Platform) -> None:
    """The producer's retry arrives in a later poll, while the first delivery's run executes."""
    platform.submit("churn", "req-twice")
    assert platform.poll() == NOTHING_FAILED
    (execution,) = platform.executions("churn")
    platform.pump()
    before = platform.stored("model#churn")
    assert platform.history("model#churn") == started("req-twice")
    state_before = platform.state("model#churn")

    platform.resend("churn", "req-twice")
    assert platform.poll() == NOTHING_FAILED  # acknowledged, not deferred or retried
    assert [e.arn for e in platform.executions("churn")] == [execution.arn]
    assert published(platform.pump()) == recorded(before)  # announced again, same ids
    assert platform.stored("model#churn") == before
    assert platform.state("model#churn") == state_before

    platform.finish(execution, "Succeeded")
    platform.pump()
    assert platform.history("model#churn") == trained("req-twice")
    assert platform.state("model#churn")["counts"] == {"requested": 1, "started": 1, "succeeded": 1}
    assert platform.poll() == NOTHING_TO_DELIVER


def test_a_retryable_failure_delivered_twice_is_requeued_once(
    pipelines: PipelineSim, event_sink: object, monkeypatch: pytest.MonkeyPatch
) -> None:
    platform = Platform(pipelines, monkeypatch, duplicates=True)
    platform.submit("churn", "req-flaky")
    assert platform.poll() == NOTHING_FAILED
    (first,) = platform.executions("churn")
    outcome = platform.finish(first, "Failed", step_failure=CAPACITY)  # delivered twice
    assert outcome == {"outcome": "requeued", "model": "churn", "attempt": 2}

    retry = platform.request("churn", "req-flaky", attempt=2)
    assert platform.queued() == [
        (
            {
                "model": "churn",
                "requestId": "req-flaky",
                "attempt": 2,
                "hyperparameters": {},
                "requestedBy": "training_outcome",
                "reason": f"retry after attempt 1 failed: Train: {CAPACITY}",
            },
            retry.idempotency_token(),
        )
    ]
    assert [kind for kind, _ in published(platform.pump())] == ["TrainingRequeued"]
    requeued = platform.stored("model#churn")[-1]
    assert requeued["type"] == "TrainingRequeued"
    assert requeued["payload"]["data"] == {"nextAttempt": 2}

    assert platform.poll() == NOTHING_FAILED
    assert platform.poll() == NOTHING_TO_DELIVER  # one retry in the queue, not two
    first_again, second = platform.executions("churn")
    assert first_again.arn == first.arn
    assert platform.sim.parameters(second.arn)["Attempt"] == "2"
    platform.finish(second, "Succeeded")
    platform.pump()
    assert platform.history("model#churn") == (
        trained("req-flaky", 1, "TrainingRequeued") + trained("req-flaky", 2)
    )
    assert platform.state("model#churn") == model_state(
        "churn",
        8,
        lastRequest=last_request("req-flaky", attempt=2),
        lastSuccess=last_success(second, "req-flaky"),
        lastFailure=last_failure(first, "req-flaky", CAPACITY, final=False),
        counts={"requested": 2, "started": 2, "failed": 1, "requeued": 1, "succeeded": 1},
    )
    assert platform.alerts() == []
    assert platform.dead_letters() == []


def test_a_schedule_tick_trains_once_however_often_it_is_delivered(platform: Platform) -> None:
    first = platform.tick("fraud", TICK)
    (execution,) = platform.executions("fraud")
    assert first == {"status": "started", "model": "fraud", "executionArn": execution.arn}
    platform.pump()
    before = platform.stored("model#fraud")
    assert platform.history("model#fraud") == started(TICK_REQUEST)

    # Scheduler delivers the same tick again while its execution runs.
    assert platform.tick("fraud", TICK) == {
        "status": "duplicate",
        "model": "fraud",
        "executionArn": execution.arn,
    }
    assert published(platform.pump()) == recorded(before)  # announced again, same ids
    assert platform.stored("model#fraud") == before
    assert [e.arn for e in platform.executions("fraud")] == [execution.arn]

    platform.finish(execution, "Succeeded")
    platform.pump()
    assert platform.history("model#fraud") == trained(TICK_REQUEST)
    final = trained_once("fraud", execution, TICK_REQUEST, trigger="schedule")
    assert platform.state("model#fraud") == final

    # A late delivery, after the run ended, maps onto the same execution (same start token).
    assert platform.tick("fraud", TICK)["executionArn"] == execution.arn
    platform.pump()
    assert [e.arn for e in platform.executions("fraud")] == [execution.arn]
    assert platform.history("model#fraud") == trained(TICK_REQUEST)
    assert platform.state("model#fraud") == final
    # It took the model's slot for an execution that has ended; the stall detector's check,
    # once the grace has passed, finds no such execution running and frees it.
    assert held(SLOTS) == {"fraud": TICK_REQUEST}
    later = training_slots.utc_now() + training_slots.RECONCILE_GRACE + timedelta(minutes=1)
    freed = slots.reconcile(SLOTS, {"fraud": [], "churn": []}, {"fraud": 60}, now=later).freed
    assert [slot.request_id for slot in freed] == [TICK_REQUEST]
    assert held(SLOTS) == {}


def test_a_schedule_tick_and_a_queued_request_never_overlap_a_model(platform: Platform) -> None:
    """Whichever comes first trains; a tick during a queued run skips, a queued request during
    a tick's run waits, and starts when that run ends."""
    platform.submit("fraud", "queued-first")
    assert platform.poll() == NOTHING_FAILED
    skipped = platform.tick("fraud", TICK)
    assert skipped["status"] == "skipped"
    assert skipped["reason"] == "fraud is still training for request queued-first (queue)"
    platform.finish(execution_of(platform, "fraud", "queued-first"), "Succeeded")

    later_tick = "2026-11-22T07:00:00Z"
    assert platform.tick("fraud", later_tick)["status"] == "started"
    platform.submit("fraud", "queued-during-tick")
    assert len(platform.poll()["batchItemFailures"]) == 1
    assert executing(platform) == [f"schedule:fraud:{later_tick}"]
    platform.finish(execution_of(platform, "fraud", f"schedule:fraud:{later_tick}"), "Succeeded")
    assert platform.poll() == NOTHING_FAILED
    assert executing(platform) == ["queued-during-tick"]
    platform.pump()
    assert [(kind, request) for kind, request, _ in platform.history("model#fraud")] == [
        ("TrainingRequested", "queued-first"),
        ("TrainingStarted", "queued-first"),
        ("TrainingSkipped", TICK_REQUEST),
        (PIPELINE, "queued-first"),
        ("TrainingSucceeded", "queued-first"),
        ("TrainingRequested", f"schedule:fraud:{later_tick}"),
        ("TrainingStarted", f"schedule:fraud:{later_tick}"),
        ("TrainingDeferred", "queued-during-tick"),
        (PIPELINE, f"schedule:fraud:{later_tick}"),
        ("TrainingSucceeded", f"schedule:fraud:{later_tick}"),
        ("TrainingRequested", "queued-during-tick"),
        ("TrainingStarted", "queued-during-tick"),
    ]
    assert held(SLOTS) == {"fraud": "queued-during-tick"}
