"""SNS rules: topics are encrypted with a customer-managed key."""

from __future__ import annotations

import rules

from tests.policy.support import KEY, bad_cases, modified, resource, service_tests

GOOD: dict[str, list[rules.Resource]] = {
    "sns": [resource("aws:sns/topic:Topic", "t", kmsMasterKeyId=KEY)],
}
SNS = GOOD["sns"]

BAD = bad_cases(
    "sns-cmk",
    {
        "aws-managed-alias": (modified(SNS, 0, kmsMasterKeyId="alias/aws/sns"), "customer-managed"),
        "topic-without-a-key": (modified(SNS, 0, kmsMasterKeyId=None), "customer-managed"),
    },
)

(
    test_every_sns_rule_has_a_bad_case,
    test_the_good_stacks_pass_every_rule,
    test_each_check_fails_on_a_bad_resource,
    test_each_check_fails_through_the_policy_engine,
) = service_tests(rules.sns, GOOD, BAD)
