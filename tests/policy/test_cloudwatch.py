"""CloudWatch alarm rules: every alarm notifies someone, with its actions enabled."""

from __future__ import annotations

import rules

from tests.policy.support import ServiceTests, alarm, bad_cases

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


class TestCloudWatchRules(ServiceTests):
    service = rules.cloudwatch
    good = GOOD
    bad = BAD
