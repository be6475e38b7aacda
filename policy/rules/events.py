"""EventBridge: rule targets retry and keep their failures in a standard-queue DLQ."""

from __future__ import annotations

from .common import EVENT_TARGET, failure_destination, has_failure_destination, queue_by_arn
from .engine import Requirement, Resource, Rule, Stack, is_set, rule, unmet


def _standard_dead_letter_queue(target: Resource, stack: Stack) -> bool:
    """EventBridge only sends failures to standard queues (a target without a dead-letter queue,
    or with one outside this stack, is left to the other requirements)."""
    queue = queue_by_arn(stack, failure_destination(target))
    return queue is None or not queue.props.get("fifoQueue")


TARGET_REQUIREMENTS: list[Requirement] = [
    (is_set("retryPolicy"), "EventBridge target has no explicit retry policy"),
    (has_failure_destination, "EventBridge target has no dead-letter queue"),
    (
        _standard_dead_letter_queue,
        "EventBridge dead-letter queues must be standard (not FIFO) queues",
    ),
]


@rule("events-target", EVENT_TARGET, source="AWS EventBridge user guide (retry policy, DLQ)")
def events_target(target: Resource, stack: Stack) -> list[str]:
    """EventBridge targets have a retry policy and a standard-queue DLQ.

    The default retries last up to a day and then drop the event; a DLQ keeps it, and a retry
    policy states how long the target may be down.
    """
    return unmet(target, stack, TARGET_REQUIREMENTS)


RULES: tuple[Rule, ...] = (events_target,)
