"""Encrypted SQS queues with TLS-only policies: the one way trainops builds a queue.

Dead-letter queues (for Lambda failure destinations, EventBridge and Scheduler targets) and work
queues share the same secure defaults: the stack's KMS key, a policy that refuses plain HTTP,
and (for work queues) a redrive policy onto their own DLQ.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_aws as aws

from components.platform import iam

FOURTEEN_DAYS = 14 * 24 * 3600  # SQS's maximum retention: a DLQ keeps what failed as long as it can


@dataclass(frozen=True)
class ServiceSender:
    """An AWS service allowed to send to the queue on behalf of one source (rule, schedule...)."""

    service_principal: str
    source_arn: pulumi.Input[str]


def encrypted_queue(
    name: str,
    *,
    key_arn: pulumi.Input[str],
    parent: pulumi.Resource,
    fifo: bool = False,
    retention_seconds: int = FOURTEEN_DAYS,
    visibility_timeout_seconds: int = 30,
    redrive_to: aws.sqs.Queue | None = None,
    max_receive_count: int = 5,
    senders: Sequence[ServiceSender] = (),
    physical_name: str | None = None,
    **queue_args: Any,
) -> aws.sqs.Queue:
    """A KMS-encrypted queue (and its TLS-only policy) parented to ``parent``."""
    if redrive_to is not None and max_receive_count < 5:
        raise ValueError("maxReceiveCount below 5 sends messages to the DLQ on transient errors")
    redrive_policy = None
    if redrive_to is not None:
        redrive_policy = pulumi.Output.json_dumps(
            {"deadLetterTargetArn": redrive_to.arn, "maxReceiveCount": max_receive_count}
        )
    queue = aws.sqs.Queue(
        name,
        fifo_queue=fifo or None,
        kms_master_key_id=key_arn,
        kms_data_key_reuse_period_seconds=300,
        message_retention_seconds=retention_seconds,
        visibility_timeout_seconds=visibility_timeout_seconds,
        redrive_policy=redrive_policy,
        name=physical_name,
        opts=pulumi.ResourceOptions(parent=parent),
        **queue_args,
    )
    aws.sqs.QueuePolicy(
        f"{name}-policy",
        queue_url=queue.url,
        policy=iam.to_json(
            iam.document(
                iam.deny_insecure_transport("sqs", [queue.arn]),
                *[
                    iam.allow(
                        ["sqs:SendMessage"],
                        [queue.arn],
                        sid=f"AllowSendFrom{index}",
                        principals={"Service": sender.service_principal},
                        conditions={"ArnEquals": {"aws:SourceArn": sender.source_arn}},
                    )
                    for index, sender in enumerate(senders)
                ],
            )
        ),
        opts=pulumi.ResourceOptions(parent=parent),
    )
    return queue
