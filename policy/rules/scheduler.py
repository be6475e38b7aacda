"""EventBridge Scheduler: schedules retry, keep their failures in a DLQ and use the stack key."""

from __future__ import annotations

from .common import SCHEDULE, customer_managed_key
from .engine import Resource, Rule, Stack, rule


@rule(
    "scheduler",
    description="Schedules have a retry policy, a DLQ and the stack key",
    source="AWS EventBridge Scheduler user guide",
    types=(SCHEDULE,),
)
def scheduler_schedule(resource: Resource, _: Stack) -> list[str]:
    problems = []
    if not resource.get("target", "retryPolicy"):
        problems.append("schedule target has no explicit retry policy")
    if not resource.get("target", "deadLetterConfig", "arn"):
        problems.append("schedule target has no dead-letter queue")
    if not customer_managed_key(resource.props.get("kmsKeyArn")):
        problems.append("schedule is not encrypted with the stack key")
    return problems


RULES: tuple[Rule, ...] = (scheduler_schedule,)
