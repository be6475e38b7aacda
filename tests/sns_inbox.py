"""An SNS topic whose messages land in an SQS queue the test reads (moto)."""

from __future__ import annotations

import json
from typing import Any

import boto3


class Inbox:
    def __init__(self, name: str) -> None:
        self.sns, self.sqs = boto3.client("sns"), boto3.client("sqs")
        self.topic_arn = self.sns.create_topic(Name=name)["TopicArn"]
        self.queue_url = self.sqs.create_queue(QueueName=f"{name}-inbox")["QueueUrl"]
        queue_arn = self.sqs.get_queue_attributes(
            QueueUrl=self.queue_url, AttributeNames=["QueueArn"]
        )["Attributes"]["QueueArn"]
        self.sns.subscribe(TopicArn=self.topic_arn, Protocol="sqs", Endpoint=queue_arn)

    def messages(self) -> list[dict[str, Any]]:
        """Every notification so far: its Subject and Message."""
        received = self.sqs.receive_message(QueueUrl=self.queue_url, MaxNumberOfMessages=10)
        return [json.loads(m["Body"]) for m in received.get("Messages", [])]
