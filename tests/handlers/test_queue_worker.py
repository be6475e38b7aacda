"""queue_worker on moto (SQS FIFO + SageMaker with tests/sagemaker_sim.py) and injected errors."""

from __future__ import annotations

import hashlib
import json
from datetime import timedelta
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError
from moto.core.exceptions import JsonRESTError
from moto.sagemaker import models as sagemaker_models

from tests.catalog_file import use_catalog
from tests.event_sink import EventSink
from tests.queue_helpers import deliver, drain, receive_event, send
from tests.sagemaker_sim import PipelineSim
from tests.slot_ledger import TABLE, held
from tests.sns_inbox import Inbox
from trainops_runtime import catalog as catalog_module
from trainops_runtime import errors, settings, training_slots
from trainops_runtime.adapters import clients, slots
from trainops_runtime.adapters.request_queue import (
    MAX_MESSAGE_BYTES,
    REJECT_REASON_ATTRIBUTE,
    TRUNCATED_ATTRIBUTE,
    message_bytes,
)
from trainops_runtime.admission import backoff_seconds
from trainops_runtime.handlers import queue_worker
from trainops_runtime.settings import QueueWorkerSettings
from trainops_runtime.training_cost import CostSpec, JobShape
from trainops_runtime.training_request import TrainingRequest

CATALOG = {
    "churn": {
        "pipelineName": "trainops-test-churn",
        "trainingData": "s3://d/churn/",
        "hyperparameters": ["epochs"],
        "maxRuntimeMinutes": 60,
    },
    "fraud": {
        "pipelineName": "trainops-test-fraud",
        "trainingData": "s3://d/fraud/",
        "hyperparameters": [],
        "maxRuntimeMinutes": 60,
    },
}


class Queues:
    def __init__(self) -> None:
        sqs = boto3.client("sqs")
        self.dlq_url = sqs.create_queue(
            QueueName="requests-dlq.fifo", Attributes={"FifoQueue": "true"}
        )["QueueUrl"]
        self.url = sqs.create_queue(
            QueueName="requests.fifo", Attributes={"FifoQueue": "true", "VisibilityTimeout": "360"}
        )["QueueUrl"]
        self.arn = sqs.get_queue_attributes(QueueUrl=self.url, AttributeNames=["QueueArn"])[
            "Attributes"
        ]["QueueArn"]

    def request(self, model: str, request_id: str, attempt: int = 1, **extra: Any) -> str:
        body = TrainingRequest(
            model=model, request_id=request_id, attempt=attempt, requested_by="tests", **extra
        )
        return send(self.url, body.to_message(), model, body.idempotency_token())

    def batch(self) -> dict[str, Any]:
        return receive_event(self.url, self.arn)

    def poll(self) -> dict[str, Any]:
        """One event-source-mapping poll: receive, run the worker, delete what succeeded."""
        return deliver(self.url, self.arn, queue_worker.run)

    def counts(self) -> dict[str, int]:
        attributes = boto3.client("sqs").get_queue_attributes(
            QueueUrl=self.url,
            AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
        )["Attributes"]
        return {
            "visible": int(attributes["ApproximateNumberOfMessages"]),
            "in_flight": int(attributes["ApproximateNumberOfMessagesNotVisible"]),
        }


@pytest.fixture
def queues(
    pipelines: PipelineSim, event_sink: EventSink, slot_ledger: str, monkeypatch: pytest.MonkeyPatch
) -> Queues:
    created = Queues()
    use_catalog(monkeypatch, CATALOG)
    monkeypatch.setenv("TRAINOPS_MAX_CONCURRENT_TRAININGS", "4")
    monkeypatch.setenv("TRAINOPS_DLQ_URL", created.dlq_url)
    monkeypatch.setenv("TRAINOPS_TRAINING_QUEUE_URL", created.url)
    monkeypatch.setenv("TRAINOPS_STACK", "test")
    catalog_module.load.cache_clear()
    pipelines.create_pipeline("trainops-test-churn")
    pipelines.create_pipeline("trainops-test-fraud")
    return created


def end(pipelines: PipelineSim, model: str, request: TrainingRequest, status: str) -> None:
    """Ends the request's execution as SageMaker would, and frees its slot as training_outcome
    does (tests/handlers/test_training_outcome.py proves that part)."""
    (execution,) = [
        e
        for e in pipelines.executions(f"trainops-test-{model}")
        if e.pipeline_execution_display_name == request.execution_display_name("queue")
    ]
    pipelines.finish(execution.arn, status)
    assert slots.release(TABLE, model, request.idempotency_token())


class ServerError(JsonRESTError):
    code = 500


def throttle_pipeline(
    monkeypatch: pytest.MonkeyPatch,
    pipeline: str,
    code: str = "ThrottlingException",
    *,
    status: int = 400,
) -> None:
    current = sagemaker_models.SageMakerModelBackend.start_pipeline_execution
    error = ServerError if status >= 500 else JsonRESTError

    def start(self: Any, pipeline_name: str, *args: Any, **kwargs: Any) -> dict[str, str]:
        if pipeline_name == pipeline:
            raise error(code, f"{code} injected by the test")
        return current(self, pipeline_name, *args, **kwargs)

    monkeypatch.setattr(sagemaker_models.SageMakerModelBackend, "start_pipeline_execution", start)


def test_a_mixed_batch_reports_exactly_the_retryable_failure(
    queues: Queues, pipelines: PipelineSim, event_sink: EventSink, monkeypatch: pytest.MonkeyPatch
) -> None:
    valid = queues.request("churn", "req-valid")
    malformed = send(queues.url, "{not json", "churn-bad", "malformed-1")
    unknown = send(
        queues.url,
        json.dumps({"model": "ghost", "requestId": "req-ghost", "requestedBy": "tests"}),
        "ghost",
        "ghost-1",
    )
    throttle_pipeline(monkeypatch, "trainops-test-fraud")
    throttled = queues.request("fraud", "req-throttled")

    response = queues.poll()

    assert response == {"batchItemFailures": [{"itemIdentifier": throttled}]}
    assert len(pipelines.executions("trainops-test-churn")) == 1
    rejected = {
        m["Body"]: m["MessageAttributes"][REJECT_REASON_ATTRIBUTE]["StringValue"]
        for m in drain(queues.dlq_url)
    }
    assert set(rejected) == {
        "{not json",
        json.dumps({"model": "ghost", "requestId": "req-ghost", "requestedBy": "tests"}),
    }
    assert rejected["{not json"].startswith("body is not JSON")
    assert "unknown model 'ghost'" in next(
        reason for body, reason in rejected.items() if "ghost" in body
    )
    types = event_sink.types()
    assert types.count("TrainingRejected") == 2
    assert types.count("TrainingStarted") == 1
    # the malformed and unknown messages are acknowledged: only the throttled one is still queued
    assert queues.counts()["visible"] + queues.counts()["in_flight"] == 1
    assert {valid, malformed, unknown}.isdisjoint(
        {f["itemIdentifier"] for f in response["batchItemFailures"]}
    )


def test_a_failed_message_comes_back_later_with_backoff(
    queues: Queues, monkeypatch: pytest.MonkeyPatch
) -> None:
    throttle_pipeline(monkeypatch, "trainops-test-fraud")
    queues.request("fraud", "req-throttled")
    queues.poll()
    assert queues.batch()["Records"] == []  # hidden for the backoff, not lost
    assert queues.counts() == {"visible": 0, "in_flight": 1}
    settings = QueueWorkerSettings[str].from_environment()
    assert [
        backoff_seconds(n, base=settings.backoff_base_seconds, maximum=settings.backoff_max_seconds)
        for n in (1, 2, 3, 10)
    ] == [30, 60, 120, 900]


def test_a_duplicate_message_starts_one_execution(queues: Queues, pipelines: PipelineSim) -> None:
    request = TrainingRequest(model="churn", request_id="req-dup", requested_by="tests")
    send(queues.url, request.to_message(), "churn", "first-copy")
    send(
        queues.url, request.to_message(), "churn", "second-copy"
    )  # a producer retried with a new id
    assert queues.poll() == {"batchItemFailures": []}
    assert len(pipelines.executions("trainops-test-churn")) == 1
    queues.request("churn", "req-dup")  # and again, later, in another batch
    assert queues.poll() == {"batchItemFailures": []}
    assert len(pipelines.executions("trainops-test-churn")) == 1
    end(pipelines, "churn", request, "Succeeded")
    send(queues.url, request.to_message(), "churn", "third-copy")  # even after it finished
    assert queues.poll() == {"batchItemFailures": []}
    assert len(pipelines.executions("trainops-test-churn")) == 1
    # Known limit: that late copy got the ended execution back and holds churn's slot until
    # the stall check frees it (tests/handlers/test_slots.py, tests/e2e).
    assert held() == {"churn": "req-dup"}


def test_a_duplicate_announces_its_running_execution_again(
    queues: Queues, pipelines: PipelineSim, event_sink: EventSink
) -> None:
    """If the first delivery died between the start and the publish, the redelivery publishes
    TrainingStarted; the ids are the same, so the event store keeps one of each."""
    queues.request("churn", "req-again")
    assert queues.poll() == {"batchItemFailures": []}
    send(  # the same request again, past SQS's deduplication (another dedup id)
        queues.url,
        TrainingRequest(model="churn", request_id="req-again", requested_by="t").to_message(),
        "churn",
        "redelivered",
    )
    assert queues.poll() == {"batchItemFailures": []}
    (execution,) = pipelines.executions("trainops-test-churn")
    assert event_sink.types() == [
        "TrainingRequested",
        "TrainingStarted",
        "TrainingRequested",
        "TrainingStarted",
    ]
    started = [e["detail"] for e in event_sink.received if e["detail-type"] == "TrainingStarted"]
    assert [e["executionArn"] for e in started] == [execution.arn, execution.arn]
    assert started[0]["eventId"] == started[1]["eventId"]


def test_a_batch_of_rejects_asks_sagemaker_nothing(
    queues: Queues, monkeypatch: pytest.MonkeyPatch
) -> None:
    def no_capacity_query(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("a batch without a valid request needs no capacity query")

    monkeypatch.setattr(slots, "read", no_capacity_query)
    send(queues.url, "not json", "churn", "garbage-1")
    send(queues.url, json.dumps({"model": "nope", "requestId": "r"}), "nope", "garbage-2")
    assert queues.poll() == {"batchItemFailures": []}
    assert drain(queues.dlq_url)


def test_at_capacity_nothing_starts_and_the_messages_stay(
    queues: Queues, pipelines: PipelineSim, event_sink: EventSink, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TRAINOPS_MAX_CONCURRENT_TRAININGS", "1")
    queues.request("churn", "req-1")
    queues.poll()
    assert len(pipelines.executions("trainops-test-churn")) == 1
    waiting = [queues.request("fraud", "req-2"), queues.request("churn", "req-3")]
    response = queues.poll()
    assert sorted(f["itemIdentifier"] for f in response["batchItemFailures"]) == sorted(waiting)
    assert pipelines.executions("trainops-test-fraud") == []
    assert len(pipelines.executions("trainops-test-churn")) == 1
    assert "TrainingDeferred" in event_sink.types()
    assert queues.counts() == {"visible": 0, "in_flight": 2}  # waiting, not lost, not dead-lettered
    assert drain(queues.dlq_url) == []


def test_deferred_requests_start_when_capacity_frees(
    queues: Queues, pipelines: PipelineSim, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TRAINOPS_MAX_CONCURRENT_TRAININGS", "1")
    monkeypatch.setenv("TRAINOPS_BACKOFF_BASE_SECONDS", "1")
    monkeypatch.setenv("TRAINOPS_BACKOFF_MAX_SECONDS", "1")
    queues.request("churn", "req-1")
    queues.poll()
    queues.request("fraud", "req-2")
    assert len(queues.poll()["batchItemFailures"]) == 1
    end(pipelines, "churn", TrainingRequest("churn", "req-1", requested_by="tests"), "Succeeded")
    import time

    time.sleep(1.1)  # the one-second backoff
    assert queues.poll() == {"batchItemFailures": []}
    assert len(pipelines.executions("trainops-test-fraud")) == 1


def test_messages_of_one_model_keep_their_order(
    queues: Queues, monkeypatch: pytest.MonkeyPatch
) -> None:
    throttle_pipeline(monkeypatch, "trainops-test-churn")
    first = queues.request("churn", "req-a")
    second = queues.request("churn", "req-b")
    other = queues.request("fraud", "req-c")
    response = queues.poll()
    failed = [f["itemIdentifier"] for f in response["batchItemFailures"]]
    assert failed == [first, second]  # req-b is not started ahead of req-a
    assert other not in failed


def test_a_permanent_start_error_goes_to_the_dlq_with_the_reason(
    queues: Queues, event_sink: EventSink, monkeypatch: pytest.MonkeyPatch
) -> None:
    throttle_pipeline(monkeypatch, "trainops-test-fraud", code="ValidationException")
    queues.request("fraud", "req-invalid-pipeline")
    assert queues.poll() == {"batchItemFailures": []}
    (dead,) = drain(queues.dlq_url)
    assert (
        "SageMaker refused the start: ValidationException"
        in dead["MessageAttributes"][REJECT_REASON_ATTRIBUTE]["StringValue"]
    )
    assert "TrainingFailed" in event_sink.types()


def test_an_override_of_an_unconfigured_hyperparameter_is_rejected(
    queues: Queues, pipelines: PipelineSim
) -> None:
    queues.request("churn", "req-hp", hyperparameters={"depth": "3"})
    assert queues.poll() == {"batchItemFailures": []}
    assert pipelines.executions("trainops-test-churn") == []
    (dead,) = drain(queues.dlq_url)
    assert (
        "hyperparameters depth are not configured"
        in dead["MessageAttributes"][REJECT_REASON_ATTRIBUTE]["StringValue"]
    )


def test_misconfiguration_fails_loudly(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TRAINOPS_MAX_CONCURRENT_TRAININGS", "2")
    monkeypatch.setenv("TRAINOPS_TRAINING_QUEUE_URL", "https://queue")
    monkeypatch.setenv("TRAINOPS_SLOTS_TABLE", "slots")
    monkeypatch.delenv("TRAINOPS_DLQ_URL", raising=False)
    with pytest.raises(RuntimeError, match="queue_worker is misconfigured: TRAINOPS_DLQ_URL"):
        queue_worker.run({"Records": []})


def test_a_failing_backoff_call_keeps_the_batch_outcome(
    queues: Queues, monkeypatch: pytest.MonkeyPatch
) -> None:
    """ChangeMessageVisibilityBatch failing must not turn a partial failure into a whole one."""
    throttle_pipeline(monkeypatch, "trainops-test-fraud")
    queues.request("churn", "ok-1")
    queues.request("fraud", "throttled-1")
    event = queues.batch()
    failed_message = next(
        r["messageId"] for r in event["Records"] if json.loads(r["body"])["model"] == "fraud"
    )

    def broken(**kwargs: Any) -> dict[str, Any]:
        raise boto3.client("sqs").exceptions.QueueDoesNotExist(
            {"Error": {"Code": "AWS.SimpleQueueService.NonExistentQueue"}},
            "ChangeMessageVisibilityBatch",
        )

    sqs = clients.client("sqs")
    monkeypatch.setattr(sqs, "change_message_visibility_batch", broken)
    result = queue_worker.run(event)
    assert result == {"batchItemFailures": [{"itemIdentifier": failed_message}]}


def test_a_failed_capacity_query_is_not_repeated_for_every_model(
    queues: Queues, monkeypatch: pytest.MonkeyPatch
) -> None:
    """DynamoDB throttles the ledger read: the whole batch waits, after one attempt, not one per
    FIFO group."""
    attempts: list[int] = []

    def throttled_read(*args: Any, **kwargs: Any) -> Any:
        attempts.append(1)
        raise ClientError(
            {"Error": {"Code": "ProvisionedThroughputExceededException", "Message": "slow down"}},
            "GetItem",
        )

    monkeypatch.setattr(slots, "read", throttled_read)
    queues.request("churn", "c-1")
    queues.request("fraud", "f-1")
    result = queues.poll()
    assert len(result["batchItemFailures"]) == 2
    assert attempts == [1]


ORIGINAL_CLAIM = slots.claim


def claim_as(model: str, request_id: str, *, trigger: str, now: Any = None) -> training_slots.Slot:
    """Takes ``model``'s slot the way another starter (a tick, another worker) would."""
    request = TrainingRequest(model=model, request_id=request_id, requested_by="elsewhere")
    moment = now or training_slots.utc_now()
    slot = training_slots.new_slot(
        model,
        holder=request.idempotency_token(),
        request_id=request_id,
        trigger=trigger,
        longest_run_minutes=60,
        now=moment,
    )
    ORIGINAL_CLAIM(TABLE, slot, now=moment, expected_version=None)
    return slot


def test_a_model_held_by_a_schedule_tick_makes_its_request_wait(
    queues: Queues, pipelines: PipelineSim, event_sink: EventSink
) -> None:
    claim_as("churn", "schedule:churn:2026-11-23T00:00:00Z", trigger="schedule")
    waiting = queues.request("churn", "req-after-tick")
    other = queues.request("fraud", "req-other-model")
    response = queues.poll()
    assert [f["itemIdentifier"] for f in response["batchItemFailures"]] == [waiting]
    assert other != waiting
    assert pipelines.executions("trainops-test-churn") == []
    assert len(pipelines.executions("trainops-test-fraud")) == 1
    event_sink.drain()
    (deferred,) = [
        e["detail"] for e in event_sink.received if e["detail-type"] == "TrainingDeferred"
    ]
    assert "schedule:churn:2026-11-23T00:00:00Z (schedule)" in deferred["reason"]
    assert held() == {
        "churn": "schedule:churn:2026-11-23T00:00:00Z",
        "fraud": "req-other-model",
    }


def test_an_expired_slot_does_not_block_its_model(queues: Queues, pipelines: PipelineSim) -> None:
    """A slot whose release was lost stops counting after the model's longest run (+ slack)."""
    claim_as(
        "churn", "req-lost-end", trigger="queue", now=training_slots.utc_now() - timedelta(days=1)
    )
    queues.request("churn", "req-next")
    assert queues.poll() == {"batchItemFailures": []}
    assert len(pipelines.executions("trainops-test-churn")) == 1
    assert held() == {"churn": "req-next"}


def test_a_claim_that_lost_a_race_waits_instead_of_overshooting(
    queues: Queues, pipelines: PipelineSim, event_sink: EventSink, monkeypatch: pytest.MonkeyPatch
) -> None:
    """This batch reads the ledger, then another worker claims a slot before this batch does.
    The conditional claim fails, so nothing starts on a stale count, and the batch's other
    models wait without trying (their count is stale too)."""
    monkeypatch.setenv("TRAINOPS_MAX_CONCURRENT_TRAININGS", "3")
    read = slots.read

    def read_then_lose_the_race(table: str) -> training_slots.Ledger:
        ledger = read(table)
        claim_as("other", "req-concurrent-worker", trigger="queue")
        return ledger

    monkeypatch.setattr(slots, "read", read_then_lose_the_race)
    claims: list[str] = []

    def counted_claim(table: str, slot: training_slots.Slot, **kwargs: Any) -> Any:
        claims.append(slot.model)
        return ORIGINAL_CLAIM(table, slot, **kwargs)

    monkeypatch.setattr(slots, "claim", counted_claim)
    first = queues.request("churn", "req-loses")
    second = queues.request("fraud", "req-stale")
    response = queues.poll()
    assert [f["itemIdentifier"] for f in response["batchItemFailures"]] == [first, second]
    assert pipelines.executions("trainops-test-churn") == []
    assert pipelines.executions("trainops-test-fraud") == []
    assert claims == ["churn"]  # one failed claim; fraud is not tried on the stale count
    assert held() == {"other": "req-concurrent-worker"}
    event_sink.drain()
    reasons = [e["detail"]["reason"] for e in event_sink.received]
    assert len(reasons) == 2
    assert all("claimed a training slot meanwhile" in reason for reason in reasons)


@pytest.mark.parametrize("code", ["ThrottlingException", "ValidationException"])
def test_a_start_that_failed_frees_its_slot(
    queues: Queues, monkeypatch: pytest.MonkeyPatch, code: str
) -> None:
    throttle_pipeline(monkeypatch, "trainops-test-fraud", code=code)
    queues.request("fraud", "req-not-started")
    queues.poll()
    assert held() == {}
    assert slots.read(TABLE).version == 1  # it was claimed, then freed


def test_a_claim_whose_start_died_is_started_by_the_redelivery(
    queues: Queues, pipelines: PipelineSim, event_sink: EventSink
) -> None:
    """The first delivery claimed the slot and died before starting; the slot names this very
    request, so the redelivery starts it (same token) instead of waiting on itself."""
    claim_as("churn", "req-died", trigger="queue")
    queues.request("churn", "req-died")
    assert queues.poll() == {"batchItemFailures": []}
    (execution,) = pipelines.executions("trainops-test-churn")
    assert execution.pipeline_execution_status == "Executing"
    assert event_sink.types() == ["TrainingRequested", "TrainingStarted"]
    assert held() == {"churn": "req-died"}


def test_a_duplicate_renews_its_claim_and_keeps_it_when_its_start_fails(
    queues: Queues, pipelines: PipelineSim, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The slot may cover the execution its first delivery started: a failing duplicate must
    not free it, and its claim time is renewed so the stall check's grace starts again."""
    an_hour_ago = training_slots.utc_now() - timedelta(hours=1)
    claim_as("fraud", "req-first-delivery", trigger="queue", now=an_hour_ago)
    throttle_pipeline(monkeypatch, "trainops-test-fraud")
    queues.request("fraud", "req-first-delivery")
    assert len(queues.poll()["batchItemFailures"]) == 1
    slot = slots.read(TABLE).slots["fraud"]
    assert slot.request_id == "req-first-delivery"
    assert slot.claimed_at > int((an_hour_ago + timedelta(minutes=59)).timestamp())


def test_a_start_that_may_have_happened_keeps_its_slot(
    queues: Queues, pipelines: PipelineSim, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A 5xx answer may come after SageMaker created the execution: the slot stays, and the
    redelivery's start with the same token finds out."""
    throttle_pipeline(monkeypatch, "trainops-test-fraud", code="InternalFailure", status=500)
    failed = queues.request("fraud", "req-maybe-started")
    assert queues.poll() == {"batchItemFailures": [{"itemIdentifier": failed}]}
    assert held() == {"fraud": "req-maybe-started"}
    # the same after botocore retried: the last attempt's 4xx says nothing about the first
    retried = ClientError(
        {
            "Error": {"Code": "ThrottlingException"},
            "ResponseMetadata": {"HTTPStatusCode": 400, "RetryAttempts": 2},
        },
        "StartPipelineExecution",
    )
    assert errors.may_have_taken_effect(retried)


def test_a_duplicate_changes_no_count(queues: Queues, pipelines: PipelineSim) -> None:
    """Its renewal does not move the ledger's version, so a concurrent batch's count stays
    valid and nothing waits for it."""
    queues.request("churn", "req-once")
    assert queues.poll() == {"batchItemFailures": []}
    version = slots.read(TABLE).version
    send(
        queues.url,
        TrainingRequest(model="churn", request_id="req-once", requested_by="t").to_message(),
        "churn",
        "again",
    )
    assert queues.poll() == {"batchItemFailures": []}
    assert slots.read(TABLE).version == version
    assert len(pipelines.executions("trainops-test-churn")) == 1


# ---- poison bodies: every one is rejected once, with a reason, and never comes back ----------


POISON = {
    # valid JSON text that json.loads cannot turn into values
    "nested too deep": "[" * 100_000 + "]" * 100_000,
    "integer beyond the digit limit": '{"model": "churn", "requestId": "r1", "attempt": '
    + "9" * 5_000
    + "}",
    "an object nested too deep inside a request": json.dumps({"model": "churn", "requestId": "r2"})[
        :-1
    ]
    + ', "hyperparameters": '
    + '{"a": ' * 900
    + "1"
    + "}" * 900
    + "}",
}


REASONS = {
    "nested too deep": "body is JSON nested too deeply to read",
    "integer beyond the digit limit": "body is not readable JSON: Exceeds the limit (4300 digits)",
    "an object nested too deep inside a request": "hyperparameters.a must be string",
}


@pytest.mark.parametrize("kind", sorted(POISON))
def test_a_poison_body_is_rejected_once_with_its_reason(
    queues: Queues, event_sink: EventSink, kind: str
) -> None:
    body = POISON[kind]
    send(queues.url, body, "churn", f"poison-{len(body)}")
    response = queues.poll()
    assert response == {"batchItemFailures": []}  # acknowledged: never redelivered
    (dead,) = drain(queues.dlq_url)
    reason = dead["MessageAttributes"][REJECT_REASON_ATTRIBUTE]["StringValue"]
    assert reason.startswith(REASONS[kind]), reason
    assert "TrainingRejected" in event_sink.types()
    assert queues.counts() == {"visible": 0, "in_flight": 0}


def test_a_body_at_the_size_limit_is_dead_lettered_as_a_summary(
    queues: Queues, event_sink: EventSink
) -> None:
    """AWS counts message attributes toward the 256 KiB limit: the DLQ copy of a body at the
    limit would not fit beside its reason, so a summary takes its place."""
    body = "x" * MAX_MESSAGE_BYTES
    send(queues.url, body, "churn", "huge-1")
    assert queues.poll() == {"batchItemFailures": []}
    (dead,) = drain(queues.dlq_url)
    attributes = {
        name: {"DataType": value["DataType"], "StringValue": value["StringValue"]}
        for name, value in dead["MessageAttributes"].items()
    }
    assert attributes[TRUNCATED_ATTRIBUTE]["StringValue"] == "true"
    assert message_bytes(dead["Body"], attributes) <= MAX_MESSAGE_BYTES
    summary = json.loads(dead["Body"])
    assert summary["bytes"] == MAX_MESSAGE_BYTES
    assert summary["sha256"] == hashlib.sha256(body.encode()).hexdigest()
    assert summary["head"] == body[:16_384]
    assert "TrainingRejected" in event_sink.types()


def test_a_small_rejected_body_is_kept_whole(queues: Queues) -> None:
    send(queues.url, "{not json", "churn", "small-1")
    queues.poll()
    (dead,) = drain(queues.dlq_url)
    assert dead["Body"] == "{not json"
    assert TRUNCATED_ATTRIBUTE not in dead["MessageAttributes"]


def test_a_rejected_request_is_recorded_under_its_own_request_id(
    queues: Queues, event_sink: EventSink
) -> None:
    """A body that parses but is not a valid request (here: an attempt out of range) names its
    request id; the rejection is recorded under it, not under the SQS message id."""
    body = json.dumps({"model": "churn", "requestId": "req-77", "attempt": 99})
    send(queues.url, body, "churn", "bad-attempt-1")
    queues.poll()
    send(queues.url, json.dumps({"model": "ghost", "requestId": "req-78"}), "ghost", "ghost-2")
    queues.poll()
    rejected = [e["detail"] for e in event_sink.drain() if e["detail-type"] == "TrainingRejected"]
    assert [(r["requestId"], r["attempt"]) for r in rejected] == [("req-77", 1), ("req-78", 1)]


# fraud's runs: 1 x ml.g5.xlarge for an hour ($1.42 with its volume); the cap is $3.
FRAUD_COST = CostSpec(
    region="us-east-1",
    cap=3.0,
    training=JobShape("ml.g5.xlarge", instance_count=1, max_runtime_minutes=60, volume_gb=50),
)


@pytest.fixture
def capped_queues(queues: Queues, monkeypatch: pytest.MonkeyPatch) -> tuple[Queues, Inbox]:
    use_catalog(
        monkeypatch, {**CATALOG, "fraud": {**CATALOG["fraud"], "cost": FRAUD_COST.to_dict()}}
    )
    catalog_module.load.cache_clear()
    warning = Inbox("warning")
    monkeypatch.setenv(settings.WARNING_TOPIC_ARN.name, warning.topic_arn)
    return queues, warning


def test_a_request_over_its_cost_cap_is_dead_lettered_recorded_and_alerted(
    capped_queues: tuple[Queues, Inbox], pipelines: PipelineSim, event_sink: EventSink
) -> None:
    """3 instances for an hour ($4.25) against fraud's $3 cap: refused before any slot or
    start, never retried, and nothing lost: the DLQ has it with the reason, the store the
    rejection with projection and cap, the warning topic an alert naming them."""
    queues, warning = capped_queues
    queues.request("fraud", "req-big", instance_count=3)
    assert queues.poll() == {"batchItemFailures": []}
    assert pipelines.executions("trainops-test-fraud") == []
    assert held(TABLE) == {}
    (dead,) = drain(queues.dlq_url)
    reason = dead["MessageAttributes"][REJECT_REASON_ATTRIBUTE]["StringValue"]
    assert reason.startswith("projected maximum $4.25 exceeds the cap of $3.00 per run")
    (rejected,) = [e["detail"] for e in event_sink.drain()]
    assert rejected["requestId"] == "req-big"
    assert rejected["data"] == {"projectedCost": 4.25, "costCap": 3.0}
    (alert,) = warning.messages()
    assert alert["Subject"] == "trainops: a run of fraud was refused ($4.25 over the $3.00 cap)"
    assert "3 x ml.g5.xlarge ($1.408/h) x 1 h with 50 GB each = $4.25" in alert["Message"]


def test_a_request_within_its_cap_starts_with_its_overrides(
    capped_queues: tuple[Queues, Inbox], pipelines: PipelineSim
) -> None:
    """2 instances for 30 minutes ($1.42) fits: the overrides become pipeline parameters."""
    queues, warning = capped_queues
    queues.request("fraud", "req-fits", instance_count=2, max_runtime_minutes=30)
    assert queues.poll() == {"batchItemFailures": []}
    (execution,) = pipelines.executions("trainops-test-fraud")
    assert pipelines.parameters(execution.arn)["InstanceCount"] == "2"
    assert pipelines.parameters(execution.arn)["MaxRuntimeSeconds"] == "1800"
    assert drain(queues.dlq_url) == []
    assert warning.messages() == []


def test_a_runtime_beyond_the_configured_one_is_rejected(
    queues: Queues, pipelines: PipelineSim
) -> None:
    """A run may hold its model's slot for the configured runtime, no longer."""
    queues.request("churn", "req-long", max_runtime_minutes=61)
    assert queues.poll() == {"batchItemFailures": []}
    assert pipelines.executions("trainops-test-churn") == []
    (dead,) = drain(queues.dlq_url)
    assert (
        "maxRuntimeMinutes 61 is longer than churn's configured 60"
        in (dead["MessageAttributes"][REJECT_REASON_ATTRIBUTE]["StringValue"])
    )


def test_a_failing_alert_does_not_redeliver_the_refused_request(
    capped_queues: tuple[Queues, Inbox], monkeypatch: pytest.MonkeyPatch
) -> None:
    queues, _ = capped_queues
    monkeypatch.setenv(settings.WARNING_TOPIC_ARN.name, "arn:aws:sns:us-east-1:123456789012:gone")
    queues.request("fraud", "req-big", instance_count=3)
    assert queues.poll() == {"batchItemFailures": []}
    assert len(drain(queues.dlq_url)) == 1
    assert queues.counts() == {"visible": 0, "in_flight": 0}
