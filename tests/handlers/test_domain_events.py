"""Domain events: the documented schema, delivery to the bus, and no silent drops."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import boto3
import pytest
from botocore.stub import Stubber

from trainops_runtime import domain_events
from trainops_runtime.adapters import clients
from trainops_runtime.adapters.event_bus import PublishError, publish
from trainops_runtime.domain_events import DomainEvent

STARTED = DomainEvent(
    type=domain_events.TRAINING_STARTED,
    model="churn",
    request_id="req-1",
    attempt=1,
    trigger="queue",
    execution_arn="arn:aws:sagemaker:us-east-1:123456789012:pipeline/p/execution/x",
    occurred_at=datetime(2026, 11, 22, 8, 0, tzinfo=UTC),
)


def test_detail_follows_the_documented_schema() -> None:
    detail = STARTED.detail()
    assert detail == {
        "schemaVersion": 1,
        "eventId": STARTED.event_id,
        "type": "TrainingStarted",
        "model": "churn",
        "requestId": "req-1",
        "attempt": 1,
        "trigger": "queue",
        "occurredAt": "2026-11-22T08:00:00+00:00",
        "executionArn": STARTED.execution_arn,
    }
    entry = STARTED.entry("training-bus")
    assert entry["Source"] == "trainops.training"
    assert entry["DetailType"] == "TrainingStarted"
    assert entry["Resources"] == [STARTED.execution_arn]


def test_event_ids_identify_the_fact_not_the_delivery() -> None:
    again = DomainEvent(
        **{**STARTED.__dict__, "occurred_at": datetime(2026, 11, 22, 9, 0, tzinfo=UTC)}
    )
    assert again.event_id == STARTED.event_id
    other_attempt = DomainEvent(**{**STARTED.__dict__, "attempt": 2})
    assert other_attempt.event_id != STARTED.event_id


def test_unknown_types_and_triggers_are_refused() -> None:
    with pytest.raises(ValueError, match="unknown domain event type"):
        DomainEvent(type="TrainingExploded", model="m", request_id="r", attempt=1, trigger="queue")
    with pytest.raises(ValueError, match="unknown trigger"):
        DomainEvent(type="TrainingStarted", model="m", request_id="r", attempt=1, trigger="cron")


def test_without_a_bus_nothing_is_sent() -> None:
    assert publish(None, STARTED) == 0
    assert publish("", STARTED) == 0  # an empty setting is no bus too


def test_events_reach_the_bus(moto_aws: None) -> None:
    events = boto3.client("events")
    sqs = boto3.client("sqs")
    events.create_event_bus(Name="training")
    queue_url = sqs.create_queue(QueueName="sink")["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])[
        "Attributes"
    ]["QueueArn"]
    events.put_rule(
        Name="all",
        EventBusName="training",
        EventPattern=json.dumps({"source": ["trainops.training"]}),
    )
    events.put_targets(
        Rule="all", EventBusName="training", Targets=[{"Id": "sink", "Arn": queue_arn}]
    )
    many = [DomainEvent(**{**STARTED.__dict__, "request_id": f"req-{i}"}) for i in range(12)]
    assert publish("training", *many) == 12  # two PutEvents calls of at most 10

    received = []
    while True:
        messages = sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10).get(
            "Messages", []
        )
        if not messages:
            break
        received += [json.loads(m["Body"]) for m in messages]
        for message in messages:
            sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"])
    assert sorted(e["detail"]["requestId"] for e in received) == sorted(
        f"req-{i}" for i in range(12)
    )
    assert {e["detail-type"] for e in received} == {"TrainingStarted"}


def test_a_rejected_entry_raises_instead_of_vanishing(moto_aws: None) -> None:
    with Stubber(clients.client("events")) as stubber:
        stubber.add_response(
            "put_events",
            {
                "FailedEntryCount": 1,
                "Entries": [{"ErrorCode": "InternalFailure", "ErrorMessage": "try again"}],
            },
        )
        with pytest.raises(PublishError, match="TrainingStarted: InternalFailure try again"):
            publish("training", STARTED)
