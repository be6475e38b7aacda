"""EventBridge: rule targets retry and keep their failures in a standard-queue DLQ."""

from __future__ import annotations

from .common import EVENT_TARGET, queue_by_arn
from .engine import Resource, Rule, Stack, rule


@rule(
    "events-target",
    description="EventBridge targets have a retry policy and a standard-queue DLQ",
    source="AWS EventBridge user guide (retry policy, DLQ)",
    types=(EVENT_TARGET,),
)
def events_target(resource: Resource, stack: Stack) -> list[str]:
    problems = []
    if not resource.props.get("retryPolicy"):
        problems.append("EventBridge target has no explicit retry policy")
    dlq_arn = resource.get("deadLetterConfig", "arn")
    if not dlq_arn:
        problems.append("EventBridge target has no dead-letter queue")
    else:
        queue = queue_by_arn(stack, dlq_arn)
        if queue is not None and queue.props.get("fifoQueue"):
            problems.append("EventBridge dead-letter queues must be standard (not FIFO) queues")
    return problems


RULES: tuple[Rule, ...] = (events_target,)
