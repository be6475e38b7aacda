"""EventBridge rules: targets retry and keep failures in a standard-queue DLQ."""

from __future__ import annotations

import pytest
import rules

from tests.policy.support import (
    case_rule_ids,
    changed,
    event_target,
    queue,
    service_tests,
    swap,
)

GOOD: dict[str, list[rules.Resource]] = {
    "events": [event_target(), queue("events-dlq")],
}
EVENTS = GOOD["events"]

BAD = [
    pytest.param(
        "events-target",
        swap(EVENTS, 0, event_target(retryPolicy=None)),
        "no explicit retry",
        id="events-target-without-retry-policy",
    ),
    pytest.param(
        "events-target",
        [event_target(deadLetterConfig=None)],
        "no dead-letter queue",
        id="events-target-without-dlq",
    ),
    pytest.param(
        "events-target",
        swap(EVENTS, 1, changed(EVENTS[1], fifoQueue=True)),
        "must be standard",
        id="events-target-fifo-dlq",
    ),
]


def test_every_events_rule_has_a_bad_case() -> None:
    assert {r.id for r in rules.events.RULES} == case_rule_ids(BAD)


(
    test_the_good_stacks_pass_every_rule,
    test_each_check_fails_on_a_bad_resource,
    test_each_check_fails_through_the_policy_engine,
) = service_tests(GOOD, BAD)
