"""EventBridge Scheduler rules: schedules retry, have a DLQ and use the stack key."""

from __future__ import annotations

import rules

from tests.policy.support import ServiceTests, bad_cases, modified, queue, schedule, swap

GOOD: dict[str, list[rules.Resource]] = {
    "scheduler": [schedule(), queue("schedule-dlq")],
}
SCHEDULER = GOOD["scheduler"]

BAD = bad_cases(
    "scheduler",
    {
        "without-retry-policy": (
            swap(SCHEDULER, 0, schedule(target={"retryPolicy": None})),
            "no explicit retry",
        ),
        "without-dlq": ([schedule(target={"deadLetterConfig": None})], "no dead-letter queue"),
        "without-a-key": (modified(SCHEDULER, 0, kmsKeyArn=None), "not encrypted"),
        "aws-managed-key": (
            modified(SCHEDULER, 0, kmsKeyArn="alias/aws/scheduler"),
            "not encrypted",
        ),
    },
)


class TestSchedulerRules(ServiceTests):
    service = rules.scheduler
    good = GOOD
    bad = BAD
