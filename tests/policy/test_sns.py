"""SNS rules: topics are encrypted with a customer-managed key."""

from __future__ import annotations

import pytest
import rules

from tests.policy.support import (
    CASE,
    KEY,
    assert_fails,
    assert_fails_in_engine,
    assert_passes,
    case_rule_ids,
    changed,
    resource,
    swap,
)

GOOD: dict[str, list[rules.Resource]] = {
    "sns": [resource("aws:sns/topic:Topic", "t", kmsMasterKeyId=KEY)],
}
SNS = GOOD["sns"]

BAD = [
    pytest.param(
        "sns-cmk",
        swap(SNS, 0, changed(SNS[0], kmsMasterKeyId="alias/aws/sns")),
        "customer-managed",
        id="sns-cmk-aws-managed-alias",
    ),
    pytest.param(
        "sns-cmk",
        swap(SNS, 0, changed(SNS[0], kmsMasterKeyId=None)),
        "customer-managed",
        id="sns-cmk-topic-without-a-key",
    ),
]


def test_every_sns_rule_has_a_bad_case() -> None:
    assert {r.id for r in rules.sns.RULES} == case_rule_ids(BAD)


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
