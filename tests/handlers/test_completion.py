"""The outcome handler's rules with fakes for its ports: what each end state records, when a
failure is re-queued and when it pages, and what is never done (a running execution frees no
slot; a foreign pipeline or event is refused), without SageMaker, DynamoDB, SQS or SNS (the
moto-backed tests in test_training_outcome.py run the same paths through the real adapters)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import pytest

from trainops_runtime import domain_events as events
from trainops_runtime import pipeline_contract as contract
from trainops_runtime.catalog import CatalogEntry, ModelCatalog
from trainops_runtime.completion import (
    EVENT_DETAIL_TYPE,
    CompletionPorts,
    Gate,
    UnexpectedEvent,
    complete,
    gate_failure,
    gates_in_catalog,
)
from trainops_runtime.outcomes import RunOutcome
from trainops_runtime.training_request import TrainingRequest

CATALOG = ModelCatalog(
    {
        "churn": CatalogEntry(
            pipeline_name="trainops-test-churn",
            training_data="s3://data/churn/",
            max_runtime_minutes=60,
        )
    }
)
PIPELINE = "arn:aws:sagemaker:us-east-1:123456789012:pipeline/trainops-test-churn"
EXECUTION = f"{PIPELINE}/execution/abc123"
ENDED = "2026-11-30T10:00:00Z"


@dataclass
class World:
    attempt: int = 1
    reason: str = "AlgorithmError: the script exited 1"
    with_queue: bool = True
    gate: Gate | None = None
    freed: list[tuple[str, str]] = field(default_factory=list)
    requeued: list[TrainingRequest] = field(default_factory=list)
    published: list[events.DomainEvent] = field(default_factory=list)
    success: list[str] = field(default_factory=list)
    success_texts: list[str] = field(default_factory=list)
    critical: list[str] = field(default_factory=list)
    critical_subjects: list[str] = field(default_factory=list)

    def ports(self) -> CompletionPorts:
        return CompletionPorts(
            parameters=lambda arn: {
                contract.REQUEST_ID: "req-1",
                contract.ATTEMPT: str(self.attempt),
            },
            failure_reason=lambda arn: self.reason,
            free_slot=lambda request, arn: self.freed.append((request.request_id, arn)),
            requeue=self.requeued.append if self.with_queue else None,
            publish=lambda *published: self.published.extend(published),
            notify_success=lambda subject, text: (
                self.success.append(subject),
                self.success_texts.append(text),
            ),
            notify_critical=lambda subject, text: (
                self.critical.append(text),
                self.critical_subjects.append(subject),
            ),
            evaluation_gate=lambda model: self.gate,
        )

    def complete(self, status: str, **overrides: Any) -> dict[str, Any]:
        event = {
            "detail-type": EVENT_DETAIL_TYPE,
            "time": ENDED,
            "detail": {
                "currentPipelineExecutionStatus": status,
                "pipelineExecutionArn": EXECUTION,
                "pipelineArn": PIPELINE,
            },
            **overrides,
        }
        return complete(event, CATALOG, self.ports(), max_attempts=3)


def test_a_success_frees_the_slot_records_and_notifies() -> None:
    world = World()
    assert world.complete("Succeeded") == {"outcome": RunOutcome.SUCCEEDED, "model": "churn"}
    assert world.freed == [("req-1", EXECUTION)]
    (succeeded,) = world.published
    assert succeeded.type == events.TRAINING_SUCCEEDED
    # dated when SageMaker ended the run, not when the event was handled
    assert succeeded.occurred_at == datetime(2026, 11, 30, 10, tzinfo=UTC)
    assert world.success == ["trainops: churn trained"]
    assert world.critical == []


def test_a_stop_is_recorded_as_a_failure_without_a_retry_or_a_page() -> None:
    world = World(reason="InternalFailure")  # even a retryable reason: stopping was deliberate
    assert world.complete("Stopped")["outcome"] == RunOutcome.STOPPED
    (failed,) = world.published
    assert (failed.type, failed.reason, failed.data) == (
        events.TRAINING_FAILED,
        "stopped",
        {"retryable": False, "stopped": True},
    )
    assert world.requeued == []
    assert world.critical == []


def test_a_retryable_failure_with_attempts_left_is_requeued_as_the_next_attempt() -> None:
    world = World(attempt=2, reason="CapacityError: no ml.g5.xlarge capacity")
    assert world.complete("Failed") == {
        "outcome": RunOutcome.REQUEUED,
        "model": "churn",
        "attempt": 3,
    }
    (retry,) = world.requeued
    assert (retry.request_id, retry.attempt) == ("req-1", 3)
    assert [event.type for event in world.published] == [events.TRAINING_REQUEUED]
    assert world.freed  # before the retry is queued, so it finds the slot free
    assert world.critical == []


@pytest.mark.parametrize(
    ("display_name", "trigger"),
    [
        ("qua-churn-a1-0123456789ab", "quality"),
        ("que-churn-a1-0123456789ab", "queue"),
        ("sch-churn-a1-0123456789ab", "queue"),  # a tick's retry goes through the queue
        (None, "queue"),  # started outside trainops
    ],
)
def test_a_requeued_retry_keeps_the_trigger_it_was_started_as(
    display_name: str | None, trigger: str
) -> None:
    world = World(attempt=1, reason="CapacityError: no ml.g5.xlarge capacity")
    detail = {
        "currentPipelineExecutionStatus": "Failed",
        "pipelineExecutionArn": EXECUTION,
        "pipelineArn": PIPELINE,
    }
    if display_name is not None:
        detail["pipelineExecutionDisplayName"] = display_name
    world.complete("Failed", detail=detail)
    (retry,) = world.requeued
    assert retry.trigger == trigger
    # the worker starts the retry under the same trigger code
    code = {"quality": "qua-", "queue": "que-"}[trigger]
    assert retry.execution_display_name(retry.trigger).startswith(code)


@pytest.mark.parametrize(
    ("world", "why"),
    [
        (World(attempt=3, reason="CapacityError"), "attempts exhausted"),
        (World(attempt=1, reason="CapacityError", with_queue=False), "attempts exhausted"),
        (World(attempt=1), "not retryable"),
    ],
    ids=["last-attempt", "no-queue", "not-retryable"],
)
def test_a_final_failure_is_recorded_and_pages(world: World, why: str) -> None:
    result = world.complete("Failed")
    assert result["outcome"] == RunOutcome.FAILED
    assert world.requeued == []
    (failed,) = world.published
    assert failed.type == events.TRAINING_FAILED
    assert failed.data["attempts"] == world.attempt
    (page,) = world.critical
    assert f"({why})" in page
    assert world.reason in page
    assert EXECUTION in page


def test_a_status_that_is_not_an_end_state_frees_nothing() -> None:
    world = World()
    with pytest.raises(UnexpectedEvent, match="'Executing' is not an end state"):
        world.complete("Executing")
    assert world.freed == []
    assert world.published == []


@pytest.mark.parametrize(
    ("overrides", "match"),
    [
        ({"detail-type": "SageMaker Training Job State Change"}, "not a pipeline execution"),
        ({"detail": {"currentPipelineExecutionStatus": "Failed"}}, "without"),
        (
            {
                "detail": {
                    "currentPipelineExecutionStatus": "Failed",
                    "pipelineExecutionArn": "x",
                    "pipelineArn": f"{PIPELINE}-of-another-stack",
                }
            },
            "not a pipeline of this stack",
        ),
    ],
    ids=["other-event", "incomplete", "foreign-pipeline"],
)
def test_an_event_that_is_not_ours_is_refused(overrides: dict[str, Any], match: str) -> None:
    world = World()
    with pytest.raises(UnexpectedEvent, match=match):
        world.complete("Failed", **overrides)
    assert world.freed == []
    assert world.published == []


# What failure_reason returns for a run the gate stopped: the execution's reason, then each
# failed step's (the Fail step's reason is its ErrorMessage).
GATE_MISSED = (
    "Step failure: One or multiple steps failed.; EvaluationFailed: trainops-gate-failed "
    "metric=metrics.auc.value value=0.7312 threshold=0.8"
)
AUC_GATE = Gate(metric="metrics.auc.value", threshold=0.8)


@pytest.mark.parametrize("attempt", [1, 3])
def test_a_model_that_misses_its_gate_fails_for_good_without_a_retry(attempt: int) -> None:
    world = World(attempt=attempt, reason=GATE_MISSED, gate=AUC_GATE)
    assert world.complete("Failed") == {
        "outcome": RunOutcome.FAILED,
        "model": "churn",
        "retryable": False,
        "gate": "failed",
    }
    assert world.requeued == []  # attempts left and a queue, yet not retried
    assert world.freed == [("req-1", EXECUTION)]
    gate_failed, training_failed = world.published
    assert gate_failed.type == events.GATE_FAILED
    assert gate_failed.data == {"metric": "metrics.auc.value", "value": 0.7312, "threshold": 0.8}
    assert gate_failed.reason == (
        "trainops-gate-failed metric=metrics.auc.value value=0.7312 threshold=0.8"
    )
    assert gate_failed.occurred_at == datetime(2026, 11, 30, 10, tzinfo=UTC)
    assert training_failed.type == events.TRAINING_FAILED
    assert training_failed.reason == GATE_MISSED
    assert training_failed.data == {"retryable": False, "attempts": attempt, "gate": "failed"}
    (subject,) = world.critical_subjects
    assert subject == (
        "trainops: churn failed its evaluation gate (metrics.auc.value = 0.7312, threshold 0.8)"
    )
    (page,) = world.critical
    assert "Metric: metrics.auc.value\nValue: 0.7312\nThreshold: 0.8\n" in page
    assert "not registered; not retried" in page
    assert EXECUTION in page


def test_a_gate_failure_against_the_approved_package_names_its_value() -> None:
    reason = (
        "EvaluationFailed: trainops-gate-failed metric=metrics.rmse.value value=13.1 "
        "threshold=12.5 approved=11.9"
    )
    world = World(reason=reason)
    world.complete("Failed")
    assert world.published[0].data == {
        "metric": "metrics.rmse.value",
        "value": 13.1,
        "threshold": 12.5,
        "approved": 11.9,
    }
    (page,) = world.critical
    assert "Approved package's value: 11.9" in page


def test_a_gated_model_that_succeeds_passed_its_gate() -> None:
    world = World(gate=AUC_GATE)
    assert world.complete("Succeeded") == {
        "outcome": RunOutcome.SUCCEEDED,
        "model": "churn",
        "gate": "passed",
    }
    passed, succeeded = world.published
    assert passed.type == events.GATE_PASSED
    # the measured value is in the evaluation report, not in the status change
    assert passed.data == {
        "metric": "metrics.auc.value",
        "threshold": 0.8,
        "comparison": "GreaterThanOrEqualTo",
    }
    assert succeeded.type == events.TRAINING_SUCCEEDED
    (text,) = world.success_texts
    assert "passed its evaluation gate (metrics.auc.value GreaterThanOrEqualTo 0.8)" in text


def test_a_training_failure_of_a_gated_model_is_handled_as_before() -> None:
    world = World(attempt=1, reason="CapacityError: no capacity", gate=AUC_GATE)
    assert world.complete("Failed")["outcome"] == RunOutcome.REQUEUED
    assert [event.type for event in world.published] == [events.TRAINING_REQUEUED]


@pytest.mark.parametrize(
    "reason",
    [
        "AlgorithmError: the script exited 1",
        "Evaluate: ClientError: the evaluation container exited 1",
        "trainops-gate-failed",  # the marker without the form
        "",
    ],
)
def test_only_the_fixed_form_is_a_gate_failure(reason: str) -> None:
    assert gate_failure(reason) is None


def test_the_catalog_names_the_gated_models() -> None:
    gates = gates_in_catalog(
        {
            "churn": {
                "pipelineName": "p",
                "evaluation": {
                    "metric": "metrics.rmse.value",
                    "threshold": 12.5,
                    "comparison": "LessThanOrEqualTo",
                },
            },
            "fraud": {"pipelineName": "q"},
        }
    )
    assert gates == {
        "churn": Gate(metric="metrics.rmse.value", threshold=12.5, comparison="LessThanOrEqualTo")
    }
