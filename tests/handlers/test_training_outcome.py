"""training_outcome on moto: success, stop, re-queue with attempt + 1, and the final alert."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import boto3
import pytest

from tests.catalog_file import use_catalog
from tests.event_sink import EventSink
from tests.lambda_context import LambdaContext
from tests.queue_helpers import deliver, drain
from tests.sagemaker_sim import PipelineSim
from tests.slot_ledger import TABLE, held
from trainops_runtime import catalog as catalog_module
from trainops_runtime import completion, training_slots
from trainops_runtime.adapters import slots
from trainops_runtime.adapters.training import start_training
from trainops_runtime.errors import is_retryable_failure
from trainops_runtime.handlers import queue_worker, training_outcome
from trainops_runtime.training_request import TrainingRequest

CATALOG = {
    "churn": {
        "pipelineName": "trainops-test-churn",
        "trainingData": "s3://data-bucket/churn/",
        "hyperparameters": ["epochs"],
        "maxRuntimeMinutes": 60,
    },
}
SAMPLE = (
    Path(__file__).parent.parent
    / "fixtures"
    / "events"
    / "sagemaker_pipeline_execution_failed.json"
)
CAPACITY = "ClientError: CapacityError: Unable to provision requested ML compute capacity."
ALGORITHM = "AlgorithmError: ValueError: could not convert string to float"


@pytest.fixture
def setup(
    pipelines: PipelineSim, event_sink: EventSink, slot_ledger: str, monkeypatch: pytest.MonkeyPatch
) -> dict[str, str]:
    sqs, sns = boto3.client("sqs"), boto3.client("sns")
    queue_url = sqs.create_queue(QueueName="requests.fifo", Attributes={"FifoQueue": "true"})[
        "QueueUrl"
    ]
    dlq_url = sqs.create_queue(QueueName="requests-dlq.fifo", Attributes={"FifoQueue": "true"})[
        "QueueUrl"
    ]
    alerts_url = sqs.create_queue(QueueName="critical-inbox")["QueueUrl"]
    alerts_arn = sqs.get_queue_attributes(QueueUrl=alerts_url, AttributeNames=["QueueArn"])[
        "Attributes"
    ]["QueueArn"]
    topic = sns.create_topic(Name="critical")["TopicArn"]
    sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=alerts_arn)
    for name, value in {
        "TRAINOPS_MAX_ATTEMPTS": "3",
        "TRAINOPS_TRAINING_QUEUE_URL": queue_url,
        "TRAINOPS_DLQ_URL": dlq_url,
        "TRAINOPS_MAX_CONCURRENT_TRAININGS": "4",
        "TRAINOPS_CRITICAL_TOPIC_ARN": topic,
        "TRAINOPS_STACK": "test",
    }.items():
        monkeypatch.setenv(name, value)
    use_catalog(monkeypatch, CATALOG)
    pipelines.create_pipeline("trainops-test-churn")
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])[
        "Attributes"
    ]["QueueArn"]
    return {"queue_url": queue_url, "queue_arn": queue_arn, "alerts_url": alerts_url}


def status_event(execution_arn: str, status: str) -> dict[str, Any]:
    """The documented status-change event, pointed at our execution."""
    event = json.loads(SAMPLE.read_text())
    pipeline_arn = execution_arn.split("/execution/", maxsplit=1)[0]
    event["resources"] = [pipeline_arn, execution_arn]
    event["detail"].update(
        {
            "pipelineArn": pipeline_arn,
            "pipelineExecutionArn": execution_arn,
            "currentPipelineExecutionStatus": status,
        }
    )
    return event


def start(request_id: str = "req-1", attempt: int = 1, **extra: Any) -> str:
    request = TrainingRequest(
        model="churn", request_id=request_id, attempt=attempt, requested_by="tests", **extra
    )
    return start_training(request, catalog_module.load(), trigger="queue")


def alerts(setup: dict[str, str]) -> list[dict[str, Any]]:
    return [json.loads(m["Body"]) for m in drain(setup["alerts_url"])]


def test_success_is_recorded(
    setup: dict[str, str], pipelines: PipelineSim, event_sink: EventSink
) -> None:
    arn = start()
    pipelines.finish(arn, "Succeeded")
    assert training_outcome.run(status_event(arn, "Succeeded")) == {
        "outcome": "succeeded",
        "model": "churn",
    }
    (succeeded,) = [e for e in event_sink.drain() if e["detail-type"] == "TrainingSucceeded"]
    assert succeeded["detail"]["requestId"] == "req-1"
    assert succeeded["detail"]["executionArn"] == arn
    assert alerts(setup) == []


def test_a_retryable_failure_is_requeued_with_the_next_attempt(
    setup: dict[str, str], pipelines: PipelineSim, event_sink: EventSink
) -> None:
    arn = start(hyperparameters={"epochs": "7"}, data_uri="s3://data-bucket/churn/2026-11/")
    pipelines.finish(
        arn, "Failed", "Step failure: One or multiple steps failed.", step_failure=CAPACITY
    )
    assert training_outcome.run(status_event(arn, "Failed")) == {
        "outcome": "requeued",
        "model": "churn",
        "attempt": 2,
    }
    (message,) = drain(setup["queue_url"])
    retry = json.loads(message["Body"])
    assert retry["requestId"] == "req-1"
    assert retry["attempt"] == 2
    assert retry["hyperparameters"] == {"epochs": "7"}
    assert retry["dataUri"] == "s3://data-bucket/churn/2026-11/"
    assert message["Attributes"]["MessageGroupId"] == "churn"
    assert "TrainingRequeued" in [e["detail-type"] for e in event_sink.drain()]
    assert alerts(setup) == []


def test_the_same_failure_delivered_twice_requeues_once(
    setup: dict[str, str], pipelines: PipelineSim
) -> None:
    arn = start()
    pipelines.finish(arn, "Failed", step_failure=CAPACITY)
    training_outcome.run(status_event(arn, "Failed"))
    training_outcome.run(status_event(arn, "Failed"))
    assert len(drain(setup["queue_url"])) == 1


def test_a_final_failure_delivered_twice_pages_once(
    setup: dict[str, str],
    pipelines: PipelineSim,
    event_sink: EventSink,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """EventBridge delivers at least once: the handler acts once per event id."""
    monkeypatch.setenv("AWS_LAMBDA_FUNCTION_NAME", "trainops-test-training-queue-outcome")
    arn = start()
    pipelines.finish(arn, "Failed", step_failure=ALGORITHM)
    event = status_event(arn, "Failed")
    first = training_outcome.handler(event, LambdaContext())
    again = training_outcome.handler(event, LambdaContext())
    assert first == again == {"outcome": "failed", "model": "churn", "retryable": False}
    assert len(alerts(setup)) == 1
    assert event_sink.types().count("TrainingFailed") == 1
    # another event (a new id) about another execution still pages
    other = start("req-2")
    pipelines.finish(other, "Failed", step_failure=ALGORITHM)
    training_outcome.handler({**status_event(other, "Failed"), "id": "other-id"}, LambdaContext())
    assert len(alerts(setup)) == 1
    # the records sit beside the ledger, under keys the function's IAM condition allows
    records = [
        item["id"]["S"]
        for item in boto3.client("dynamodb").scan(TableName=TABLE)["Items"]
        if item["id"]["S"] != "training-slots"
    ]
    assert len(records) == 2
    assert all(r.startswith("trainops-test-training-queue-outcome.") for r in records)


def test_a_handler_that_failed_acts_again_on_the_retry(
    setup: dict[str, str], pipelines: PipelineSim, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Only a completed run is remembered: a delivery whose handling raised is handled anew."""
    arn = start()
    pipelines.finish(arn, "Failed", step_failure=ALGORITHM)
    event = status_event(arn, "Failed")
    real_notify = training_outcome.notify
    calls = {"n": 0}

    def flaky(*args: Any) -> None:
        calls["n"] += 1
        if calls["n"] == 1:
            raise RuntimeError("SNS throttled")
        real_notify(*args)

    monkeypatch.setattr(training_outcome, "notify", flaky)
    with pytest.raises(RuntimeError, match="SNS throttled"):
        training_outcome.handler(event, LambdaContext())
    training_outcome.handler(event, LambdaContext())
    assert len(alerts(setup)) == 1


def test_a_non_retryable_failure_fails_and_alerts(
    setup: dict[str, str], pipelines: PipelineSim, event_sink: EventSink
) -> None:
    arn = start()
    pipelines.finish(arn, "Failed", step_failure=ALGORITHM)
    assert training_outcome.run(status_event(arn, "Failed"))["outcome"] == "failed"
    assert drain(setup["queue_url"]) == []
    failed = [e for e in event_sink.drain() if e["detail-type"] == "TrainingFailed"]
    assert failed[0]["detail"]["data"] == {"retryable": False, "attempts": 1}
    (alert,) = alerts(setup)
    assert alert["Subject"] == "trainops: training of churn failed (not retryable)"
    assert ALGORITHM in alert["Message"]


def test_a_stopped_execution_is_recorded_but_not_retried_or_paged(
    setup: dict[str, str], pipelines: PipelineSim, event_sink: EventSink
) -> None:
    arn = start()
    pipelines.finish(arn, "Stopped")
    assert training_outcome.run(status_event(arn, "Stopped"))["outcome"] == "stopped"
    assert drain(setup["queue_url"]) == []
    assert alerts(setup) == []
    assert [
        e["detail"]["data"] for e in event_sink.drain() if e["detail-type"] == "TrainingFailed"
    ] == [{"retryable": False, "stopped": True}]


def test_retries_stop_at_max_attempts_then_alert(
    setup: dict[str, str], pipelines: PipelineSim, event_sink: EventSink
) -> None:
    """queue -> worker -> execution fails (capacity) -> outcome re-queues ... until attempt 3."""
    from trainops_runtime.adapters.request_queue import enqueue

    enqueue(
        setup["queue_url"],
        TrainingRequest(model="churn", request_id="req-cycle", requested_by="tests"),
    )
    outcomes = []
    for _ in range(3):
        assert deliver(setup["queue_url"], setup["queue_arn"], queue_worker.run) == {
            "batchItemFailures": []
        }
        latest = pipelines.executions("trainops-test-churn")[-1]
        pipelines.finish(latest.arn, "Failed", step_failure=CAPACITY)
        outcomes.append(training_outcome.run(status_event(latest.arn, "Failed"))["outcome"])
    assert outcomes == ["requeued", "requeued", "failed"]
    assert [
        pipelines.parameters(e.arn)["Attempt"] for e in pipelines.executions("trainops-test-churn")
    ] == ["1", "2", "3"]
    assert drain(setup["queue_url"]) == []
    (alert,) = alerts(setup)
    assert alert["Subject"] == "trainops: training of churn failed (attempts exhausted)"
    types = [e["detail-type"] for e in event_sink.drain()]
    assert types.count("TrainingStarted") == 3
    assert types.count("TrainingRequeued") == 2
    assert types.count("TrainingFailed") == 1


def test_an_execution_started_outside_trainops_gets_its_own_request_id(
    setup: dict[str, str], pipelines: PipelineSim
) -> None:
    response = boto3.client("sagemaker").start_pipeline_execution(
        PipelineName="trainops-test-churn", ClientRequestToken="x" * 32
    )
    arn = response["PipelineExecutionArn"]
    pipelines.finish(arn, "Failed", step_failure=CAPACITY)
    training_outcome.run(status_event(arn, "Failed"))
    (message,) = drain(setup["queue_url"])
    assert json.loads(message["Body"])["requestId"] == f"manual:{arn.rsplit('/', 1)[-1]}"


@pytest.mark.parametrize(
    ("event", "message"),
    [
        ({"detail-type": "Something Else"}, "not a pipeline execution status change"),
        (
            {"detail-type": completion.EVENT_DETAIL_TYPE, "detail": {}},
            "status change without",
        ),
    ],
)
def test_unexpected_events_fail_loudly(
    setup: dict[str, str], event: dict[str, Any], message: str
) -> None:
    with pytest.raises(completion.UnexpectedEvent, match=message):
        training_outcome.run(event)


def test_another_stacks_pipeline_is_refused(setup: dict[str, str]) -> None:
    event = status_event(
        "arn:aws:sagemaker:us-east-1:123456789012:pipeline/trainops-prod--churn/execution/x",
        "Failed",
    )
    with pytest.raises(completion.UnexpectedEvent, match="not a pipeline of this stack"):
        training_outcome.run(event)


@pytest.mark.parametrize(
    ("reason", "retryable"),
    [
        (CAPACITY, True),
        ("ResourceLimitExceeded: The account-level service limit", True),
        ("InternalServerError: We encountered an internal error", True),
        (ALGORITHM, False),
        ("ClientError: Please ensure the S3 path exists", False),
        ("no failure reason reported", False),
    ],
)
def test_failure_reasons_are_classified(reason: str, retryable: bool) -> None:
    assert is_retryable_failure(reason) is retryable


def claim_for(request_id: str, attempt: int = 1) -> None:
    """The slot the worker claimed before starting this request."""
    request = TrainingRequest(
        model="churn", request_id=request_id, attempt=attempt, requested_by="tests"
    )
    now = training_slots.utc_now()
    slot = training_slots.new_slot(
        "churn",
        holder=request.idempotency_token(),
        request_id=request_id,
        trigger="queue",
        longest_run_minutes=60,
        now=now,
    )
    slots.claim(TABLE, slot, now=now, expected_version=None)


@pytest.mark.parametrize("status", ["Succeeded", "Stopped", "Failed"])
def test_every_end_frees_the_slot_of_its_request(
    setup: dict[str, str], pipelines: PipelineSim, status: str
) -> None:
    claim_for("req-1")
    arn = start("req-1")
    pipelines.finish(arn, status, step_failure=CAPACITY if status == "Failed" else None)
    training_outcome.run(status_event(arn, status))
    assert held() == {}


def test_a_late_end_event_does_not_free_the_next_request_slot(
    setup: dict[str, str], pipelines: PipelineSim
) -> None:
    """req-1 ended and req-2 now trains; req-1's status change delivered again frees nothing."""
    claim_for("req-1")
    first = start("req-1")
    pipelines.finish(first, "Succeeded")
    training_outcome.run(status_event(first, "Succeeded"))
    claim_for("req-2")
    start("req-2")
    training_outcome.run(status_event(first, "Succeeded"))
    assert held() == {"churn": "req-2"}


def test_a_requeued_attempt_finds_its_model_free(
    setup: dict[str, str], pipelines: PipelineSim
) -> None:
    """The slot is freed before the retry is queued, so attempt 2 does not wait on attempt 1."""
    claim_for("req-1")
    arn = start("req-1")
    pipelines.finish(arn, "Failed", step_failure=CAPACITY)
    assert training_outcome.run(status_event(arn, "Failed"))["outcome"] == "requeued"
    assert held() == {}
    assert deliver(setup["queue_url"], setup["queue_arn"], queue_worker.run) == {
        "batchItemFailures": []
    }
    attempt_2 = TrainingRequest(model="churn", request_id="req-1", attempt=2, requested_by="t")
    assert slots.read(TABLE).slots["churn"].holder == attempt_2.idempotency_token()
    assert [
        pipelines.parameters(e.arn)["Attempt"] for e in pipelines.executions("trainops-test-churn")
    ] == ["1", "2"]


@pytest.mark.parametrize(
    ("status", "kind"), [("Succeeded", "TrainingSucceeded"), ("Stopped", "TrainingFailed")]
)
def test_outcome_events_are_dated_when_sagemaker_ended_the_run(
    setup: dict[str, str], pipelines: PipelineSim, event_sink: EventSink, status: str, kind: str
) -> None:
    """The read model orders by event time: an outcome handled late (throttled, retried) must
    not make its run look newer than one that ended after it."""
    arn = start()
    pipelines.finish(arn, status)
    event = status_event(arn, status)
    event["time"] = "2026-11-22T08:15:42Z"
    training_outcome.run(event)
    (published,) = [e for e in event_sink.drain() if e["detail-type"] == kind]
    assert published["detail"]["occurredAt"] == "2026-11-22T08:15:42+00:00"
    assert published["time"] in ("2026-11-22T08:15:42Z", "2026-11-22T08:15:42+00:00")
