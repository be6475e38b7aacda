"""CloudWatch alarm rules: every alarm notifies someone, with its actions enabled."""

from __future__ import annotations

import pytest
import rules

from tests.policy.support import (
    CASE,
    alarm,
    assert_fails,
    assert_fails_in_engine,
    assert_passes,
    case_rule_ids,
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


@pytest.mark.parametrize("name", GOOD)
def test_the_good_stacks_pass_every_rule(name: str) -> None:
    assert_passes(GOOD[name])


@pytest.mark.parametrize(CASE, BAD)
def test_each_check_fails_on_a_bad_resource(
    rule_id: str, resources: list[rules.Resource], expected: str
) -> None:
    assert_fails(rule_id, resources, expected)


@pytest.mark.parametrize(CASE, BAD)
def test_each_check_fails_through_the_policy_engine(
    rule_id: str, resources: list[rules.Resource], expected: str
) -> None:
    assert_fails_in_engine(rule_id, resources, expected)
