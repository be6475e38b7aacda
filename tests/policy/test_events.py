"""EventBridge rules: targets retry and keep failures in a standard-queue DLQ."""

from __future__ import annotations

import rules

from tests.policy.support import ServiceTests, bad_cases, event_target, modified, queue

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


class TestEventBridgeRules(ServiceTests):
    service = rules.events
    good = GOOD
    bad = BAD
