"""EventBridge Scheduler rules: schedules retry, have a DLQ and use the stack key."""

from __future__ import annotations

import pytest
import rules

from tests.policy.support import (
    case_rule_ids,
    queue,
    schedule,
    service_tests,
    swap,
)

GOOD: dict[str, list[rules.Resource]] = {
    "scheduler": [schedule(), queue("schedule-dlq")],
}
SCHEDULER = GOOD["scheduler"]

BAD = [
    pytest.param(
        "scheduler",
        swap(SCHEDULER, 0, schedule(target={"retryPolicy": None})),
        "no explicit retry",
        id="scheduler-without-retry-policy",
    ),
    pytest.param(
        "scheduler",
        [schedule(target={"deadLetterConfig": None})],
        "no dead-letter queue",
        id="scheduler-without-dlq",
    ),
    pytest.param(
        "scheduler",
        swap(SCHEDULER, 0, schedule(kmsKeyArn=None)),
        "not encrypted",
        id="scheduler-without-a-key",
    ),
    pytest.param(
        "scheduler",
        swap(SCHEDULER, 0, schedule(kmsKeyArn="alias/aws/scheduler")),
        "not encrypted",
        id="scheduler-aws-managed-key",
    ),
]


def test_every_scheduler_rule_has_a_bad_case() -> None:
    assert {r.id for r in rules.scheduler.RULES} == case_rule_ids(BAD)


(
    test_the_good_stacks_pass_every_rule,
    test_each_check_fails_on_a_bad_resource,
    test_each_check_fails_through_the_policy_engine,
) = service_tests(GOOD, BAD)
