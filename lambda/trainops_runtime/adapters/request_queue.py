"""Putting a TrainingRequest on the FIFO training queue (producers and re-queueing share this).

Message group = model, so requests for one model run in order while different models run in
parallel; the deduplication id is the request's idempotency token, so sending the same request
and attempt twice within SQS's five-minute window leaves one message.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from trainops_runtime.adapters import clients
from trainops_runtime.training_request import TrainingRequest

REJECT_REASON_ATTRIBUTE = "trainops-reject-reason"
SOURCE_MESSAGE_ATTRIBUTE = "trainops-source-message-id"
TRUNCATED_ATTRIBUTE = "trainops-body-summarised"
# SQS counts a message's body and its attributes (names, data types and values) against the
# queue's maximum message size, which TrainingQueue sets to this on both of its queues (new
# queues default to 1 MiB; SQS developer guide, message quotas).
MAX_MESSAGE_BYTES = 262_144
# How much of a body too large for the dead-letter queue its summary keeps.
SUMMARY_HEAD_CHARS = 16_384


def queue_name(stack_slug: str) -> str:
    """The training queue's name (fixed, so the CLI can find it without the Pulumi CLI)."""
    return f"trainops-{stack_slug}-training-requests.fifo"


def enqueue(queue_url: str, request: TrainingRequest) -> str:
    """Sends the request; returns the SQS message id."""
    response = clients.client("sqs").send_message(
        QueueUrl=queue_url,
        MessageBody=request.to_message(),
        MessageGroupId=request.model,
        MessageDeduplicationId=request.idempotency_token(),
    )
    return str(response["MessageId"])


def message_bytes(body: str, attributes: dict[str, dict[str, str]]) -> int:
    """A message's size as SQS counts it: the body, and each attribute's name, type and value."""
    return len(body.encode()) + sum(
        len(name.encode()) + len(value["DataType"].encode()) + len(value["StringValue"].encode())
        for name, value in attributes.items()
    )


def summary(body: str) -> str:
    """What stands in for a body too large to be dead-lettered with its reason: its size, its
    SHA-256 (to find the producer's copy) and its beginning."""
    data = body.encode()
    return json.dumps(
        {
            "trainopsSummary": "the body did not fit the dead-letter queue with its reason",
            "bytes": len(data),
            "sha256": hashlib.sha256(data).hexdigest(),
            "head": body[:SUMMARY_HEAD_CHARS],
        }
    )


def dead_letter(
    dlq_url: str, *, body: str, group: str, message_id: str, reason: str
) -> dict[str, Any]:
    """Moves a message that can never succeed to the DLQ, with the reason attached.

    A body that would not fit beside its reason (a request at SQS's size limit) is replaced by
    a summary, and the message says so: the DLQ copy always fits, so the original is never
    redelivered for want of a place to put it.
    """
    attributes = {
        REJECT_REASON_ATTRIBUTE: {"DataType": "String", "StringValue": reason[:1024]},
        SOURCE_MESSAGE_ATTRIBUTE: {"DataType": "String", "StringValue": message_id},
    }
    if message_bytes(body, attributes) > MAX_MESSAGE_BYTES:
        body = summary(body)
        attributes[TRUNCATED_ATTRIBUTE] = {"DataType": "String", "StringValue": "true"}
    return clients.client("sqs").send_message(  # type: ignore[no-any-return]
        QueueUrl=dlq_url,
        MessageBody=body,
        MessageGroupId=group,
        MessageDeduplicationId=message_id,
        MessageAttributes=attributes,
    )


def delay_messages(queue_url: str, entries: list[dict[str, Any]]) -> dict[str, Any]:
    """Sets each entry's message visibility (its backoff); returns SQS's answer, whose
    `Failed` lists the entries it could not change."""
    return dict(
        clients.client("sqs").change_message_visibility_batch(QueueUrl=queue_url, Entries=entries)
    )
