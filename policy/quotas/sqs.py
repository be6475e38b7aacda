"""SQS quotas: queue policy size, queue name."""

from __future__ import annotations

from .base import Quota, Service, name_quota

SQS_POLICY_QUOTAS = "https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/quotas-policies.html"
SQS_CREATE_QUEUE = (
    "https://docs.aws.amazon.com/AWSSimpleQueueService/latest/APIReference/API_CreateQueue.html"
)
SQS_QUEUE = "aws:sqs/queue:Queue"

QUEUE_POLICY = Quota(
    "sqs-queue-policy",
    "an SQS queue policy",
    8_192,
    "bytes",
    "allow fewer senders per queue",
    SQS_POLICY_QUOTAS,
)
# measured on the name pulumi-aws gives the queue (a FIFO queue's ends in ".fifo": `aws_name`)
QUEUE_NAME = name_quota("sqs-queue-name", "an SQS queue name", 80, SQS_CREATE_QUEUE)

SERVICE = Service(
    quotas=(QUEUE_POLICY, QUEUE_NAME),
    names={SQS_QUEUE: ("name", QUEUE_NAME.id)},
    documents={"aws:sqs/queuePolicy:QueuePolicy": ("policy", QUEUE_POLICY.id, "bytes")},
)
