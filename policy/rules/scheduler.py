"""EventBridge Scheduler: schedules retry, keep their failures in a DLQ and use the stack key."""

from __future__ import annotations

from .common import SCHEDULE, customer_managed, has_failure_destination
from .engine import Requirement, Resource, Rule, Stack, is_set, rule, unmet

SCHEDULE_REQUIREMENTS: list[Requirement] = [
    (is_set("target", "retryPolicy"), "schedule target has no explicit retry policy"),
    (has_failure_destination, "schedule target has no dead-letter queue"),
    (customer_managed("kmsKeyArn"), "schedule is not encrypted with the stack key"),
]


@rule("scheduler", SCHEDULE, source="AWS EventBridge Scheduler user guide")
def scheduler_schedule(schedule: Resource, stack: Stack) -> list[str]:
    """Schedules have a retry policy, a DLQ and the stack key.

    A schedule whose target keeps failing drops the invocation once its retries are used up; the
    stack key encrypts what Scheduler stores with the schedule (its target input).
    """
    return unmet(schedule, stack, SCHEDULE_REQUIREMENTS)


RULES: tuple[Rule, ...] = (scheduler_schedule,)
