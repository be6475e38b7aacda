"""EventBridge Scheduler: schedules retry, keep their failures in a DLQ and use the stack key."""

from __future__ import annotations

from .common import SCHEDULE, customer_managed, has_failure_destination
from .engine import Rule, is_set, requirements_rule

scheduler_schedule = requirements_rule(
    "scheduler",
    description="Schedules have a retry policy, a DLQ and the stack key",
    source="AWS EventBridge Scheduler user guide",
    types=(SCHEDULE,),
    requires=[
        (is_set("target", "retryPolicy"), "schedule target has no explicit retry policy"),
        (has_failure_destination, "schedule target has no dead-letter queue"),
        (customer_managed("kmsKeyArn"), "schedule is not encrypted with the stack key"),
    ],
)

RULES: tuple[Rule, ...] = (scheduler_schedule,)
