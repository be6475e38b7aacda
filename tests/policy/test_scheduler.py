"""EventBridge Scheduler rules: schedules retry, have a DLQ and use the stack key."""

from __future__ import annotations

import rules

from tests.policy.support import bad_cases, modified, queue, schedule, service_tests, swap

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

(
    test_every_scheduler_rule_has_a_bad_case,
    test_the_good_stacks_pass_every_rule,
    test_each_check_fails_on_a_bad_resource,
    test_each_check_fails_through_the_policy_engine,
) = service_tests(rules.scheduler, GOOD, BAD)
