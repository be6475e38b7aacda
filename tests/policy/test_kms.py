"""KMS rules: keys rotate."""

from __future__ import annotations

import pytest
import rules

from tests.policy.support import (
    CASE,
    assert_fails,
    assert_fails_in_engine,
    assert_passes,
    case_rule_ids,
    resource,
)

GOOD: dict[str, list[rules.Resource]] = {
    "kms": [resource("aws:kms/key:Key", "k", enableKeyRotation=True)],
}

BAD = [
    pytest.param(
        "kms-rotation",
        [resource("aws:kms/key:Key", "k", enableKeyRotation=False)],
        "rotation is off",
        id="kms-rotation-off",
    ),
]


def test_every_kms_rule_has_a_bad_case() -> None:
    assert {r.id for r in rules.kms.RULES} == case_rule_ids(BAD)


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
