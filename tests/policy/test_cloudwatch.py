"""CloudWatch alarm rules: every alarm notifies someone, with its actions enabled."""

from __future__ import annotations

import pytest
import rules

from tests.policy.support import (
    alarm,
    case_rule_ids,
    service_tests,
)

GOOD: dict[str, list[rules.Resource]] = {"alarms": [alarm(), alarm(composite=True)]}

BAD = [
    pytest.param(
        "alarm-actions",
        [alarm(alarmActions=[])],
        "notifies nobody",
        id="alarm-actions-empty",
    ),
    pytest.param(
        "alarm-actions",
        [alarm(alarmActions=None)],
        "notifies nobody",
        id="alarm-actions-missing",
    ),
    pytest.param(
        "alarm-actions",
        [alarm(actionsEnabled=False)],
        "actionsEnabled is false",
        id="alarm-actions-disabled",
    ),
    pytest.param(
        "alarm-actions",
        [alarm(composite=True, alarmActions=[])],
        "notifies nobody",
        id="alarm-actions-composite-alarm-empty",
    ),
]


def test_every_cloudwatch_rule_has_a_bad_case() -> None:
    assert {r.id for r in rules.cloudwatch.RULES} == case_rule_ids(BAD)


(
    test_the_good_stacks_pass_every_rule,
    test_each_check_fails_on_a_bad_resource,
    test_each_check_fails_through_the_policy_engine,
) = service_tests(GOOD, BAD)
