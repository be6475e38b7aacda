"""EventBridge rules: targets retry and keep failures in a standard-queue DLQ."""

from __future__ import annotations

import rules

from tests.policy.support import bad_cases, event_target, modified, queue, service_tests

GOOD: dict[str, list[rules.Resource]] = {
    "events": [event_target(), queue("events-dlq")],
}
EVENTS = GOOD["events"]

BAD = bad_cases(
    "events-target",
    {
        "without-retry-policy": (modified(EVENTS, 0, retryPolicy=None), "no explicit retry"),
        "without-dlq": ([event_target(deadLetterConfig=None)], "no dead-letter queue"),
        "fifo-dlq": (modified(EVENTS, 1, fifoQueue=True), "must be standard"),
    },
)

(
    test_every_events_rule_has_a_bad_case,
    test_the_good_stacks_pass_every_rule,
    test_each_check_fails_on_a_bad_resource,
    test_each_check_fails_through_the_policy_engine,
) = service_tests(rules.events, GOOD, BAD)
