"""Putting a TrainingRequest on the FIFO training queue (producers and re-queueing share this).

Message group = model, so requests for one model run in order while different models run in
parallel; the deduplication id is the request's idempotency token, so sending the same request
and attempt twice within SQS's five-minute window leaves one message.
"""

from __future__ import annotations

from typing import Any

from trainops_runtime import clients
from trainops_runtime.training_request import TrainingRequest

QUEUE_URL_ENV = "TRAINOPS_TRAINING_QUEUE_URL"
REJECT_REASON_ATTRIBUTE = "trainops-reject-reason"
SOURCE_MESSAGE_ATTRIBUTE = "trainops-source-message-id"


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


def dead_letter(
    dlq_url: str, *, body: str, group: str, message_id: str, reason: str
) -> dict[str, Any]:
    """Moves a message that can never succeed to the DLQ, with the reason attached."""
    return clients.client(
        "sqs"
    ).send_message(  # type: ignore[no-any-return]
        QueueUrl=dlq_url,
        MessageBody=body,
        MessageGroupId=group,
        MessageDeduplicationId=message_id,
        MessageAttributes={
            REJECT_REASON_ATTRIBUTE: {"DataType": "String", "StringValue": reason[:1024]},
            SOURCE_MESSAGE_ATTRIBUTE: {"DataType": "String", "StringValue": message_id},
        },
    )
