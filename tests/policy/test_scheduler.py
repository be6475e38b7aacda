"""EventBridge Scheduler rules: schedules retry, have a DLQ and use the stack key."""

from __future__ import annotations

import rules

from tests.policy.support import bad, queue, schedule, service_tests, swap

GOOD: dict[str, list[rules.Resource]] = {
    "scheduler": [schedule(), queue("schedule-dlq")],
}
SCHEDULER = GOOD["scheduler"]

BAD = [
    bad(
        "scheduler",
        "without-retry-policy",
        swap(SCHEDULER, 0, schedule(target={"retryPolicy": None})),
        "no explicit retry",
    ),
    bad(
        "scheduler",
        "without-dlq",
        [schedule(target={"deadLetterConfig": None})],
        "no dead-letter queue",
    ),
    bad(
        "scheduler", "without-a-key", swap(SCHEDULER, 0, schedule(kmsKeyArn=None)), "not encrypted"
    ),
    bad(
        "scheduler",
        "aws-managed-key",
        swap(SCHEDULER, 0, schedule(kmsKeyArn="alias/aws/scheduler")),
        "not encrypted",
    ),
]

(
    test_every_scheduler_rule_has_a_bad_case,
    test_the_good_stacks_pass_every_rule,
    test_each_check_fails_on_a_bad_resource,
    test_each_check_fails_through_the_policy_engine,
) = service_tests(rules.scheduler, GOOD, BAD)
