"""Turn messages on a moto SQS FIFO queue into the event an SQS event source mapping delivers."""

from __future__ import annotations

from typing import Any

import boto3

# The attributes of a FIFO message that Lambda passes on, as SQS returns them; the ones moto
# may leave out get a value of the right shape.
FIFO_ATTRIBUTES = (
    "ApproximateReceiveCount",
    "SentTimestamp",
    "ApproximateFirstReceiveTimestamp",
    "MessageGroupId",
    "MessageDeduplicationId",
)
FIFO_ATTRIBUTE_DEFAULTS = {"SenderId": "AIDAEXAMPLE", "SequenceNumber": "1"}


def receive(queue_url: str, max_messages: int = 10) -> list[dict[str, Any]]:
    """Up to ``max_messages`` visible messages, with all their attributes."""
    response = boto3.client("sqs").receive_message(
        QueueUrl=queue_url,
        MaxNumberOfMessages=max_messages,
        AttributeNames=["All"],
        MessageAttributeNames=["All"],
    )
    return response.get("Messages", [])


def record(message: dict[str, Any], queue_arn: str) -> dict[str, Any]:
    """A received message as a record of Lambda's SQS event."""
    received = message["Attributes"]
    attributes = {name: received[name] for name in FIFO_ATTRIBUTES}
    for name, default in FIFO_ATTRIBUTE_DEFAULTS.items():
        attributes[name] = received.get(name, default)
    return {
        "messageId": message["MessageId"],
        "receiptHandle": message["ReceiptHandle"],
        "body": message["Body"],
        "attributes": attributes,
        "messageAttributes": {},
        "md5OfBody": message["MD5OfBody"],
        "eventSource": "aws:sqs",
        "eventSourceARN": queue_arn,
        "awsRegion": "us-east-1",
    }


def receive_event(queue_url: str, queue_arn: str, max_messages: int = 10) -> dict[str, Any]:
    """Receive up to ``max_messages`` and shape them as Lambda's SQS event (FIFO attributes)."""
    return {"Records": [record(message, queue_arn) for message in receive(queue_url, max_messages)]}


def send(queue_url: str, body: str, group: str, dedup: str) -> str:
    return str(
        boto3.client("sqs").send_message(
            QueueUrl=queue_url, MessageBody=body, MessageGroupId=group, MessageDeduplicationId=dedup
        )["MessageId"]
    )


def drain(queue_url: str) -> list[dict[str, Any]]:
    """Everything currently visible in a queue (with message attributes), deleted as read."""
    sqs = boto3.client("sqs")
    found: list[dict[str, Any]] = []
    while True:
        messages = receive(queue_url)
        if not messages:
            return found
        for message in messages:
            found.append(message)
            sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"])


def deliver(queue_url: str, queue_arn: str, handler: Any) -> dict[str, Any]:
    """One poll of an SQS event source mapping: receive, invoke, delete what did not fail.

    This is what Lambda does with ReportBatchItemFailures; messages reported failed stay in the
    queue (their visibility is whatever the handler set). Returns the handler's response, or
    an empty response marked `"invoked": False` when there was nothing to deliver.
    """
    event = receive_event(queue_url, queue_arn)
    if not event["Records"]:
        return {"batchItemFailures": [], "invoked": False}
    response = handler(event)
    failed = {item["itemIdentifier"] for item in response.get("batchItemFailures", [])}
    sqs = boto3.client("sqs")
    for record in event["Records"]:
        if record["messageId"] not in failed:
            sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=record["receiptHandle"])
    return response
