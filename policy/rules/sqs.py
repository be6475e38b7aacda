"""SQS: encryption, dead-letter queues, FIFO dead-letter queues, visibility for Lambda consumers."""

from __future__ import annotations

from collections.abc import Mapping

from .common import (
    EVENT_SOURCE_MAPPING,
    FAILURE_DESTINATIONS,
    FUNCTION,
    Q,
    customer_managed_key,
    failure_destination,
    queue_by_arn,
)
from .engine import Resource, Rule, Stack, decoded, dig, rule


@rule("sqs-kms", Q, source="checkov CKV_AWS_27 (stricter: the key must be customer-managed)")
def sqs_kms(resource: Resource, _: Stack) -> list[str]:
    """SQS queues are encrypted with a customer-managed KMS key.

    The policy of the AWS-managed key cannot be changed: it can neither be narrowed to this
    stack's roles nor let the services that send to the queue (EventBridge, SNS) use the key.
    """
    key = resource.props.get("kmsMasterKeyId")
    if not key:
        return ["SQS queue is not encrypted with a KMS key (set kmsMasterKeyId to the stack key)"]
    if not customer_managed_key(key):
        return [f"SQS queue uses the AWS-managed key {key}, not the stack's customer-managed key"]
    return []


# What may send its failures to a queue, which then counts as a dead-letter queue.
DEAD_LETTER_SOURCES = (Q, *FAILURE_DESTINATIONS)


@rule("sqs-dead-letters", Q, source="cdk-nag AwsSolutions-SQS3")
def sqs_dead_letters(resource: Resource, stack: Stack) -> list[str]:
    """Every queue has a DLQ (maxReceiveCount >= 5) or is one.

    A message that keeps failing is otherwise received again until it expires, and lost; with
    fewer than five receives, a few throttled or timed-out attempts move a good message there.
    """
    redrive = resource.props.get("redrivePolicy")
    if isinstance(redrive, str) and redrive:
        parsed = decoded(redrive)
        try:
            count = int(parsed.get("maxReceiveCount", 0)) if isinstance(parsed, Mapping) else -1
        except (TypeError, ValueError):
            count = -1
        if count < 0 or not dig(parsed, "deadLetterTargetArn"):
            return ["SQS redrive policy is not valid JSON with a deadLetterTargetArn and a count"]
        if count < 5:
            return [
                f"maxReceiveCount {count} sends messages to the DLQ on transient errors; use >= 5"
            ]
        return []
    arn = resource.props.get("arn")
    if (
        isinstance(arn, str)
        and arn
        and stack.find(DEAD_LETTER_SOURCES, lambda source: failure_destination(source) == arn)
    ):
        return []
    return ["SQS queue has no dead-letter queue and is not one"]


@rule("sqs-fifo-dlq", Q, source="AWS SQS developer guide (FIFO DLQs)")
def sqs_fifo_dlq(resource: Resource, stack: Stack) -> list[str]:
    """A FIFO queue's DLQ is FIFO.

    SQS refuses a redrive policy that mixes the two kinds: said here, before `pulumi up` fails.
    """
    redrive = resource.props.get("redrivePolicy")
    if not resource.props.get("fifoQueue") or not isinstance(redrive, str):
        return []
    target = queue_by_arn(stack, failure_destination(resource))
    if target is not None and not target.props.get("fifoQueue"):
        return ["a FIFO queue's dead-letter queue must be FIFO too"]
    return []


@rule(
    "sqs-visibility", EVENT_SOURCE_MAPPING, source="AWS Lambda developer guide (SQS event sources)"
)
def sqs_visibility(resource: Resource, stack: Stack) -> list[str]:
    """Queue visibility >= 6 x consumer timeout.

    Checked on each SQS event source mapping: AWS's margin for Lambda to retry a throttled batch
    before its messages become visible again, and are received a second time.
    """
    queue = queue_by_arn(stack, resource.props.get("eventSourceArn"))
    function_ref = resource.props.get("functionName")
    if queue is None or not isinstance(function_ref, str) or not function_ref:
        return []
    problems = []
    for function in stack.find(
        FUNCTION,
        lambda f: f.props.get("name") == function_ref or f.props.get("arn") == function_ref,
    ):
        timeout = int(function.props.get("timeout") or 3)
        visibility = int(queue.props.get("visibilityTimeoutSeconds") or 30)
        if visibility < 6 * timeout:
            problems.append(
                f"queue visibility {visibility}s is below 6 x the consumer timeout ({timeout}s)"
            )
    return problems


RULES: tuple[Rule, ...] = (sqs_kms, sqs_dead_letters, sqs_fifo_dlq, sqs_visibility)
