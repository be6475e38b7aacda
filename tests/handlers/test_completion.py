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
    UnexpectedEvent,
    complete,
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
    freed: list[tuple[str, str]] = field(default_factory=list)
    requeued: list[TrainingRequest] = field(default_factory=list)
    published: list[events.DomainEvent] = field(default_factory=list)
    success: list[str] = field(default_factory=list)
    critical: list[str] = field(default_factory=list)

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
            notify_success=lambda subject, text: self.success.append(subject),
            notify_critical=lambda subject, text: self.critical.append(text),
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
