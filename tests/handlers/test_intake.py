"""The queue worker's use case with fakes for its ports: every path a message can take (reject,
wait, start, resume, retry), what is published on each, and what happens to the model's slot,
without SQS, DynamoDB or SageMaker (the moto-backed tests in test_queue_worker.py run the same
paths through the real adapters)."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import pytest

from trainops_runtime import domain_events as events
from trainops_runtime.catalog import CatalogEntry, ModelCatalog
from trainops_runtime.errors import RetryableError, StartFailed
from trainops_runtime.intake import Deferred, Intake, IntakePorts, Message
from trainops_runtime.outcomes import RequestOutcome
from trainops_runtime.training_request import InvalidRequest, TrainingRequest
from trainops_runtime.training_slots import Slot, Stale

CATALOG = ModelCatalog(
    {
        "churn": CatalogEntry(
            pipeline_name="trainops-test-churn",
            training_data="s3://data/churn/",
            max_runtime_minutes=60,
        )
    }
)
ARN = "arn:aws:sagemaker:us-east-1:123456789012:pipeline/trainops-test-churn/execution/abc"


@dataclass
class FakeLedger:
    held: dict[str, Slot] = field(default_factory=dict)
    calls: list[str] = field(default_factory=list)
    stale: str | None = None
    release_fails: bool = False

    @property
    def running(self) -> int:
        return len(self.held)

    def count(self) -> None:
        self.calls.append("count")

    def renew(self, slot: Slot) -> None:
        self.calls.append("renew")
        if self.stale:
            raise Stale(self.stale)

    def claim(self, slot: Slot, now: datetime) -> None:
        self.calls.append("claim")
        if self.stale:
            raise Stale(self.stale)
        self.held[slot.model] = slot

    def release(self, model: str, holder: str) -> None:
        self.calls.append("release")
        if self.release_fails:
            raise RetryableError("could not free the slot: Throttling")
        self.held.pop(model, None)


@dataclass
class World:
    """The fakes behind the ports, and what the use case did to them."""

    ledger: FakeLedger = field(default_factory=FakeLedger)
    start_error: Exception | None = None
    starts: list[TrainingRequest] = field(default_factory=list)
    resumed: list[bool] = field(default_factory=list)  # each start's `resume`
    dead_letters: list[tuple[str, str, str]] = field(default_factory=list)
    published: list[events.DomainEvent] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    def start(self, request: TrainingRequest, *, resume: bool) -> str:
        self.starts.append(request)
        self.resumed.append(resume)
        if self.start_error is not None:
            raise self.start_error
        return ARN

    def intake(self, max_concurrent: int = 2) -> Intake:
        return Intake(
            catalog=CATALOG,
            max_concurrent=max_concurrent,
            ports=IntakePorts(
                ledger=self.ledger,
                start=self.start,
                dead_letter=lambda m, group, reason: self.dead_letters.append(
                    (m.message_id, group, reason)
                ),
                publish=lambda *published: self.published.extend(published),
                log=self,
            ),
        )

    def warning(self, msg: str, *, extra: Any) -> None:
        self.warnings.append(msg)

    def info(self, msg: str, *, extra: Any) -> None:
        pass  # the use case logs only warnings

    @property
    def types(self) -> list[str]:
        return [event.type for event in self.published]


def message(body: Any, group: str | None = "churn", message_id: str = "m-1") -> Message:
    text = body if isinstance(body, str) else json.dumps(body)
    return Message(message_id=message_id, body=text, group=group, receive_count="1")


REQUEST = TrainingRequest(model="churn", request_id="req-1", requested_by="tests")


def held_by(holder: str) -> Slot:
    return Slot("churn", holder, "req-0", "queue", claimed_at=0, expires_at=2**40)


def test_a_free_model_is_claimed_and_started() -> None:
    world = World()
    intake = world.intake()
    assert intake.handle(message(REQUEST.to_message())) == RequestOutcome.STARTED
    assert world.ledger.calls == ["count", "claim"]
    assert world.resumed == [False]
    assert world.types == [events.TRAINING_REQUESTED, events.TRAINING_STARTED]
    assert world.published[1].execution_arn == ARN
    assert intake.outcomes == {"m-1": RequestOutcome.STARTED}


def test_a_redelivery_of_the_slot_holder_resumes_with_the_same_token() -> None:
    world = World(ledger=FakeLedger(held={"churn": held_by(REQUEST.idempotency_token())}))
    assert world.intake(max_concurrent=1).handle(message(REQUEST.to_message())) == (
        RequestOutcome.DUPLICATE
    )
    assert world.ledger.calls == ["count", "renew"]
    assert world.resumed == [True]  # the first delivery's execution is looked for first
    # published together, after the start: the first delivery may have died before either
    assert world.types == [events.TRAINING_REQUESTED, events.TRAINING_STARTED]


@pytest.mark.parametrize(
    ("ledger", "reason"),
    [
        (FakeLedger(held={"churn": held_by("someone-else")}), "churn is still training"),
        (
            FakeLedger(held={"a": held_by("x"), "b": held_by("y")}),
            "2 of 2 trainings running",
        ),
        (FakeLedger(stale="the ledger changed"), "the ledger changed"),
    ],
    ids=["model-busy", "at-capacity", "claim-raced"],
)
def test_back_pressure_defers_and_starts_nothing(ledger: FakeLedger, reason: str) -> None:
    world = World(ledger=ledger)
    intake = world.intake()
    with pytest.raises(Deferred, match=reason):
        intake.handle(message(REQUEST.to_message()))
    assert world.starts == []
    assert world.types == [events.TRAINING_DEFERRED]
    assert intake.outcomes == {"m-1": RequestOutcome.DEFERRED}


@pytest.mark.parametrize(
    ("body", "group", "filed_under", "request_id"),
    [
        ("{not json", "churn", "churn", "sqs:m-1"),
        ({"requestId": "req-9", "model": "churn", "attempt": 0}, "churn", "churn", "req-9"),
        (
            {**json.loads(REQUEST.to_message()), "model": "fraud"},
            "fraud",
            "fraud",
            "req-1",
        ),  # unknown
        ("{not json", "Not a model", "unknown", "sqs:m-1"),
    ],
    ids=["not-json", "invalid-request", "unknown-model", "no-model-group"],
)
def test_a_bad_message_goes_to_the_dlq_and_is_recorded(body, group, filed_under, request_id):
    world = World()
    intake = world.intake()
    assert intake.handle(message(body, group=group)) == RequestOutcome.REJECTED
    ((message_id, dlq_group, reason),) = world.dead_letters
    assert (message_id, dlq_group) == ("m-1", group)
    (rejected,) = world.published
    assert (rejected.type, rejected.model, rejected.request_id) == (
        events.TRAINING_REJECTED,
        filed_under,
        request_id,
    )
    assert rejected.reason == reason
    assert world.ledger.calls == []  # a batch of rejects reads nothing
    assert world.warnings == ["request rejected"]


@pytest.mark.parametrize(
    ("may_have_started", "released"), [(False, True), (True, False)], ids=["4xx", "timeout"]
)
def test_a_retryable_start_failure_is_redelivered(may_have_started: bool, released: bool) -> None:
    world = World(
        start_error=StartFailed(
            "Throttling", "slow down", retryable=True, may_have_started=may_have_started
        )
    )
    intake = world.intake()
    with pytest.raises(RetryableError, match="Throttling: slow down"):
        intake.handle(message(REQUEST.to_message()))
    assert ("release" in world.ledger.calls) is released
    assert intake.outcomes == {"m-1": RequestOutcome.RETRY}
    assert world.dead_letters == []


def test_a_refused_start_frees_the_slot_and_ends_the_request() -> None:
    world = World(
        start_error=StartFailed(
            "ValidationException", "bad", retryable=False, may_have_started=False
        )
    )
    assert world.intake().handle(message(REQUEST.to_message())) == RequestOutcome.REJECTED
    assert world.ledger.held == {}
    assert world.dead_letters[0][2] == "SageMaker refused the start: ValidationException: bad"
    assert world.types == [
        events.TRAINING_REQUESTED,
        events.TRAINING_REJECTED,
        events.TRAINING_FAILED,
    ]


def test_an_override_the_model_cannot_run_is_rejected_and_a_failed_release_only_warns() -> None:
    world = World(
        ledger=FakeLedger(release_fails=True),
        start_error=InvalidRequest("hyperparameters depth are not configured"),
    )
    assert world.intake().handle(message(REQUEST.to_message())) == RequestOutcome.REJECTED
    assert world.ledger.calls == ["count", "claim", "release"]
    assert "hyperparameters depth" in world.dead_letters[0][2]
    assert world.warnings == [
        "could not free the slot of a request that did not start",
        "request rejected",
    ]


def test_a_duplicate_whose_start_fails_keeps_its_slot() -> None:
    """The slot may cover the first delivery's execution: only the sweep may free it."""
    world = World(
        ledger=FakeLedger(held={"churn": held_by(REQUEST.idempotency_token())}),
        start_error=StartFailed("InternalFailure", "x", retryable=True, may_have_started=False),
    )
    with pytest.raises(RetryableError):
        world.intake().handle(message(REQUEST.to_message()))
    assert "release" not in world.ledger.calls


@pytest.mark.parametrize("trigger", ["queue", "quality"])
def test_a_request_is_started_claimed_and_recorded_as_its_trigger(trigger: str) -> None:
    """A quality signal's request (`trigger: quality`) goes the queue's way, under its trigger;
    a producer's request names none and stays `queue`."""
    request = TrainingRequest(model="churn", request_id="req-q", trigger=trigger)
    world = World()
    assert world.intake().handle(message(request.to_message())) == RequestOutcome.STARTED
    (started,) = world.starts
    assert started.trigger == trigger
    assert world.ledger.held["churn"].trigger == trigger
    assert {event.trigger for event in world.published} == {trigger}


def test_a_rejected_quality_request_is_recorded_as_quality() -> None:
    request = TrainingRequest(
        model="churn", request_id="req-q", trigger="quality", hyperparameters={"nope": "1"}
    )
    world = World(start_error=InvalidRequest("hyperparameters nope are not configured"))
    assert world.intake().handle(message(request.to_message())) == RequestOutcome.REJECTED
    (rejected,) = world.published[1:]
    assert (rejected.type, rejected.trigger) == (events.TRAINING_REJECTED, "quality")
