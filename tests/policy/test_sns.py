"""SNS rules: topics are encrypted with a customer-managed key."""

from __future__ import annotations

import pytest
import rules

from tests.policy.support import (
    KEY,
    case_rule_ids,
    changed,
    resource,
    service_tests,
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


(
    test_the_good_stacks_pass_every_rule,
    test_each_check_fails_on_a_bad_resource,
    test_each_check_fails_through_the_policy_engine,
) = service_tests(GOOD, BAD)
