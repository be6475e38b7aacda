"""CloudWatch alarm rules: every alarm notifies someone, with its actions enabled."""

from __future__ import annotations

import rules

from tests.policy.support import alarm, bad_cases, service_tests

GOOD: dict[str, list[rules.Resource]] = {"alarms": [alarm(), alarm(composite=True)]}

BAD = bad_cases(
    "alarm-actions",
    {
        "empty": ([alarm(alarmActions=[])], "notifies nobody"),
        "missing": ([alarm(alarmActions=None)], "notifies nobody"),
        "disabled": ([alarm(actionsEnabled=False)], "actionsEnabled is false"),
        "composite-alarm-empty": ([alarm(composite=True, alarmActions=[])], "notifies nobody"),
    },
)

(
    test_every_cloudwatch_rule_has_a_bad_case,
    test_the_good_stacks_pass_every_rule,
    test_each_check_fails_on_a_bad_resource,
    test_each_check_fails_through_the_policy_engine,
) = service_tests(rules.cloudwatch, GOOD, BAD)
