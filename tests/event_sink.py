"""A training event bus in moto whose events land in a queue the test can read."""

from __future__ import annotations

import json
from typing import Any

import boto3
import pytest

from trainops_runtime import domain_events, settings

BUS = "trainops-test-training"


class EventSink:
    def __init__(self) -> None:
        self.sqs = boto3.client("sqs")
        events = boto3.client("events")
        events.create_event_bus(Name=BUS)
        self.queue_url = self.sqs.create_queue(QueueName="training-events-sink")["QueueUrl"]
        queue_arn = self.sqs.get_queue_attributes(
            QueueUrl=self.queue_url, AttributeNames=["QueueArn"]
        )["Attributes"]["QueueArn"]
        events.put_rule(
            Name="sink",
            EventBusName=BUS,
            EventPattern=json.dumps({"source": [domain_events.SOURCE]}),
        )
        events.put_targets(
            Rule="sink", EventBusName=BUS, Targets=[{"Id": "sink", "Arn": queue_arn}]
        )
        self.received: list[dict[str, Any]] = []

    def drain(self) -> list[dict[str, Any]]:
        """Every event delivered since the last drain (envelopes), oldest first."""
        fresh: list[dict[str, Any]] = []
        while True:
            messages = self.sqs.receive_message(
                QueueUrl=self.queue_url, MaxNumberOfMessages=10
            ).get("Messages", [])
            if not messages:
                break
            for message in messages:
                fresh.append(json.loads(message["Body"]))
                self.sqs.delete_message(
                    QueueUrl=self.queue_url, ReceiptHandle=message["ReceiptHandle"]
                )
        self.received += fresh
        return fresh

    def types(self) -> list[str]:
        self.drain()
        return [event["detail-type"] for event in self.received]


@pytest.fixture
def event_sink(moto_aws: None, monkeypatch: pytest.MonkeyPatch) -> EventSink:
    monkeypatch.setenv(settings.EVENT_BUS.name, BUS)
    return EventSink()
